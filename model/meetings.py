"""Collective issues and deliberation (议事协商): topics, meetings, projects, feedback.

Collective issues (parking, old-compound renovation, pocket parks — seed §二(三))
arise per community; while open they slowly erode residents' trust. The
consultation policy decides when meetings are held and who is likely to attend;
this module samples attendance, turns decisions into projects and, when a project
is implemented, closes the issue and raises trust (成果转化落实反馈, seed §三(三)).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.policies.base import CommunityView, read_only

if TYPE_CHECKING:
    from model.governance import GovernanceModel


class Deliberation:
    """State of collective issues, meetings and projects in every community."""

    def __init__(self, model: GovernanceModel) -> None:
        self.m = model
        n_communities = model.n_communities
        self.open_issues = np.zeros(n_communities, dtype=np.int64)
        self.in_progress = np.zeros(n_communities, dtype=np.int64)
        self.issues_raised = 0
        self.meetings_held = 0
        self.decisions_made = 0
        self.projects_implemented = 0
        self.projects_failed = 0
        self.staff_hours = 0.0
        self.participated = np.zeros(model.population.size, dtype=bool)
        self.attendances = 0
        # residents are stored grid by grid, so each community is a contiguous block
        community = model.population.community
        self.bounds = np.searchsorted(community, np.arange(n_communities + 1))
        self.issue_rng = model.streams["collective_issues"]
        self.policy_rng = model.streams["consultation"]
        self.attendance_rng = model.streams["attendance"]

    def raise_issues(self) -> None:
        """New collective issues today (Poisson per community)."""
        rate = self.m.parameters.demand.collective_issues_per_community_per_year / 365.0
        new = self.issue_rng.poisson(rate, self.open_issues.shape[0])
        self.open_issues += new
        self.issues_raised += int(new.sum())

    def erode_trust(self) -> None:
        """Open collective issues erode trust in their community (assumption)."""
        drag = self.m.parameters.feedback.collective_issue_trust_drag_per_year / 365.0
        if drag <= 0 or not self.open_issues.any():
            return
        pop = self.m.population
        factor = 1.0 - drag * np.minimum(self.open_issues, 5)[pop.community]
        pop.trust *= factor

    def hold_meetings(self, day: int) -> None:
        """Meetings in every community on the policy's meeting days."""
        policy = self.m.consultation
        if not policy.meets_on(day):
            return
        pop = self.m.population
        for c in range(self.open_issues.shape[0]):
            a, b = int(self.bounds[c]), int(self.bounds[c + 1])
            if b <= a:
                continue
            view = CommunityView(
                day=day,
                community=c,
                trust=read_only(pop.trust[a:b]),
                age_group=read_only(pop.age_group[a:b]),
                age_groups=pop.age_groups,
                party_member=read_only(pop.party_member[a:b]),
                ties=pop.ties[a:b, a:b],
                open_collective_issues=int(self.open_issues[c]),
            )
            meeting = policy.convene(view, self.policy_rng)
            if meeting is None:
                continue
            self.meetings_held += 1
            self.staff_hours += meeting.staff_hours
            attends = self.attendance_rng.random(b - a) < np.clip(
                meeting.attendance_probability, 0.0, 1.0
            )
            count = int(attends.sum())
            self.attendances += count
            self.participated[a:b] |= attends
            if count < meeting.quorum:
                continue
            decided = int(min(meeting.topics, self.open_issues[c]))
            if decided == 0:
                continue
            self.decisions_made += decided
            self.open_issues[c] -= decided
            self.in_progress[c] += decided
            implemented = self.attendance_rng.random(decided) < meeting.decision_quality
            when = self.m.events.now + meeting.implementation_days
            for ok in implemented.tolist():
                self.m.events.schedule(
                    when, self._implement if ok else self._fail, (c, attends.copy())
                )

    def _implement(self, item: tuple[int, np.ndarray]) -> None:
        """A decision implemented and reported back: the issue closes, trust rises."""
        c, attended = item
        self.in_progress[c] -= 1
        self.projects_implemented += 1
        gain = self.m.parameters.feedback.project_trust_gain
        a, b = int(self.bounds[c]), int(self.bounds[c + 1])
        trust = self.m.population.trust[a:b]
        boost = np.where(attended, 2.0 * gain, gain)  # participants see the result first-hand
        trust += boost * (1.0 - trust)

    def _fail(self, item: tuple[int, np.ndarray]) -> None:
        """A decision that was not implemented: the issue is open again."""
        c, _ = item
        self.in_progress[c] -= 1
        self.open_issues[c] += 1
        self.projects_failed += 1

    @property
    def collective_issues_open(self) -> int:
        return int(self.open_issues.sum() + self.in_progress.sum())
