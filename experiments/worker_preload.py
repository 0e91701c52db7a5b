"""What a pool's fork server imports before it forks the workers (issue 11; docs/design.md
"Warm pool workers", "A quick start and a quick exit").

Importing this module imports, in this order:

1. **Mesa, from the top of the import stack.** Mesa's ``mesa.model`` walks the whole
   stack with ``inspect.stack()`` when it is imported (``mesa.mesa_logging``'s
   ``create_module_logger`` and ``method_logger``), reading every frame's source file and
   scanning ``sys.modules`` once per frame: imported from deep inside the run path's own
   imports that cost ≈ 0.22 s, from the top ≈ 0.07 s (``python -X importtime``).
2. **The run path**, :data:`experiments.executors.WORKER_PRELOAD`.
3. Then it **freezes the collector** (``gc.freeze``): the fork server only forks, and
   exits when the runner does. Unfrozen, its interpreter's last collections went over
   every object of the preloaded modules (≈ 0.25 s) — time the runner's caller waits
   when it reads the runner's output through a pipe, since the fork server inherits the
   runner's standard streams. A worker's first run unfreezes them (``model.collector``).

Two consequences. Importing this module anywhere else freezes that whole process's
collector too: only the fork server should. And the preload is all or nothing: the fork
server ignores a preload entry that fails to import, so an ``ImportError`` here leaves the
workers to import the run path themselves, each before its first run (slower, not wrong).
"""

from __future__ import annotations

import gc
import importlib

import mesa  # noqa: F401  (first: see 1. above)

from experiments.executors import WORKER_PRELOAD

for _name in WORKER_PRELOAD:
    importlib.import_module(_name)

gc.freeze()
