"""Outcomes every run reports (README "What a run reports")."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from model.bundles import bundle_outcomes
from model.cases import CASE_TYPES, SOURCES
from model.mediation import dispute_outcomes
from model.places import place_outcomes
from model.sensors import sensor_outcomes

if TYPE_CHECKING:
    from model.case_tallies import CaseRows, CaseTallies
    from model.governance import GovernanceModel

# ---------------------------------------------------------------------------
# The outcome registry: one entry per outcome (docs/design.md "Conventions": one registry per concept).
# Console tables, reports, plots and the classroom view read labels, units, directions,
# display formats and practical thresholds from here, never from a copy of their own.
# ---------------------------------------------------------------------------

Direction = Literal["higher", "lower"] | None
# How a value is shown (analysis.formatting): durations stored in days are shown in
# days, hours or minutes; shares stored in [0, 1] as % (levels) and percentage points
# (differences); counts as whole numbers; hours as staff-hours; index and ratio as decimals.
DISPLAYS: tuple[str, ...] = ("duration", "share", "count", "hours", "index", "ratio")
GROUPS: tuple[str, ...] = ("volume", "time", "quality", "participation", "cost", "run")


@dataclass(frozen=True)
class Outcome:
    """What an outcome means and how to show it.

    Attributes:
        name: the summary key (``RunOutput.summary``), e.g. ``on_time_share``.
        label: a short English label without the unit, e.g. "Closed on time".
        unit: the unit of the stored value in words, e.g. "days", "share of closed cases".
        chinese: the Chinese term policymakers use.
        group: volume, time, quality, participation, cost or run (``GROUPS``).
        direction: "higher" or "lower" is better; None when neither is (a volume, a load).
        display: how values are shown (``DISPLAYS``).
        threshold: the smallest difference that matters in practice, in the stored unit
            (or, when ``relative_threshold``, as a share of the reference level); a smaller
            difference is "no practical difference" (overridable per experiment).
        relative_threshold: whether ``threshold`` is relative to the reference level.
        level_range: the values a level (a run's value, a mean) can take, to which an
            interval around a level is cut: 0–1 for a share of something and a 0–1 index,
            at least 0 for counts, hours, durations, ratios and a staff's load (busy time
            over staffed time can pass 1); a signed outcome's own.
    """

    name: str
    label: str
    unit: str
    chinese: str
    group: str
    direction: Direction
    display: str
    threshold: float
    relative_threshold: bool = False
    level_range: tuple[float, float] = (0.0, math.inf)

    def practical_threshold(self, reference_level: float) -> float:
        """The threshold in the stored unit for a given reference level (NaN if undefined)."""
        if not self.relative_threshold:
            return self.threshold
        if not math.isfinite(reference_level):
            return math.nan
        return self.threshold * abs(reference_level)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict of every field (for the classroom view and exports)."""
        return {
            "name": self.name,
            "label": self.label,
            "unit": self.unit,
            "chinese": self.chinese,
            "group": self.group,
            "direction": self.direction,
            "display": self.display,
            "threshold": self.threshold,
            "relative_threshold": self.relative_threshold,
        }


@dataclass(frozen=True)
class OutcomeFamily:
    """Outcomes named by a pattern, e.g. one per case type or age group.

    ``pattern`` is a regular expression with a named group ``key`` (the case type, age group
    or department) and optionally ``stat`` (mean, median, p90); ``label`` and ``chinese``
    are templates filled with ``{key}`` (made readable) and ``{stat}``.
    """

    pattern: str
    example: str
    label: str
    unit: str
    chinese: str
    group: str
    direction: Direction
    display: str
    threshold: float
    relative_threshold: bool = False
    level_range: tuple[float, float] = (0.0, math.inf)

    def resolve(self, name: str) -> Outcome | None:
        """The entry of ``name`` when it belongs to this family, else None."""
        match = re.fullmatch(self.pattern, name)
        if match is None:
            return None
        parts = match.groupdict()
        key = parts.get("key") or ""
        readable = {
            "key": key.replace("_plus", "+").replace("_", "–" if key[:1].isdigit() else " "),
            "stat": STATISTIC_LABELS.get(parts.get("stat") or "", parts.get("stat") or ""),
            "stat_zh": STATISTIC_CHINESE.get(parts.get("stat") or "", ""),
            "key_zh": KEY_CHINESE.get(key, key),
        }
        return Outcome(
            name=name,
            label=self.label.format(**readable),
            unit=self.unit,
            chinese=self.chinese.format(**readable),
            group=self.group,
            direction=self.direction,
            display=self.display,
            threshold=self.threshold,
            relative_threshold=self.relative_threshold,
            level_range=self.level_range,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict of every field (``pattern`` is a JavaScript-compatible regex)."""
        return {
            "pattern": self.pattern.replace("(?P<", "(?<"),
            "example": self.example,
            "label": self.label,
            "unit": self.unit,
            "chinese": self.chinese,
            "group": self.group,
            "direction": self.direction,
            "display": self.display,
            "threshold": self.threshold,
            "relative_threshold": self.relative_threshold,
        }


STATISTIC_LABELS = {"mean": "mean", "median": "median", "p90": "90th percentile"}
STATISTIC_CHINESE = {"mean": "平均", "median": "中位", "p90": "90分位"}
# Case types in Chinese (F2: 咨询 求助 投诉 举报 建议; patrol and sensor finds).
KEY_CHINESE = {
    "inquiry": "咨询",
    "help": "求助",
    "complaint": "投诉",
    "report": "举报",
    "suggestion": "建议",
    "patrol": "巡查发现",
    "sensor": "感知发现",
    "neighbour_dispute": "矛盾纠纷",
}
# Practical thresholds are assumptions (docs/design.md "Reports that answer first"): the
# smallest change a street office would notice or act on; experiments override them.
_DAYS = 0.5  # half a working day of resolution time (assumption)
_SHARE = 0.02  # two percentage points of a share (assumption)
_RELATIVE = 0.05  # 5 % of the reference level for counts and hours (assumption)
_INDEX = 0.01  # 0.01 on a 0–1 scale (assumption)


def _entries(
    display: str,
    default: float,
    relative: bool = False,
    level_range: tuple[float, float] = (0.0, math.inf),
) -> Callable[..., Outcome]:
    """A constructor of entries shown as ``display`` with a default practical threshold and
    a default range of levels."""

    def make(
        name: str,
        label: str,
        unit: str,
        chinese: str,
        group: str,
        direction: Direction = None,
        threshold: float = default,
        level_range: tuple[float, float] = level_range,
    ) -> Outcome:
        return Outcome(
            name, label, unit, chinese, group, direction, display, threshold, relative, level_range
        )

    return make


_count = _entries("count", _RELATIVE, relative=True)
_hours = _entries("hours", _RELATIVE, relative=True)
_SHARE_RANGE = (0.0, 1.0)  # a share of something, a 0–1 index
_LOAD_RANGE = (0.0, math.inf)  # busy time over staffed time: a load can pass 1
_percent = _entries("share", _SHARE, level_range=_SHARE_RANGE)
_duration = _entries("duration", _DAYS)
_index = _entries("index", _INDEX, level_range=_SHARE_RANGE)
_ratio = _entries("ratio", 0.1)


# Every outcome every run's summary holds, in the order tables show them.
OUTCOMES: tuple[Outcome, ...] = (
    _count("needs_generated", "Needs arising", "needs", "居民诉求", "volume"),
    _count("needs_reported", "Needs reported by residents", "needs", "居民上报诉求", "volume"),
    _count("needs_found", "Needs found by patrols and sensors", "needs", "巡查发现", "volume"),
    _count("needs_lapsed", "Needs never reported", "needs", "未上报诉求", "volume", "lower"),
    _count(
        "needs_awaiting_patrol",
        "Needs awaiting a patrol at the end",
        "needs",
        "待巡查发现",
        "volume",
    ),
    _count("cases_generated", "Cases", "cases", "案件数", "volume"),
    _count("cases_closed", "Cases closed", "cases", "办结案件", "volume"),
    _count("cases_open", "Cases open at the end", "cases", "未办结案件", "volume", "lower"),
    _count("cases_queued", "Cases queued at the end", "cases", "排队案件", "volume", "lower"),
    _count("backlog_mean", "Backlog, daily mean", "open cases", "平均积压", "volume", "lower"),
    _count("backlog_final", "Backlog at the end", "open cases", "期末积压", "volume", "lower"),
    _percent(
        "unreported_share", "Needs never reported", "share of needs", "未上报率", "volume", "lower"
    ),
    _duration(
        "resolution_time_mean_days",
        "Resolution time, mean",
        "days",
        "平均办结时长",
        "time",
        "lower",
    ),
    _duration(
        "resolution_time_median_days",
        "Resolution time, median",
        "days",
        "办结时长中位数",
        "time",
        "lower",
    ),
    _duration(
        "resolution_time_p90_days",
        "Resolution time, 90th percentile",
        "days",
        "办结时长90分位",
        "time",
        "lower",
        threshold=2 * _DAYS,
    ),
    _percent(
        "on_time_share",
        "Closed on time",
        "share of closed and overdue cases",
        "按时办结率",
        "time",
        "higher",
    ),
    _ratio(
        "equity_resolution_time_cv",
        "Resolution time spread across grids",
        "coefficient of variation",
        "网格间办结时长差异",
        "time",
        "lower",
        threshold=0.05,
    ),
    _percent(
        "equity_on_time_gap",
        "On-time gap between best and worst grids",
        "share",
        "网格间按时办结差距",
        "time",
        "lower",
    ),
    _percent("resolution_share", "Cases resolved", "share of cases", "解决率", "quality", "higher"),
    _percent(
        "on_the_spot_share",
        "Settled on the spot",
        "share of cases",
        "就地解决率",
        "quality",
        "higher",
    ),
    _percent(
        "returns_share",
        "Misrouted and returned",
        "share of dispatched cases",
        "退件率",
        "quality",
        "lower",
    ),
    _ratio(
        "handoffs_per_case",
        "Hand-offs per case",
        "hand-offs per case",
        "流转次数",
        "quality",
        "lower",
        threshold=0.1,
    ),
    _percent(
        "satisfaction_share", "Satisfied ratings", "share of ratings", "满意率", "quality", "higher"
    ),
    _index("trust_mean", "Trust, mean at the end", "0–1 scale", "信任度", "quality", "higher"),
    _index(
        "trust_change",
        "Trust, change over the run",
        "0–1 scale",
        "信任度变化",
        "quality",
        "higher",
        level_range=(-1.0, 1.0),  # a change on the 0–1 scale
    ),
    _percent(
        "participation_share",
        "Residents who took part in consultations",
        "share of adults",
        "议事参与率",
        "participation",
        "higher",
        threshold=0.01,
    ),
    _percent(
        "participation_share_party_member",
        "Participation, party members",
        "share of members",
        "党员参与率",
        "participation",
        threshold=0.01,
    ),
    _percent(
        "participation_share_non_member",
        "Participation, non-members",
        "share of non-members",
        "群众参与率",
        "participation",
        threshold=0.01,
    ),
    _index(
        "representativeness",
        "Representativeness of participants",
        "0–1 (1 = like the population)",
        "参与代表性",
        "participation",
        "higher",
        threshold=_SHARE,
    ),
    _count(
        "meetings_held", "Consultation meetings held", "meetings", "议事会议次数", "participation"
    ),
    _count(
        "decisions_made", "Consultation decisions made", "decisions", "议事决定数", "participation"
    ),
    _percent(
        "implementation_share",
        "Decisions implemented",
        "share of decisions",
        "议定事项落实率",
        "participation",
        "higher",
    ),
    _count(
        "collective_issues_open",
        "Collective issues open at the end",
        "issues",
        "未解决公共议题",
        "participation",
        "lower",
    ),
    _hours("staff_hours_total", "Staff time", "staff-hours", "工作人员工时", "cost", "lower"),
    _hours(
        "staff_hours_per_case",
        "Staff time per case",
        "staff-hours per case",
        "每件工时",
        "cost",
        "lower",
    ),
    _hours("volunteer_hours_total", "Volunteer time", "volunteer-hours", "志愿者工时", "cost"),
    _percent(
        "department_utilisation",
        "Department staff busy",
        "share of working hours",
        "部门人员负荷率",
        "cost",
        threshold=0.05,
        level_range=_LOAD_RANGE,
    ),
    _percent(
        "grid_worker_utilisation",
        "Grid workers busy",
        "share of working hours",
        "网格员负荷率",
        "cost",
        threshold=0.05,
        level_range=_LOAD_RANGE,
    ),
    _percent(
        "community_utilisation",
        "Community office busy",
        "share of working hours",
        "社区工作负荷率",
        "cost",
        threshold=0.05,
        level_range=_LOAD_RANGE,
    ),
    _percent(
        "community_overload_share",
        "Communities overloaded (小马拉大车)",
        "share of communities",
        "社区超负荷比例",
        "cost",
        "lower",
    ),
    _count("cases_parked", "Cases parked (挂账)", "cases", "挂账案件", "volume", "lower"),
    _count(
        "repeat_contacts", "Repeat contacts about the same need", "contacts", "重复来电", "volume"
    ),
    # micro-space projects and 每月一题 (model/projects.py)
    _count(
        "projects_proposed",
        "Micro-space projects proposed",
        "projects",
        "微空间项目提出数",
        "participation",
    ),
    _count(
        "projects_built",
        "Micro-space projects built",
        "projects",
        "微空间项目建成数",
        "participation",
        "higher",
    ),
    _count(
        "projects_in_use",
        "Micro-spaces in use at the end",
        "projects",
        "在用微空间",
        "participation",
        "higher",
    ),
    _count(
        "projects_given_up",
        "Micro-spaces given up (worn out)",
        "projects",
        "失修废弃微空间",
        "participation",
        "lower",
    ),
    _count(
        "projects_lapsed",
        "Micro-space proposals lapsed for want of money",
        "projects",
        "未获资金项目",
        "participation",
        "lower",
    ),
    _count("project_cost_yuan", "Micro-space money spent", "yuan", "微空间投入资金", "cost"),
    _percent(
        "project_firm_funding_share",
        "Micro-space money from firms",
        "share of project money",
        "企业出资占比",
        "cost",
    ),
    _hours(
        "project_staff_hours", "Staff time on micro-spaces", "staff-hours", "微空间工时", "cost"
    ),
    _count(
        "needs_prevented",
        "Needs removed at their source",
        "needs",
        "源头减少诉求",
        "volume",
        "higher",
    ),
    _percent(
        "targeted_needs_prevented_share",
        "Targeted problems removed at source",
        "share of the targeted problems' needs",
        "目标问题源头减少率",
        "volume",
        "higher",
    ),
    _count(
        "monthly_topics_chosen",
        "Monthly topics chosen (每月一题)",
        "topics",
        "每月一题选题数",
        "participation",
    ),
    _count(
        "monthly_topics_tackled",
        "Monthly topics tackled by a project",
        "topics",
        "每月一题落实数",
        "participation",
        "higher",
    ),
    _duration("warmup_days", "Warm-up excluded", "days", "预热期", "run"),
    _duration("measured_days", "Days measured", "days", "统计期", "run"),
    _ratio(
        "requests_per_resident_per_year",
        "Requests per resident per year",
        "requests per resident per year",
        "人均诉求量",
        "volume",
        threshold=0.02,
    ),
    _ratio(
        "returns_per_case",
        "Returns per dispatched case",
        "returns per case",
        "件均退件次数",
        "quality",
        "lower",
        threshold=0.05,
    ),
    _percent(
        "department_utilisation_max",
        "Busiest department's staff busy",
        "share of working hours",
        "最忙部门负荷率",
        "cost",
        "lower",
        threshold=0.05,
        level_range=_LOAD_RANGE,
    ),
    _percent(
        "parked_share",
        "Parked unresolved (挂账)",
        "share of cases",
        "挂账率",
        "quality",
        "lower",
    ),
    _percent(
        "repeat_contact_share",
        "Repeat contacts",
        "share of cases",
        "重复诉求占比",
        "quality",
        "lower",
    ),
    _percent(
        "reopened_share",
        "Reopened after verification or call-back (重新办理)",
        "share of cases",
        "重办率",
        "quality",
        "lower",
    ),
    _count(
        "premature_closures",
        "Premature closures (gaming)",
        "closures",
        "虚假办结",
        "quality",
        "lower",
    ),
    _percent(
        "premature_caught_share",
        "Premature closures caught and reopened",
        "share of premature closures",
        "虚假办结发现率",
        "quality",
        "higher",
    ),
    _count("disputes", "Disputed returns (推诿)", "returns", "推诿退件", "quality", "lower"),
    _count("urging_calls", "Urging calls (催办)", "calls", "催办来电", "volume", "lower"),
    _percent(
        "front_desk_share",
        "Hotline requests answered at the front desk",
        "share of hotline requests",
        "热线直接办结率",
        "volume",
    ),
    _percent(
        "patrol_found_share_urban_management",
        "Urban-management cases found by patrols",
        "share of urban-management cases",
        "城管巡查发现占比",
        "volume",
    ),
    _percent(
        "on_time_share_patrol",
        "Patrol-found cases closed on time",
        "share of closed and overdue patrol cases",
        "巡查案件按时办结率",
        "time",
        "higher",
    ),
    _percent(
        "resolution_share_reported",
        "Residents' requests resolved",
        "share of residents' requests",
        "诉求解决率",
        "quality",
        "higher",
    ),
    _percent(
        "on_time_share_reported",
        "Residents' requests closed on time",
        "share of closed and overdue residents' requests",
        "诉求按时办结率",
        "time",
        "higher",
    ),
    _percent(
        "resolution_share_dispatched",
        "Dispatched residents' requests resolved",
        "share of residents' requests dispatched beyond the front desk",
        "派单诉求解决率",
        "quality",
        "higher",
    ),
    _percent(
        "satisfaction_share_dispatched",
        "Dispatched residents' requests rated satisfied",
        "share of rated dispatched requests",
        "派单诉求满意率",
        "quality",
        "higher",
    ),
    _percent(
        "requests_growth_share",
        "Growth of requests, last 90 days against the first 90",
        "relative change",
        "诉求量增长",
        "volume",
        level_range=(-1.0, math.inf),  # a share of the first 90 days' requests
    ),
    _index(
        "overloaded",
        "Overloaded: the system cannot keep up (1 = yes)",
        "0 or 1",
        "系统超载",
        "run",
        "lower",
        threshold=0.5,
    ),
    _percent(
        "reclassified_share",
        "Re-filed under a longer limit (gaming)",
        "share of cases",
        "改类延期",
        "quality",
        "lower",
    ),
    _ratio(
        "urging_calls_per_resident_per_year",
        "Urging calls per resident per year",
        "calls per resident per year",
        "人均催办量",
        "volume",
        "lower",
        threshold=0.01,
    ),
    # the party organisation and other actors (model.party, model.actors)
    _hours(
        "volunteer_hours_party_members",
        "Volunteer time, party members",
        "volunteer-hours",
        "党员志愿工时",
        "cost",
    ),
    _hours(
        "volunteer_hours_registered_units",
        "Volunteer time, registered units",
        "volunteer-hours",
        "双报到单位志愿工时",
        "cost",
    ),
    _hours(
        "volunteer_hours_building_heads",
        "Volunteer time, building heads",
        "volunteer-hours",
        "楼栋长志愿工时",
        "cost",
    ),
    _hours(
        "volunteer_hours_social_organisations",
        "Volunteer time, social organisations",
        "volunteer-hours",
        "社会组织志愿工时",
        "cost",
    ),
    _count(
        "cases_taken_party_members",
        "Small tasks taken by party members",
        "cases",
        "党员认领事项",
        "volume",
    ),
    _count(
        "cases_taken_registered_units",
        "Small tasks taken by registered units",
        "cases",
        "双报到单位认领事项",
        "volume",
    ),
    _count(
        "cases_taken_building_heads",
        "Small tasks taken by building heads",
        "cases",
        "楼栋长认领事项",
        "volume",
    ),
    _count(
        "cases_taken_social_organisations",
        "Small tasks taken by social organisations",
        "cases",
        "社会组织认领事项",
        "volume",
    ),
    _count(
        "collective_issues_routed",
        "Collective issues routed to deliberation by the party",
        "issues",
        "党组织转入协商议题",
        "participation",
    ),
    _count(
        "decisions_followed_up",
        "Stalled decisions followed up by the party",
        "decisions",
        "党组织督办议定事项",
        "participation",
    ),
    _count(
        "follow_ups_implemented",
        "Followed-up decisions implemented",
        "decisions",
        "督办后落实事项",
        "participation",
        "higher",
    ),
    # 一件事一次办 (model/bundles.py)
    _count("bundles", "One-thing bundles (一件事)", "cases", "一件事集成办理", "volume"),
    _count(
        "requests_merged", "Linked requests merged into bundles", "requests", "合并诉求", "volume"
    ),
    _count(
        "handoffs_saved",
        "Hand-offs saved by bundling",
        "hand-offs",
        "减少流转次数",
        "time",
        "higher",
    ),
    _count(
        "linked_request_cases",
        "Linked requests filed as separate cases",
        "cases",
        "分头办理诉求",
        "volume",
        "lower",
    ),
    _count(
        "separate_requests",
        "Second and later separate requests of linked needs (whole run)",
        "cases",
        "分头重复受理",
        "volume",
        "lower",
    ),
    # 一张屏: sensors and cameras (model/sensors.py)
    _count("sensor_alarms", "Sensor alarms, true and false", "alarms", "感知告警", "volume"),
    _count("false_alarms", "False sensor alarms", "alarms", "误报", "volume", "lower"),
    _hours(
        "false_alarm_hours",
        "Staff hours on false alarms",
        "staff-hours",
        "误报核查工时",
        "cost",
        "lower",
    ),
    _count(
        "false_alarm_checks_open",
        "False alarms whose check is still open at the end",
        "alarms",
        "误报待核查",
        "volume",
    ),
    _percent(
        "false_alarm_share", "False share of sensor alarms", "share of alarms", "误报率", "quality"
    ),
    _percent(
        "sensor_detection_share",
        "Found problems found by sensors",
        "share of patrol and sensor cases",
        "智能发现占比",
        "volume",
    ),
    # neighbourhood disputes and their mediation (model.mediation, model.policies.mediation)
    _count(
        "neighbour_disputes_brought",
        "Neighbourhood disputes brought",
        "disputes",
        "矛盾纠纷受理",
        "volume",
    ),
    _count(
        "neighbour_disputes_settled_grid",
        "Disputes settled by the grid worker",
        "disputes",
        "网格调解成功",
        "volume",
    ),
    _count(
        "neighbour_disputes_settled_community",
        "Disputes settled in the community",
        "disputes",
        "社区调解成功",
        "volume",
    ),
    _count(
        "neighbour_disputes_settled_escalation",
        "Disputes settled after escalation (platform or department)",
        "disputes",
        "上级调处成功",
        "volume",
    ),
    _count(
        "neighbour_disputes_escalated",
        "Disputes escalated beyond the community",
        "disputes",
        "矛盾纠纷上交",
        "volume",
        "lower",
    ),
    _count(
        "neighbour_disputes_unsettled",
        "Disputes closed unsettled",
        "disputes",
        "调解未成功",
        "volume",
        "lower",
    ),
    _count(
        "repeat_neighbour_disputes",
        "Repeat disputes (unsettled or a settlement broke down)",
        "disputes",
        "重复纠纷",
        "volume",
        "lower",
    ),
    _percent(
        "neighbour_dispute_settlement_share",
        "Disputes settled",
        "share of closed dispute cases",
        "矛盾纠纷调解成功率",
        "quality",
        "higher",
    ),
    _percent(
        "repeat_neighbour_dispute_share",
        "Repeat disputes",
        "share of dispute cases",
        "重复纠纷占比",
        "quality",
        "lower",
    ),
)

# Outcomes with one key per case type, age group or department.
OUTCOME_FAMILIES: tuple[OutcomeFamily, ...] = (
    OutcomeFamily(
        r"resolution_time_(?P<stat>mean|median|p90)_days_(?P<key>[a-z0-9_]+)",
        "resolution_time_median_days_help",
        "Resolution time, {stat} — {key} cases",
        "days",
        "{key_zh}类办结时长{stat_zh}",
        "time",
        "lower",
        "duration",
        _DAYS,
    ),
    OutcomeFamily(
        r"participation_share_age_(?P<key>[a-z0-9_]+)",
        "participation_share_age_70_plus",
        "Participation, age {key}",
        "share of the age group",
        "{key}岁居民参与率",
        "participation",
        None,
        "share",
        0.01,
        level_range=_SHARE_RANGE,
    ),
    OutcomeFamily(
        r"case_share_(?P<key>[a-z0-9_]+)",
        "case_share_inquiry",
        "Share of residents' requests — {key}",
        "share of residents' first contacts",
        "{key_zh}占比",
        "volume",
        None,
        "share",
        _SHARE,
        level_range=_SHARE_RANGE,
    ),
    OutcomeFamily(
        r"department_utilisation_(?P<key>[a-z0-9_]+)",
        "department_utilisation_urban_management",
        "Staff busy — {key}",
        "share of working hours",
        "{key}人员负荷率",
        "cost",
        None,
        "share",
        0.05,
    ),
    # community types (model/places.py): typed scenarios only
    OutcomeFamily(
        r"place_resolution_time_median_days_(?P<key>[a-z0-9_]+)",
        "place_resolution_time_median_days_rural_town",
        "Resolution time, median — {key} communities",
        "days",
        "{key}办结时长中位数",
        "time",
        "lower",
        "duration",
        _DAYS,
    ),
    OutcomeFamily(
        r"place_on_time_share_(?P<key>[a-z0-9_]+)",
        "place_on_time_share_rural_town",
        "Closed on time — {key} communities",
        "share of closed and overdue cases",
        "{key}按时办结率",
        "time",
        "higher",
        "share",
        _SHARE,
        level_range=_SHARE_RANGE,
    ),
    OutcomeFamily(
        r"place_satisfaction_share_(?P<key>[a-z0-9_]+)",
        "place_satisfaction_share_rural_town",
        "Satisfied — {key} communities",
        "share of rated cases",
        "{key}满意率",
        "quality",
        "higher",
        "share",
        _SHARE,
        level_range=_SHARE_RANGE,
    ),
)

_BY_NAME: dict[str, Outcome] = {o.name: o for o in OUTCOMES}
# Fixed outcome names; every run's summary has each of them (NaN when undefined).
OUTCOME_NAMES: tuple[str, ...] = tuple(_BY_NAME)


def find_outcome(name: str) -> Outcome | None:
    """The registry entry of ``name`` (a fixed outcome or a family member), else None."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    for family in OUTCOME_FAMILIES:
        found = family.resolve(name)
        if found is not None:
            return found
    return None


def outcome(name: str) -> Outcome:
    """The registry entry of ``name``.

    Raises:
        KeyError: ``name`` has no entry; the message names it and where to add one.
    """
    found = find_outcome(name)
    if found is None:
        raise KeyError(
            f"outcome {name!r} has no entry in the outcome registry: add an Outcome to "
            "model/outcomes.py OUTCOMES (or an OutcomeFamily to OUTCOME_FAMILIES)"
        )
    return found


def outcome_registry_json() -> dict[str, Any]:
    """The registry as JSON-able data: ``{"outcomes": [...], "families": [...]}``."""
    return {
        "outcomes": [o.to_json() for o in OUTCOMES],
        "families": [f.to_json() for f in OUTCOME_FAMILIES],
    }


MAX_UNIT_NODES = 500  # unit values are kept for pictures of small scenarios only
UTILISATION_WARNING = 0.9  # a department busier than this may never clear its queue
OVERLOAD_UTILISATION = 0.98  # a department this busy cannot keep up: the run shows collapse
OVERLOAD_BACKLOG_DAYS = 30.0  # an active backlog of a month of arrivals at the end: collapse
# Measured days below which the load warnings say the measurement is short: half a year,
# over which the classroom's busiest department read 83–95 % on three seeds, against
# 81–100 % over 90 days and 101–116 % over 5–60 (run_warnings)
SETTLED_LOAD_DAYS = 180
logger = logging.getLogger(__name__)


# a run's warnings are logged with this attribute set (``extra``), so that the filter
# below drops those records only, never another warning of this module
_RUN_WARNING = "microgov_run_warning"
_QUIET: ContextVar[bool] = ContextVar("microgov_run_warnings_quiet", default=False)


def _not_quieted(record: logging.LogRecord) -> bool:
    """False for a run's warning logged while :func:`warnings_not_logged` is in force."""
    return not (_QUIET.get() and getattr(record, _RUN_WARNING, False))


logger.addFilter(_not_quieted)


@contextmanager
def warnings_not_logged() -> Iterator[None]:
    """Inside, the warnings :func:`run_warnings` finds are returned but not logged.

    For callers that show them otherwise: ``microgov run`` lists them after its table, and
    an experiment's runner stores each run's in table ``warnings`` and counts the runs that
    had any (``--verbose`` lists them run by run; ``experiments.runner.execute_task_quietly``).
    Logged as well, a sensitivity experiment printed about a thousand lines of them (one per
    run and warning, from every worker), and a single run showed each twice. The setting is
    the current thread's (a context variable: a Dask worker's other runs are not affected)
    and is restored on leaving, an exception included."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def group_key(name: str) -> str:
    """Turn an age group label such as '18-29' or '70+' into an identifier part."""
    return name.replace("+", "_plus").replace("-", "_")


def per_type_outcomes() -> tuple[str, ...]:
    """Resolution-time outcomes by case type, e.g. 'resolution_time_median_days_help'."""
    return tuple(
        f"resolution_time_{stat}_days_{t}" for t in CASE_TYPES for stat in ("mean", "median", "p90")
    )


@dataclass(frozen=True)
class RunOutput:
    """Everything one run yields.

    Attributes:
        summary: outcome name → value (NaN where undefined).
        timeseries: one row per simulated day (column 'day' plus daily variables).
        cases: the case log, one row per case with its timestamps and hand-offs.
        units: for small scenarios (at most ``MAX_UNIT_NODES`` units), the final backlog
            and mean trust of every unit of the governance network, long format: node
            ('level:index'), level, parent ('level:index' or None), name, variable, value.
        warnings: what a reader of the outcomes must know, e.g. a department whose
            utilisation exceeds ``UTILISATION_WARNING`` (its queue may not settle).
    """

    summary: dict[str, float]
    timeseries: pd.DataFrame
    cases: pd.DataFrame
    units: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: tuple[str, ...] = ()


def _quantiles(durations: np.ndarray) -> tuple[float, float, float]:
    """Mean of the finished durations; median and p90 with unfinished ones (+inf) counted.

    A case still open at the end has not been resolved *yet*: dropping it would make an
    overloaded system look fast, so the median and p90 count it as longer than every
    closed case (right-censored), and are NaN when they fall among the open cases.
    """
    if durations.size == 0:
        return (math.nan, math.nan, math.nan)
    # sorted, so that the mean does not depend on the order of the cases (retired first)
    finite = np.sort(durations[np.isfinite(durations)])
    mean = float(finite.mean()) if finite.size else math.nan
    median, p90 = np.quantile(durations, [0.5, 0.9], method="inverted_cdf")
    return (
        mean,
        float(median) if np.isfinite(median) else math.nan,
        float(p90) if np.isfinite(p90) else math.nan,
    )


def _by_group(group: np.ndarray, values: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """``(g, values[group == g])`` for each ``g`` of ``np.unique(group)``, by one stable sort
    rather than a mask over every value per group: the same arrays, in O(n log n) rather
    than O(groups × n) (issue 11, seventh round: a district year's 2,346 grids)."""
    order = np.argsort(group, kind="stable")
    groups, starts, counts = np.unique(group[order], return_index=True, return_counts=True)
    ordered = values[order]
    for g, start, count in zip(groups.tolist(), starts.tolist(), counts.tolist(), strict=True):
        yield g, ordered[start : start + count]


def _share(numerator: float | np.integer, denominator: float | np.integer) -> float:
    return float(numerator / denominator) if denominator > 0 else math.nan


def summarise(model: GovernanceModel, status: np.ndarray) -> dict[str, float]:
    """Every outcome of a run so far (NaN where undefined).

    The accounting of needs and cases covers the whole run, warm-up included (nothing
    is lost); every other outcome covers the measured period after the warm-up only:
    cases reported since then, staff hours and meetings since then, the backlog on
    measured days (docs/design.md "Warm-up").
    """
    cw = model.casework
    # case outcomes come from tallies of the cases retired so far and the live ones (never
    # from whole case columns: model/case_tallies.py says how to add one)
    tallies = model.case_tallies()
    n = tallies.count("cases_all")
    p = model.parameters
    closed_total = tallies.count("closed_all")
    parked_total = tallies.count("parked_all")
    summary: dict[str, float] = {}
    # every need is accounted for: reported, found by a patrol or sensor, lapsed unreported,
    # or still waiting for the patrol that will find it
    summary["needs_generated"] = float(cw.needs_generated)
    summary["needs_reported"] = float(cw.needs_reported)
    summary["needs_found"] = float(cw.needs_found - cw.pending_found)
    summary["needs_lapsed"] = float(cw.lapsed_needs)
    summary["needs_awaiting_patrol"] = float(cw.pending_found)
    # every case is a need reported or found, or a repeat contact about one; and every case
    # is closed, parked (挂账) or still open (of which some wait in a queue)
    summary["repeat_contacts"] = float(cw.repeat_contacts)
    summary["cases_generated"] = float(n)
    summary["cases_closed"] = float(closed_total)
    summary["cases_parked"] = float(parked_total)
    summary["cases_open"] = float(n - closed_total - parked_total)
    summary["cases_queued"] = float((status == "queued").sum())

    warmup = model.warmup_days
    measured_days = model.measured_days
    summary["warmup_days"] = float(warmup)
    summary["measured_days"] = float(measured_days)
    m = tallies.count("measured")  # cases of the measured period
    # resolution time of every measured case; +inf while still open (censored at the horizon)
    durations = tallies.sample("resolution_time")
    case_type = tallies.sample("case_type")
    (
        summary["resolution_time_mean_days"],
        summary["resolution_time_median_days"],
        summary["resolution_time_p90_days"],
    ) = _quantiles(durations)
    for t, name in enumerate(CASE_TYPES):
        mean, median, p90 = _quantiles(durations[case_type == t])
        summary[f"resolution_time_mean_days_{name}"] = mean
        summary[f"resolution_time_median_days_{name}"] = median
        summary[f"resolution_time_p90_days_{name}"] = p90
    # open and parked cases already past their deadline are late whatever happens next
    summary["on_time_share"] = _share(
        tallies.count("on_time"), tallies.count("closed") + tallies.count("overdue")
    )
    summary["resolution_share"] = _share(tallies.count("resolved"), m)
    summary["on_the_spot_share"] = _share(tallies.count("on_the_spot"), m)
    dispatched = tallies.count("dispatched")
    summary["returns_share"] = _share(tallies.count("returned"), dispatched)
    summary["returns_per_case"] = _share(tallies.count("returns"), dispatched)
    summary["handoffs_per_case"] = _share(tallies.count("handoffs"), m)
    summary["parked_share"] = _share(tallies.count("parked"), m)
    summary["repeat_contact_share"] = _share(tallies.count("repeat_contacts"), m)
    summary["reopened_share"] = _share(tallies.count("reopened"), m)
    summary["premature_closures"] = float(tallies.count("premature_closures"))
    summary["premature_caught_share"] = _share(
        tallies.count("premature_caught"), tallies.count("premature")
    )
    summary["disputes"] = float(cw.disputes - cw.disputes_mark)
    summary["reclassified_share"] = _share(tallies.count("reclassified"), m)
    summary["urging_calls"] = float(cw.urging_calls - cw.urging_calls_mark)
    residents_cases = tallies.count("residents_cases")
    years = measured_days / 365.0
    summary["requests_per_resident_per_year"] = (
        float(residents_cases / model.population.size / years) if years > 0 else math.nan
    )
    summary["urging_calls_per_resident_per_year"] = (
        summary["urging_calls"] / model.population.size / years if years > 0 else math.nan
    )
    summary.update(_intake_shares(model, tallies, measured_days))
    summary.update(dispute_outcomes(tallies.count))
    backlog = np.array(model.datacollector.model_vars.get("backlog", [])[warmup:], dtype=float)
    summary["backlog_mean"] = float(backlog.mean()) if backlog.size else math.nan
    summary["backlog_final"] = summary["cases_open"]

    hours = model.calendar.total_working_hours(model.day) - model.calendar.total_working_hours(
        min(warmup, model.day)
    )
    # staff hours worked within the measured period: jobs cut at its edges (model/busy_time.py)
    busy = model.measured_busy()
    departments = model.department_stations
    summary["department_utilisation"] = _share(
        sum(busy(s) for s in departments), hours * sum(s.staff for s in departments)
    )
    for name, station in zip(model.department_names, departments, strict=True):
        summary[f"department_utilisation_{name}"] = _share(busy(station), hours * station.staff)
    per_department = [summary[f"department_utilisation_{name}"] for name in model.department_names]
    summary["department_utilisation_max"] = (
        float(np.nanmax(per_department)) if hours > 0 else math.nan
    )
    # Overload is a valid run that shows collapse, not an error: it still ends in bounded
    # time and memory (every event belongs to a case, cases are bounded by the validated
    # demand, and the memory estimate covers them), and it is flagged here.
    arrivals_per_day = m / measured_days if measured_days > 0 else math.nan
    backlog_days = summary["backlog_final"] / arrivals_per_day if arrivals_per_day > 0 else 0.0
    summary["overloaded"] = float(
        summary["department_utilisation_max"] > OVERLOAD_UTILISATION
        or backlog_days > OVERLOAD_BACKLOG_DAYS
    )
    patrol = min(p.detection.patrol_hours_per_day / p.calendar.working_hours_per_day, 0.9)
    # busy hours include the patrol stretch (work_factor = 1/(1 − patrol)): take it out
    grid_work = sum(busy(s) / s.work_factor for s in model.grid_stations)
    grid_capacity = hours * sum(s.staff for s in model.grid_stations)
    # patrol time is part of a grid worker's working day (F4.6, assumption)
    summary["grid_worker_utilisation"] = (
        _share(grid_work, grid_capacity) + patrol if grid_capacity > 0 else math.nan
    )
    admin = p.offices.community_admin_hours_per_day * hours / p.calendar.working_hours_per_day
    loads = np.array(
        [_share(busy(s) / s.work_factor + admin, s.staff * hours) for s in model.community_stations]
    )
    summary["community_utilisation"] = float(loads.mean())
    summary["community_overload_share"] = float((loads > 1.0).mean())  # 小马拉大车

    summary["satisfaction_share"] = _share(tallies.count("satisfied"), tallies.count("rated"))
    pop = model.population
    summary["trust_mean"] = float(pop.trust.mean())
    summary["trust_change"] = float(pop.trust.mean() - model.warmup_trust_mean)
    summary["unreported_share"] = _share(
        cw.lapsed_needs - cw.lapsed_needs_mark, cw.needs_generated - cw.needs_generated_mark
    )

    delib = model.deliberation
    participated = delib.participated
    summary["participation_share"] = float(participated.mean())
    for g, group in enumerate(pop.age_groups):
        members = pop.age_group == g
        summary[f"participation_share_age_{group_key(group)}"] = _share(
            participated[members].sum(), members.sum()
        )
    summary["participation_share_party_member"] = _share(
        participated[pop.party_member].sum(), pop.party_member.sum()
    )
    summary["participation_share_non_member"] = _share(
        participated[~pop.party_member].sum(), (~pop.party_member).sum()
    )
    summary["representativeness"] = _representativeness(
        pop.age_group, pop.party_member, participated
    )
    summary["meetings_held"] = float(delib.meetings_held)
    summary["decisions_made"] = float(delib.decisions_made)
    summary["implementation_share"] = _share(delib.projects_implemented, delib.decisions_made)
    summary["collective_issues_open"] = float(delib.collective_issues_open)
    summary.update(model.projects.summary())  # micro-space projects (model/projects.py)

    grid = tallies.sample("grid")
    per_grid_median = []
    per_grid_on_time = []
    for g, mine in _by_group(grid, durations):
        if mine.size >= 5:
            per_grid_median.append(_quantiles(mine)[1])
        closed_here = tallies.count("closed_by_grid", g)
        if closed_here >= 5:
            per_grid_on_time.append(tallies.count("on_time_by_grid", g) / closed_here)
    medians = np.array(per_grid_median)
    medians = medians[np.isfinite(medians)]
    summary["equity_resolution_time_cv"] = (
        float(medians.std() / medians.mean())
        if medians.size > 1 and medians.mean() > 0
        else math.nan
    )
    ontime = np.array(per_grid_on_time)
    summary["equity_on_time_gap"] = (
        float(np.quantile(ontime, 0.9) - np.quantile(ontime, 0.1)) if ontime.size > 1 else math.nan
    )
    staff_hours = sum(busy(s) for s in model.staff_stations()) + delib.staff_hours
    summary.update(model.organisation.summary(busy))  # volunteer hours by actor (model.party)
    summary["staff_hours_total"] = float(staff_hours)
    summary["staff_hours_per_case"] = _share(staff_hours, m)
    # the practices of issue 10 (bundles.py, sensors.py) and community types (places.py)
    summary.update(bundle_outcomes(cw.one_thing, tallies.count))
    summary.update(
        sensor_outcomes(model.sensors, tallies.count("sensor_found"), tallies.count("patrol_found"))
    )
    summary.update(place_outcomes(model.layout, grid, durations, tallies.__getitem__))
    return summary


def _intake_shares(
    model: GovernanceModel, tallies: CaseTallies, measured_days: int
) -> dict[str, float]:
    """What a work-order log shows of intake (calibration targets, F2, F3, F1.4, F4.2, F1.2):
    the type mix of residents' first contacts, the front-desk share of hotline requests, the
    share of urban-management cases found by patrols, patrol cases on time, and the growth
    of requests per day from the first 90 measured days to the last 90."""
    out: dict[str, float] = {}
    # the five types residents report (F2): not disputes, whose mix is not F2's
    first = sum(tallies.count("first_contacts_by_type", t) for t in range(5))
    for t, name in enumerate(CASE_TYPES[:5]):  # the types residents report (F2)
        out[f"case_share_{name}"] = _share(tallies.count("first_contacts_by_type", t), first)
    out["front_desk_share"] = _share(tallies.count("front_desk"), tallies.count("hotline"))
    if "urban_management" in model.department_names:
        urban = model.department_names.index("urban_management")
        out["patrol_found_share_urban_management"] = _share(
            tallies.count("patrol_found_by_lead", urban), tallies.count("measured_by_lead", urban)
        )
    else:
        out["patrol_found_share_urban_management"] = math.nan
    out["on_time_share_patrol"] = _share(
        tallies.count("patrol_cases_on_time"),
        tallies.count("patrol_cases_closed") + tallies.count("patrol_cases_overdue"),
    )
    # residents' requests only (what a hotline's published rates count, F8.1-F8.3)
    out["resolution_share_reported"] = _share(
        tallies.count("own_resolved"), tallies.count("own_requests")
    )
    out["on_time_share_reported"] = _share(
        tallies.count("own_on_time"), tallies.count("own_closed") + tallies.count("own_overdue")
    )
    # the requests that reach a street or department (what a street's rates count, F8.3)
    out["resolution_share_dispatched"] = _share(
        tallies.count("sent_resolved"), tallies.count("sent_requests")
    )
    out["satisfaction_share_dispatched"] = _share(
        tallies.count("sent_satisfied"), tallies.count("sent_rated")
    )
    if measured_days >= 180:
        per_day = np.atleast_1d(np.asarray(tallies["requests_by_day"]))
        early = int(per_day[:90].sum())
        late = int(per_day[max(measured_days - 90, 0) :].sum())
        out["requests_growth_share"] = _share(late - early, early)
    else:
        out["requests_growth_share"] = math.nan
    return out


def run_warnings(model: GovernanceModel, summary: dict[str, float]) -> tuple[str, ...]:
    """Warnings a reader of the outcomes must see (each is also logged, except inside
    :func:`warnings_not_logged`)."""
    found = []
    measured_days = model.measured_days
    # A small department's load swings from one stretch of weeks to the next: over a short
    # measurement the busiest of several departments reads busier than over a year (the
    # classroom, seed 0: 92.8 % over 60 days, 95.0 % over 90, 84.5 % over 180, 83.9 % over
    # 365; its staff hours within the measured days, model/busy_time.py).
    short = (
        f" (measured over only {measured_days} days, in which a small department's load "
        f"swings: judge it on {SETTLED_LOAD_DAYS} days or more)"
        if 0 < measured_days < SETTLED_LOAD_DAYS
        else ""
    )
    for name in model.department_names:
        value = summary.get(f"department_utilisation_{name}", math.nan)
        if value > UTILISATION_WARNING:
            found.append(
                f"department {name} busy {100 * value:.1f} % of its staff's time, above "
                f"{100 * UTILISATION_WARNING:.0f} %: "
                f"its queue may not settle, and outcomes depend on the run's length{short}"
            )
    if summary.get("overloaded") == 1.0:
        found.append(
            "overloaded: the system cannot keep up (a department busy above "
            f"{100 * OVERLOAD_UTILISATION:.0f} % of its staff's time or a backlog of over "
            f"{OVERLOAD_BACKLOG_DAYS:.0f} days of arrivals); the run shows collapse, its time "
            "outcomes are censored"
            # a backlog is not a load that swings: only a busy department's overload is hedged
            + (short if summary["department_utilisation_max"] > OVERLOAD_UTILISATION else "")
        )
    for message in found:
        logger.warning(message, extra={_RUN_WARNING: True})
    return tuple(found)


def _representativeness(
    age_group: np.ndarray, party: np.ndarray, participated: np.ndarray
) -> float:
    """1 − total-variation distance between participants and population over age × party cells."""
    if not participated.any():
        return math.nan
    cell = age_group.astype(np.int64) * 2 + party.astype(np.int64)
    size = int(cell.max()) + 1
    population = np.bincount(cell, minlength=size) / cell.size
    chosen = np.bincount(cell[participated], minlength=size) / participated.sum()
    return float(1.0 - 0.5 * np.abs(population - chosen).sum())


# the case log's two categorical columns' types, made once (checking the categories again
# for every block of a streamed log cost more than the rest of the two columns)
_CASE_TYPE_DTYPE = pd.CategoricalDtype(list(CASE_TYPES))
_SOURCE_DTYPE = pd.CategoricalDtype(list(SOURCES))
# the type pandas gives a column of texts: with pandas 3, texts held by Arrow (``str``)
_TEXT_DTYPE = pd.Series(["text"]).dtype
_ARROW_TEXTS = isinstance(_TEXT_DTYPE, pd.StringDtype) and _TEXT_DTYPE.storage == "pyarrow"


def text_column(names: Sequence[str], codes: np.ndarray) -> list[str | None] | ExtensionArray:
    """``[names[c] if c >= 0 else None for c in codes]`` as a frame's column holds it.

    Where pandas holds texts in Arrow (pandas 3), the column is made by Arrow from the
    names, taking one per code (the codes' array read once, no Python text a row): the same
    column, of the same type, as pandas makes of the list, in a third of its time (a district
    year's case log has three such columns, ≈ 1 M rows each: ≈ 1 ms of each block of 4,096
    retired cases; issue 11, thirty-first round). Otherwise, and when no code names a text
    (pandas makes an ``object`` column of a list with no text), the list.
    """
    named = codes >= 0
    if not _ARROW_TEXTS or not named.any():
        return [names[c] if c >= 0 else None for c in codes.tolist()]
    import pyarrow as pa

    table = pa.array([*names, None], type=pa.large_string())
    return pd.array(table.take(np.where(named, codes, len(names))), dtype=_TEXT_DTYPE)


def case_log(
    model: GovernanceModel, status: np.ndarray | ExtensionArray, rows: CaseRows | None = None
) -> pd.DataFrame:
    """One row per case: attributes, timestamps (days; NaN if not reached), hand-offs, status.

    ``rows``: the cases to log (default: the live cases, ``model.live_cases()``; cases
    retired during the run went to the case sink); ``status`` is one text per row (an
    array, or a column made by :func:`text_column`).
    """
    rows = model.live_cases() if rows is None else rows
    col = rows.column
    names = model.department_names
    closed = col("closed")
    return pd.DataFrame(
        {
            "case_id": col("number"),
            "need": col("need"),
            "resident": col("resident"),
            "case_type": pd.Categorical.from_codes(col("case_type"), dtype=_CASE_TYPE_DTYPE),
            "source": pd.Categorical.from_codes(col("source"), dtype=_SOURCE_DTYPE),
            "category": text_column(names, rows.lead),
            "departments_needed": rows.needed,
            "grid": col("grid"),
            "severity": col("severity"),
            "minor": col("minor"),
            "repeat": col("repeat"),
            "reported": col("reported"),
            "registered": col("registered"),
            "dispatched": col("dispatched"),
            "handled": col("handled"),
            "verified": col("verified"),
            "closed": closed,
            "deadline": col("deadline"),
            "resolution_time_days": closed - col("reported"),
            "handoffs": col("handoffs"),
            "returns": col("returns"),
            "disputed": col("disputed"),
            "parent": col("parent"),
            "contact": col("contact"),
            "owner": text_column(names, col("owner")),
            "reopened": col("reopened"),
            "premature": col("premature"),
            "urged": col("urged"),
            "reclassified": col("reclassified"),
            "promised": col("promised"),
            "parked": col("parked"),
            "on_the_spot": col("on_the_spot"),
            "on_time": np.where(np.isnan(closed), np.nan, closed <= col("deadline")),
            "resolved": col("resolved"),
            "satisfied": np.where(col("satisfied") >= 0, col("satisfied"), np.nan),
            "status": status,
            "measured": col("reported") >= model.warmup_days,  # reported after the warm-up
        }
    )
