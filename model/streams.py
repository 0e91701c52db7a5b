"""Named random streams: one generator per stochastic process (docs/design.md "Randomness").

A stream is keyed by a stable hash of its name, so adding a stream never shifts
another, and a policy change never perturbs the arrival or case-attribute streams
(common random numbers across policies).
"""

from __future__ import annotations

import zlib

import numpy as np

STREAM_NAMES: tuple[str, ...] = (
    "population",  # who the residents are, their ties
    "arrivals",  # when and to whom needs arise
    "case_attributes",  # everything exogenous about a case, drawn at birth
    "collective_issues",  # collective issues per community
    "routing",  # the routing policy's own stream
    "classification",  # an office's choice of a wrong department, and re-classification after returns
    "claims",  # which party member is offered a small task, and whether they claim it
    "handling",  # disputes, whether re-handling resolves a case, on-site verification
    "gaming",  # whether a department under pressure closes a case prematurely
    "contacts",  # repeat contacts: when they come, and their own draws
    "accountability",  # the accountability regime's own stream
    "consultation",  # the consultation policy's own stream
    "attendance",  # sampling who attends a meeting
    "mesa",  # Mesa's own shuffling (model.rng / model.random)
    "organisation",  # the party organisation's and other actors' draws (model.party)
    "projects",  # micro-space projects: firms' co-funding, use of the spaces, needs prevented
    "bundles",  # which needs are linked requests (一件事), and their separate requests' draws
    "sensors",  # sensor false alarms (一张屏): how many, where, when
    "disputes",  # when and between whom neighbourhood disputes arise, drawn at birth
    "mediation",  # whether a mediation after the first settles a dispute, and relapses
)


def as_seed_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    """Accept an int or a SeedSequence (e.g. child i of an experiment's root)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    return np.random.SeedSequence(int(seed))


def stream(seed: np.random.SeedSequence, name: str) -> np.random.Generator:
    """The generator for process ``name`` under ``seed``."""
    key = zlib.crc32(name.encode("utf-8"))
    child = np.random.SeedSequence(entropy=seed.entropy, spawn_key=(*seed.spawn_key, key))
    return np.random.default_rng(child)
