# microgov — the two commands of the README's quick start are `make demo` and `make test`.
# Both create the virtual environment on first use (Python 3.12, chosen by .python-version).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The demo needs only the package; the tests need the developer toolchain (the dev extra).
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck imports unit slow bench clean

# The environment is made afresh from $(PYTHON) relinked statically where its build allows
# (pyenv's shared-libpython builds: the same objects, 5-11 % faster; tools/relink_python.py
# says why not otherwise; MICROGOV_RELINK=0 keeps $(PYTHON) as it is). Afresh: `-m venv` on
# an existing environment would keep its old interpreter links.
$(RUN_STAMP): pyproject.toml setup.py model/_engine.pyx $(wildcard model/_*.pxi model/_*.h model/_*.cpp) tools/relink_python.py  # the install compiles the engine (setup.py INCLUDES)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Python 3.12+ is required (pyenv: see .python-version)"'
	rm -rf "$(VENV)"
	interpreter="$$($(PYTHON) tools/relink_python.py "$(VENV)/interpreter")" && "$$interpreter" -m venv "$(VENV)"
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@$(BIN)/python -c 'import model.events as e; print("engine:", e.BACKEND)'
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

## demo: compare the bundled reform options on the baseline street and write the report.
## Each content of the experiment and scenario files, and each version of the model's code
## (experiments/code_state.py), gets its own results folder, results/compare_reforms-<hash8>/
## (so an edited file or changed code never meets stale results), and
## results/compare_reforms-latest points at the folder of the last demo.
DEMO_EXPERIMENT := experiments/compare_reforms.toml
DEMO_INPUTS := $(DEMO_EXPERIMENT) $(sort $(wildcard scenarios/*.toml))
demo: $(RUN_STAMP)
	@hash=$$($(BIN)/python -c "import hashlib, sys; from experiments.code_state import code_digest; print(hashlib.sha256(b''.join(open(f, 'rb').read() for f in sys.argv[1:]) + code_digest().encode()).hexdigest()[:8])" $(DEMO_INPUTS)); \
	out=results/compare_reforms-$$hash; \
	echo "Results folder: $$out (content hash of $(DEMO_EXPERIMENT), scenarios/*.toml and the model's code)"; \
	$(BIN)/microgov compare $(DEMO_EXPERIMENT) --out $$out --resume && \
	$(BIN)/microgov report $$out && \
	ln -sfn compare_reforms-$$hash results/compare_reforms-latest && \
	echo "Report: results/compare_reforms-latest/report/report.html"

## test: linters, type checker, layer contracts, then the test suite (slow checks excluded)
test: lint typecheck imports unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest -m "not slow" -q

slow: $(STAMP)
	$(BIN)/pytest -m slow -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_scenarios.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
	rm -f model/_engine.c model/_engine*.so
