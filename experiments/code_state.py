"""The code a run's results depend on, as one digest (a robustness review, seventeenth round
of issue 11; docs/design.md "Hardening the runner and store").

Resuming an experiment adds runs to the ones stored. If the model's code changed in
between, the folder would hold runs of two versions of the model under one name and seed
rule, and its report would wrongly say that the same seeds give the same results. The
store refuses such a resume (:meth:`experiments.store.ResultStore.prepare`), as it
refuses an edited experiment or scenario file, by comparing :func:`code_digest` with the
one the folder's first session recorded.

What counts: every source file of the ``model`` package (its Python modules and the
compiled engine's ``.pyx``), ``experiments/runs.py`` (what a run returns), and the
versions of the packages on a run's path whose code can change a result (NumPy's
generators, SciPy, Mesa, NetworkX, pandas). Not counted: the runner, the store, the
command line and the analysis (they do not change what a run returns), and compiled
files (built from the ``.pyx`` counted).
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata, util
from pathlib import Path

RUN_PATH_PACKAGES = ("numpy", "scipy", "mesa", "networkx", "pandas")
_EXPERIMENTS = Path(__file__).resolve().parent


def code_files() -> list[tuple[str, Path]]:
    """The source files :func:`code_digest` reads, by a name that does not depend on where
    the tree is (``model/…``, ``experiments/runs.py``), in a fixed order."""
    spec = util.find_spec("model")  # located, not imported (no model code runs)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the model package cannot be found on the import path")
    root = Path(next(iter(spec.submodule_search_locations))).resolve()
    files = sorted(
        (f"model/{p.relative_to(root).as_posix()}", p)
        for p in root.rglob("*")
        if p.suffix in (".py", ".pyx") and p.is_file() and "__pycache__" not in p.parts
    )
    return [*files, ("experiments/runs.py", _EXPERIMENTS / "runs.py")]


@functools.cache
def code_digest() -> str:
    """The sha256 (hex) of the model's source, ``experiments/runs.py`` and the versions of
    :data:`RUN_PATH_PACKAGES`: equal digests, the same code behind a run's results."""
    digest = hashlib.sha256()
    for name, path in code_files():
        digest.update(f"{name}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for package in RUN_PATH_PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "missing"
        digest.update(f"{package}={version}\0".encode())
    return digest.hexdigest()
