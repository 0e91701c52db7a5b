"""The code a run's results depend on, as one digest (a robustness review, seventeenth round
of issue 11; docs/design.md "Hardening the runner and store").

Resuming an experiment adds runs to the ones stored. If the model's code changed in
between, the folder would hold runs of two versions of the model under one name and seed
rule, and its report would wrongly say that the same seeds give the same results. The
store refuses such a resume (:meth:`experiments.store.ResultStore.prepare`), as it
refuses an edited experiment or scenario file, by comparing :func:`code_digest` with the
one the folder's first session recorded.

What counts: every source file of the ``model`` package (its Python modules and the
compiled engine's ``.pyx``), ``experiments/runs.py`` (what a run returns),
``experiments/seeds.py`` (the seed a replication gets), ``experiments/case_sinks.py``
(what a run's case log becomes), the Python version and the versions of the packages on
a run's path whose code can change a result (NumPy's generators, SciPy, Mesa, NetworkX,
pandas, Cython). Not counted: the runner, the store, the command line and the analysis
(they do not change a run's outputs, though the runner bins the stored distributions),
compiled files (built from the ``.pyx`` counted), plug-in policies loaded by
``"package.module:Class"`` (outside the project), and the workers of a Dask cluster
(only the runner's own code is checked). A change to a comment counts too: the digest
cannot tell it from a change of behaviour, so it asks for a new folder.
"""

from __future__ import annotations

import functools
import hashlib
import platform
from importlib import metadata, util
from pathlib import Path

RUN_PATH_PACKAGES = ("numpy", "scipy", "mesa", "networkx", "pandas", "Cython")
RUN_PATH_FILES = ("runs.py", "seeds.py", "case_sinks.py")  # of experiments/
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
    return [*files, *((f"experiments/{name}", _EXPERIMENTS / name) for name in RUN_PATH_FILES)]


@functools.cache
def code_digest() -> str:
    """The sha256 (hex) of the model's source, :data:`RUN_PATH_FILES`, the Python version
    and the versions of :data:`RUN_PATH_PACKAGES`: equal digests, the same code behind a
    run's results."""
    digest = hashlib.sha256(f"python={platform.python_version()}\0".encode())
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
