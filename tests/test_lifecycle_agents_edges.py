"""Edges of the compiled lifecycle's own decisions (issue 11, twenty-third round; found in
review): where the agents' methods, the functions they call or the objects they read are
changed in ways a class check alone would miss, the compiled lifecycle decides as the
reference does, or asks. Each case is a pair of twin models (tests/test_lifecycle_twins.py)
called step by step, results and state compared after every call.
"""

from __future__ import annotations

import dataclasses
import types
import warnings
from typing import Any

import numpy as np
import pytest
from test_lifecycle_twins import STEPS, lead, open_cases, same_call, twins

from model import agents
from model.agents import Department
from model.casework import Casework
from model.engine_backend import compiled_engine
from model.parameters import HandlingParameters
from model.policies.base import Unit, Visit

pytestmark = pytest.mark.skipif(compiled_engine() is None, reason="the engine is not built")


def _done(effort: Any) -> Any:
    return lambda cw, cid: ((cid, Unit("department", lead(cw, cid)), "handle", effort, False),)


def _arrive(cw: Casework, cid: int) -> tuple[Any, ...]:
    return ((cid, Visit(Unit("department", lead(cw, cid))), "handle"),)


def _offices(casework: Casework) -> list[Any]:
    units = casework.units
    return [units.centre, *units.streets, *units.communities]


def never_right(casework: Casework) -> None:
    """Every office names a wrong department, drawn from the list it keeps for each open
    case's departments."""
    for office in _offices(casework):
        office.accuracy = office.catalogue_accuracy = 0.0
        for cid in open_cases(casework):
            needed = casework.cases.departments[cid]
            office._wrong_for[needed] = [d for d in range(office.n_departments) if d not in needed]


def _all(compiled: Casework, reference: Casework, name: str, arguments: Any) -> None:
    for cid in open_cases(compiled):
        if cid in compiled.progress:
            same_call(compiled, reference, name, arguments, cid)


def _warm(compiled: Casework, reference: Casework) -> None:
    """Each decision made once: the compiled lifecycle has looked at the classes and read
    the handling parameters."""
    for name in ("_turned_away", "_visit_arrive", "_visit_done", "_handled", "_verified"):
        cid = next(c for c in open_cases(compiled) if c in compiled.progress)
        same_call(compiled, reference, name, STEPS[name], cid)


def test_a_patched_resolves_of_the_module_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    """Department.resolves calls model.agents.resolves by name: one patched in after the
    lifecycle ran is the one that decides, on both."""
    compiled, reference = twins()
    _warm(compiled, reference)
    monkeypatch.setattr(agents, "resolves", lambda handling, effort, u: True)
    for casework in (compiled, reference):
        for cid in open_cases(casework):
            casework.progress[cid].failed = False
            casework.cases.u_quality[cid] = 0.999999  # unresolved, unless patched
    _all(compiled, reference, "_visit_done", _done(0.3))
    assert not any(
        compiled.progress[c].failed for c in open_cases(compiled) if c in compiled.progress
    )


def test_a_patched_integer_below_draws_the_wrong_department(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Office.classify draws by model.agents.integer_below, read when it draws."""
    compiled, reference = twins()
    for casework in (compiled, reference):
        never_right(casework)
    monkeypatch.setattr(agents, "integer_below", lambda rng, n: n - 1)
    _all(compiled, reference, "_turned_away", STEPS["_turned_away"])


@pytest.mark.parametrize("change", ["staticmethod", "code", "getattribute"])
def test_a_method_changed_past_a_class_check_is_asked(
    change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A method made static, a method given other code (its class unchanged, so its
    version tag too) and a subclass reading attributes its own way are asked."""
    compiled, reference = twins()
    _warm(compiled, reference)
    if change == "staticmethod":  # the reference then raises: no self
        monkeypatch.setattr(Department, "effort", staticmethod(Department.effort))
    elif change == "code":

        def effort(self: Department, u: float) -> tuple[float, bool]:
            return 2.0, False

        monkeypatch.setattr(Department.effort, "__code__", effort.__code__)
    else:

        class Reading(Department):
            def __getattribute__(self, name: str) -> Any:
                if name == "effort":
                    return lambda u: (2.0, False)
                return super().__getattribute__(name)

        for casework in (compiled, reference):
            for department in casework.units.departments:
                department.__class__ = Reading
    _all(compiled, reference, "_visit_arrive", _arrive)


@pytest.mark.parametrize("ratings", ["read-only", "a subclass", "resized"])
def test_ratings_changed_after_use_are_seen(ratings: str) -> None:
    """Ratings made read-only, of an ndarray subclass, or resized after the lifecycle wrote
    to them: the compiled lifecycle keeps no view of them, so each is seen as the reference
    sees it (an error, the subclass's own writing, the new memory)."""
    compiled, reference = twins()
    _warm(compiled, reference)

    class Rounded(np.ndarray):
        def __setitem__(self, key: Any, value: Any) -> None:
            super().__setitem__(key, round(float(value), 2))

    for casework in (compiled, reference):
        departments = casework.units.departments
        array = departments[0]._ratings
        if ratings == "read-only":
            array.flags.writeable = False
        elif ratings == "a subclass":
            shared = array.view(Rounded)
            for department in departments:
                department._ratings = shared
        else:
            array.resize(array.shape[0] + 1000, refcheck=False)
            for department in departments:
                department._ratings = array
    _all(compiled, reference, "_visit_done", _done(0.3))


@pytest.mark.parametrize("full", [1.5, -9.0])
def test_parameters_made_without_validation_fail_as_the_reference(full: float) -> None:
    """Handling parameters made without validation (``model_construct``) with a chance
    out of [0, 1]: the resolution raises as the reference's ``**`` does (a complex number
    compared, an overflow), or is the same."""
    compiled, reference = twins()
    handling = HandlingParameters.model_construct(resolution_probability_full_effort=full)
    for casework in (compiled, reference):
        for department in casework.units.departments:
            department.handling = handling
    _all(compiled, reference, "_visit_done", _done(0.3 if full > 1 else 400.0))


def test_the_premature_branch_reads_no_quality_focus() -> None:
    """Department.effort reads the quality focus only when it does not close prematurely:
    a department without one closes prematurely on both."""
    compiled, reference = twins()
    handling = HandlingParameters(gaming_propensity=1.0)
    for casework in (compiled, reference):
        for department in casework.units.departments:
            department.handling = handling
            department.pressure = 1.0
            del department.quality_focus
    _all(compiled, reference, "_visit_arrive", _arrive)


def test_who_leads_is_asked_only_of_disputed_cases() -> None:
    """Department.accepts tests the route's first-unit-leads only for a disputed case."""
    compiled, reference = twins()

    class Lead:
        def __bool__(self) -> bool:
            raise RuntimeError("asked whether it leads")

    lead = Lead()
    for casework in (compiled, reference):
        for cid in open_cases(casework):
            casework.cases.disputed[cid] = 0
            prog = casework.progress[cid]
            prog.route = dataclasses.replace(prog.route, first_unit_leads=lead)
    _all(compiled, reference, "_turned_away", STEPS["_turned_away"])


def test_a_kept_list_of_nones_draws_once() -> None:
    """An office's kept list holding None: one draw, then the reference's error."""
    compiled, reference = twins()
    for casework in (compiled, reference):
        for office in _offices(casework):
            office.accuracy = office.catalogue_accuracy = 0.0
            for cid in open_cases(casework):
                office._wrong_for[casework.cases.departments[cid]] = [None, None, None]
    _all(compiled, reference, "_turned_away", STEPS["_turned_away"])


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("department", "effort"),
        ("department", "reclassifies"),
        ("department", "resolves"),
        ("department", "rate"),
        ("department", "queue_key"),
        ("grid worker", "catches"),
        ("grid worker", "verification_hours"),
        ("office", "accuracy_for"),
    ],
)
def test_one_decision_of_its_own_is_asked(kind: str, name: str) -> None:
    """An agent given one decision of its own (the others as written) is asked for that
    one, as the reference asks it."""
    compiled, reference = twins()
    asked: dict[str, int] = {"compiled": 0, "reference": 0}
    for key, casework in (("compiled", compiled), ("reference", reference)):
        units = casework.units
        agents_of = {
            "department": units.departments,
            "grid worker": units.grid_workers,
            "office": _offices(casework),
        }[kind]
        for agent in agents_of:
            method = getattr(agent, name)

            def own(*args: Any, method: Any = method, key: str = key) -> Any:
                asked[key] += 1
                return method(*args)

            setattr(agent, name, own)
        for department in units.departments:
            department.respond_to(0.6, {"on_time": 0.5, "resolution": 0.5})
        for k, cid in enumerate(open_cases(casework)):
            casework.cases.reopened[cid] = 0
            casework.cases.resolved[cid] = 0
            casework.cases.disputed[cid] = k % 2
            casework.cases.u_classify[cid] = 0.0  # named right: taken on (its accuracy asked)
    for step in ("_turned_away", "_visit_arrive", "_visit_done", "_handled", "_verified"):
        _all(compiled, reference, step, STEPS[step])
    assert asked["compiled"] == asked["reference"] > 0


# ---- from a second review's reproductions (a9851d5): module namespaces, attributes read
# through a subclass's properties, arrays handed out afresh, the residents' learning


def test_ratings_handed_out_afresh_are_asked() -> None:
    """A department whose ratings are a property handing out a new array at every read
    (freed after the read) is asked: nothing is written to memory no one holds."""
    compiled, reference = twins()
    _warm(compiled, reference)

    class Fresh(Department):
        @property  # type: ignore[override]
        def _ratings(self) -> Any:
            return np.resize(self.__dict__["_kept"], 129)

        @_ratings.setter
        def _ratings(self, value: Any) -> None:
            self.__dict__["_kept"] = value

    for casework in (compiled, reference):
        for department in casework.units.departments:
            kept = department.__dict__.pop("_ratings")
            department.__class__ = Fresh
            department.__dict__["_kept"] = kept
    _all(compiled, reference, "_visit_done", _done(0.3))


def test_other_code_under_the_method_s_name_is_asked(monkeypatch):
    """a function given other code whose qualname/file are Department.effort's"""
    compiled, reference = twins()
    _warm(compiled, reference)

    def effort(self, u):
        return 2.0, False

    code = effort.__code__.replace(co_qualname="Department.effort", co_filename=agents.__file__)
    monkeypatch.setattr(Department.effort, "__code__", code)
    _all(compiled, reference, "_visit_arrive", _arrive)


def test_another_resolves_under_its_name_is_called(monkeypatch):
    compiled, reference = twins()
    _warm(compiled, reference)

    def resolves(handling, effort, u):
        return True

    code = resolves.__code__.replace(co_qualname="resolves", co_filename=agents.__file__)
    monkeypatch.setattr(agents, "resolves", types.FunctionType(code, vars(agents), "resolves"))
    for casework in (compiled, reference):
        for cid in open_cases(casework):
            casework.progress[cid].failed = False
            casework.cases.u_quality[cid] = 0.999999
    _all(compiled, reference, "_visit_done", _done(0.3))


def test_the_method_s_code_with_other_globals_is_asked():
    """a subclass whose resolves is Department.resolves' code with other globals"""
    compiled, reference = twins()
    _warm(compiled, reference)
    g = dict(vars(agents))
    g["resolves"] = lambda h, e, u: True

    class Other(Department):
        resolves = types.FunctionType(Department.resolves.__code__, g, "resolves")

    for casework in (compiled, reference):
        for d in casework.units.departments:
            d.__class__ = Other
        for cid in open_cases(casework):
            casework.progress[cid].failed = False
            casework.cases.u_quality[cid] = 0.999999
    _all(compiled, reference, "_visit_done", _done(0.3))


def test_a_min_of_the_module_s_own_is_used(monkeypatch):
    compiled, reference = twins()
    monkeypatch.setattr(agents, "min", lambda a, b: 0.0, raising=False)
    for casework in (compiled, reference):
        for d in casework.units.departments:
            d.respond_to(0.6, {"on_time": 0.5, "resolution": 0.5})
        for cid in open_cases(casework):
            casework.cases.disputed[cid] = 1
            casework.cases.u_classify[cid] = 0.0
            casework.cases.u_dispute[cid] = 0.0
            prog = casework.progress[cid]
            prog.route = dataclasses.replace(prog.route, first_unit_leads=False)
    _all(compiled, reference, "_turned_away", STEPS["_turned_away"])


def test_a_len_of_the_module_s_own_is_used(monkeypatch):
    compiled, reference = twins()
    monkeypatch.setattr(agents, "len", lambda x: 0, raising=False)
    for casework in (compiled, reference):
        never_right(casework)
    _all(compiled, reference, "_turned_away", STEPS["_turned_away"])


def test_pressure_as_a_subclass_s_property_is_read_as_the_method_reads_it():
    compiled, reference = twins()
    _warm(compiled, reference)

    class Counted(Department):
        @property
        def pressure(self):
            self.reads = getattr(self, "reads", 0) + 1
            return 0.5 + 0.01 * self.reads

        @pressure.setter
        def pressure(self, v):
            pass

    for casework in (compiled, reference):
        for d in casework.units.departments:
            d.__class__ = Counted
            d.quality_focus = 1.0
    _all(compiled, reference, "_visit_arrive", _arrive)
    r = [getattr(d, "reads", 0) for d in compiled.units.departments]
    e = [getattr(d, "reads", 0) for d in reference.units.departments]
    assert r == e, (r, e)


def test_handling_is_read_only_where_the_method_reads_it():
    compiled, reference = twins()
    _warm(compiled, reference)
    for casework in (compiled, reference):
        for d in casework.units.departments:
            del d.handling

    def returned(cw: Casework, cid: int) -> tuple[Any, ...]:
        return ((cid, Visit(Unit("department", 0), work_hours=1.0), "return"),)

    _all(compiled, reference, "_visit_arrive", returned)


def test_ratings_that_warn_on_write_warn():
    compiled, reference = twins()
    _warm(compiled, reference)
    for casework in (compiled, reference):
        deps = casework.units.departments
        base = deps[0]._ratings
        a, _ = np.broadcast_arrays(base[:1], np.zeros(len(deps)))
        for d in deps:
            d._ratings = a
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _all(compiled, reference, "_visit_done", _done(0.3))


@pytest.mark.parametrize("rate", [np.float32(0.3), "decimal"])
def test_a_learning_rate_of_another_kind_learns_as_the_reference(rate):
    import decimal

    if rate == "decimal":
        rate = decimal.Decimal("0.3")
    compiled, reference = twins()
    for casework in (compiled, reference):
        casework.residents._learning_rate = rate
        for cid in open_cases(casework):
            casework.cases.resident[cid] = cid  # a resident
    _all(compiled, reference, "_close", STEPS["_close"])


def test_a_patched_learn_of_the_residents_module_is_called(monkeypatch):
    import model.residents as residents_module

    compiled, reference = twins()
    calls = []
    monkeypatch.setattr(residents_module, "learn", lambda *a: calls.append(a))
    for casework in (compiled, reference):
        for cid in open_cases(casework):
            casework.cases.resident[cid] = cid
    _all(compiled, reference, "_close", STEPS["_close"])


def test_residents_given_learn_from_later_are_asked(monkeypatch):
    from model.residents import Residents

    compiled, reference = twins()
    monkeypatch.setattr(Residents, "learn_from", lambda self, row, satisfied: None)
    for casework in (compiled, reference):
        for cid in open_cases(casework):
            casework.cases.resident[cid] = cid
    _all(compiled, reference, "_close", STEPS["_close"])


def test_an_accuracy_property_is_read_as_often_as_the_reference_reads_it():
    compiled, reference = twins()
    for casework in (compiled, reference):
        for office in _offices(casework):
            cls = type(office)

            class Counting(cls):
                @property
                def accuracy(self):
                    self.__dict__["reads"] = self.__dict__.get("reads", 0) + 1
                    return 0.0

                @accuracy.setter
                def accuracy(self, v):
                    pass

            office.__class__ = Counting
            office.catalogue = frozenset()
            office._wrong_for.clear()
    _all(compiled, reference, "_turned_away", STEPS["_turned_away"])
    assert [o.__dict__.get("reads") for o in _offices(compiled)] == [
        o.__dict__.get("reads") for o in _offices(reference)
    ]


def test_integer_below_from_the_builtins_is_found_as_python_finds_it(monkeypatch):
    import builtins

    compiled, reference = twins()
    ib = agents.integer_below
    monkeypatch.delattr(agents, "integer_below")
    monkeypatch.setattr(builtins, "integer_below", ib, raising=False)
    for casework in (compiled, reference):
        never_right(casework)
    _all(compiled, reference, "_turned_away", STEPS["_turned_away"])
