# Two commands on a fresh machine: `make run` (set up, run the main job) and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
EXPERIMENT ?= brief-measures
SCENARIO ?= baseline
SEED ?= 0

.PHONY: setup run app scenario test test-all lint typecheck bench golden reproduce clean

setup:  ## create .venv (Python >= 3.12) and install jjjsim with dev extras
	@tools/bootstrap.sh

run: setup  ## the main job: baseline vs each measure of the brief (30 paired seeds), comparison table, HTML report
	@$(BIN)/jjjsim sweep $(EXPERIMENT) --out results/$(EXPERIMENT) --resume
	@$(BIN)/jjjsim compare results/$(EXPERIMENT)
	@$(BIN)/jjjsim report results/$(EXPERIMENT)

app: setup  ## the live app on http://127.0.0.1:8050/ (levers, a running model against its baseline)
	@$(BIN)/jjjsim app

scenario: setup  ## one scenario (default: baseline), with its by-region summary
	@$(BIN)/jjjsim run $(SCENARIO) --seed $(SEED)

test: setup  ## the test suite (fast: everything but tests marked slow), one pytest worker per core (pytest-xdist)
	@$(BIN)/python -m pytest -m "not slow" -q -n auto

test-all: setup  ## every test, slow ones included
	@$(BIN)/python -m pytest -q -n auto

lint: setup  ## ruff (lint and format)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

typecheck: setup  ## mypy over the whole package (tools/typecheck.py maps the package-dir layout for it)
	@$(BIN)/python tools/typecheck.py

bench: setup  ## speed benchmarks: one run vs Mesa's examples; numpy floor; scaling to 50; sweeps; the report
	@$(BIN)/python bench/bench.py
	@$(BIN)/python bench/kernel.py
	@$(BIN)/python bench/bench_scaling.py
	@$(BIN)/python bench/bench_sweep.py
	@$(BIN)/python bench/bench_report.py

golden: setup  ## refresh the golden-file regression data on purpose
	@$(BIN)/python tools/refresh_golden.py

reproduce: setup  ## every published experiment E1-E7 into results/ (model v2 on 2 cores: E1 6, E2 3, E3 2, E6 6, E7 16, E5 11 min measured; E4 about 1.5 h estimated), then docs/img (figures and screenshots)
	@for e in E1 E2 E3 E4 E6 E7; do $(BIN)/jjjsim reproduce $$e --out results/$$e || exit 1; done
	@$(BIN)/jjjsim reproduce E5 --out results/E5-calibration
	@$(BIN)/python tools/docs_figures.py
	@$(BIN)/jjjsim report results/E1/brief-measures
	@$(BIN)/python tools/screenshots.py results/E1/brief-measures

clean:
	rm -rf $(VENV) results .pytest_cache build dist *.egg-info
