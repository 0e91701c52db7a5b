"""Replication seeds shared by every scenario and sweep point (common random numbers).

Replication *i* of an experiment with root seed *s* runs on
``SeedSequence(s).spawn(R)[i]``, which equals ``SeedSequence(s, spawn_key=(i,))``
(docs/design.md "Randomness"). Building the child directly from its spawn key
means replication *i* gets the same seed whatever *R* is, so replications can be
added later (precision target, resume) without changing earlier ones.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np


def replication_seed(root: int, replication: int) -> np.random.SeedSequence:
    """The seed of replication ``replication`` (0-based) under root seed ``root``."""
    if replication < 0:
        raise ValueError(f"replication must be >= 0, got {replication}")
    return np.random.SeedSequence(root, spawn_key=(replication,))


def replication_seeds(root: int, replications: int) -> list[np.random.SeedSequence]:
    """Seeds of replications 0 … replications-1; equal to ``SeedSequence(root).spawn(replications)``."""
    return [replication_seed(root, i) for i in range(replications)]


def seed_record(root: int, replication: int) -> dict[str, Any]:
    """The stored description of a replication seed: ``{"root": int, "replication": int}``."""
    return {"root": int(root), "replication": int(replication)}


def seed_json(root: int, replication: int) -> str:
    """:func:`seed_record` as the JSON text stored in ``runs.seed``."""
    return json.dumps(seed_record(root, replication), sort_keys=True)


def seed_from_json(text: str) -> np.random.SeedSequence:
    """Rebuild the SeedSequence of a stored ``runs.seed`` value."""
    record = json.loads(text)
    return replication_seed(int(record["root"]), int(record["replication"]))
