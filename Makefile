# Stable commands. `make bench` and `make test` set up .venv on first use.
PYTHON     ?= python3
VENV       ?= .venv
# A CPU build of torch is installed first so that the project's torch range adds no CUDA packages.
# On a GPU machine, override: make bench TORCH_SPEC='torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128'
TORCH_SPEC ?= torch==2.13.0
ARGS       ?=
# optional extras to install: `make setup EXTRAS=dev,models` adds the minilm workload's pretrained model
# (the standard models need only transformers, a dependency); `gpu`: ONNX Runtime's CUDA build (onnxruntime-gpu)
EXTRAS     ?= dev
# default: the quick matrix; full: also the cases marked `full` (large models, max-autotune). ("profile" names a
# simulated device's TOML profile only; the tier was called PROFILE before.)
TIER       ?= default
ifeq ($(origin PROFILE),command line)
$(error PROFILE=$(PROFILE) is now TIER=$(PROFILE): TIER is default or full)
endif
ifeq ($(filter default full,$(TIER)),)
$(error TIER=$(TIER) is not a tier: TIER is default or full)
endif
# `harness` marks benchmarks of accelbench itself (the report's build time): `make bench-report` runs them
TIER_ARGS  := -m "$(if $(filter full,$(TIER)),not harness,not full and not harness)"
# `:=` evaluates the date once, so the benchmark and its report use the same file
RUN        := $(or $(RUN),$(shell date +%Y%m%d-%H%M%S))
RESULTS    ?= results/$(RUN).json
# your own model as the matrix's one workload: MODEL=package.module:factory (importable from here) or MODEL=file.pt2
# (workloads/user.py; README "Your own model"); the standard models and training benchmarks then stay out
MODEL      ?=
export ACCELBENCH_MODEL := $(MODEL)
BENCH_PATHS := $(if $(MODEL),benchmarks/test_inference.py,benchmarks)
# a case that runs longer than this (seconds; set-up included) becomes an error row and the run goes on
CASE_TIMEOUT ?= 900
# regression tracking: BASE=baseline file (default: benchmarks/baselines/<machine-id>.json), NEW=an existing run
# instead of a fresh one, FORCE=1 to compare runs of different machines, BASELINE=where `make baseline` saves
BASE       ?=
NEW        ?=
FORCE      ?=
BASELINE   ?=
# make regress: no re-check pair of suspects starts after this many seconds (default 900, tools/recheck.py)
RECHECK_S  ?=
# a price file (TOML) for the report's cost per inference: make report PRICES=prices.toml (README: Prices)
PRICES     ?=
REPORT_ARGS := $(if $(PRICES),--prices $(PRICES))
# make screenshot REPORT=reports/out/<run>/index.html (default: the newest report)
REPORT     ?=

PY    := $(VENV)/bin/python
comma := ,
# EXTRAS=dev,gpu: ONNX Runtime's CUDA build. It installs into the same `onnxruntime` package as the CPU build (a
# dependency), so the CPU build is removed and the GPU build's files written again over what that removal took.
ORT_GPU := $(PY) -m pip uninstall --quiet -y onnxruntime && $(PY) -m pip install --quiet --force-reinstall --no-deps onnxruntime-gpu
# pip compiles the installed packages' bytecode one file at a time; this does it on every core once they are in
# (a fresh set-up, 2-core VM: torch alone 38 s -> 24 s). Bytecode matters where PYTHONDONTWRITEBYTECODE is set.
define COMPILE_ALL
import compileall, sysconfig
for d in sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")}):
    compileall.compile_dir(d, quiet=2, workers=0)
endef
export COMPILE_ALL
# the set-up stamp names what was installed: a new TORCH_SPEC or EXTRAS installs again
STAMP := $(VENV)/.accelbench-installed-$(shell printf '%s|%s' '$(subst ','"'"',$(TORCH_SPEC))' '$(EXTRAS)' | sha1sum | cut -c1-12)
# warm-up before timing (up to 50 calls or max-time: the case's first call has already run), rounds capped
BENCH_OPTS := --benchmark-warmup=on --benchmark-warmup-iterations=50 --benchmark-min-rounds=15 \
              --benchmark-max-time=0.15 --benchmark-columns=median,iqr,rounds --benchmark-sort=name \
              --timeout=$(CASE_TIMEOUT)

# make smoke: pytest-xdist workers, each running whole workloads (a workload's cases share trained weights, applied
# models and captures: conftest.py's scheduler); smoke times nothing, so they run side by side (0: one process), on
# one torch thread each, inductor compiling in-process (threads of two workers on two cores spin against each other).
SMOKE_WORKERS ?= 2
# make test: pytest-xdist workers (the tests time nothing; 0 runs them in one process)
TEST_WORKERS ?= 2
# make test: which tests. quick: all but those marked `slow` (pytest subprocess runs, model training; 1.4 minutes
# on a fresh clone on the project's VM with an AVX-512 host; on an AVX2-only one 2.5 with the disk's files in the page
# cache, 3.1 on a fresh clone, 3.6 after dropping the page cache); slow: only those; all:
# every test. CI runs quick, then slow. An -m in ARGS replaces the tier's (pytest keeps the last -m):
# make test TEST_TIER=all ARGS='-m "not cuda"'.
TEST_TIER  ?= quick
ifeq ($(filter quick slow all,$(TEST_TIER)),)
$(error TEST_TIER=$(TEST_TIER) is not a test tier: TEST_TIER is quick, slow or all)
endif
TEST_MARKS := $(if $(filter quick,$(TEST_TIER)),-m "not slow",$(if $(filter slow,$(TEST_TIER)),-m slow))

# bench-distributed: DDP under torchrun for 1..NPROC processes, then the pipeline over NPROC; PORT=0: torchrun picks one
NPROC      ?= 2
PORT       ?= 0

.PHONY: screenshot gpu-check setup bench bench-distributed bench-report report smoke test clean calibrate validate baseline regress

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-compile $(TORCH_SPEC)
	$(PY) -m pip install --quiet --no-compile -e '.[$(EXTRAS)]'
	$(if $(filter gpu,$(subst $(comma), ,$(EXTRAS))),$(ORT_GPU))
	@$(PY) -c "$$COMPILE_ALL"
	@touch $@

# Runs the matrix, then the report even when some case failed; exits with pytest's status. accelbench.supervise
# keeps going when a case kills the process (segfault, out-of-memory killer): that case becomes an error row.
bench: $(STAMP)
	@mkdir -p $(dir $(RESULTS))
	@$(if $(PRICES)$(ACCELBENCH_PRICES),$(PY) -m reports --check-prices $(REPORT_ARGS) || exit 2,:)  # a bad price file is refused before the run, not after (with none, nothing to check: 1.7 s saved)
	@$(PY) -m accelbench.supervise $(BENCH_PATHS) -p no:cacheprovider $(TIER_ARGS) $(BENCH_OPTS) --benchmark-json=$(RESULTS) $(ARGS); \
	status=$$?; \
	if [ $$status -eq 5 ] || [ $$status -eq 4 ]; then exit $$status; fi; \
	$(PY) -m reports $(RESULTS) $(REPORT_ARGS) || exit $$?; \
	exit $$status

# Runs the matrix (as `make bench`) and saves it as this machine's baseline; a run that did not finish is refused.
baseline: $(STAMP)
	@$(MAKE) --no-print-directory bench RUN=$(RUN) || test $$? -ne 5 || exit 5; \
	$(PY) -m tools.gate baseline $(RESULTS) $(if $(BASELINE),--to $(BASELINE))

# Runs the matrix (or takes NEW=<file>) and compares it with BASE: writes regress.md, exits 1 on a regression.
# Cases whose latency regressed are measured again in fresh processes beside the baseline's own code (a git worktree
# of its commit, 4 pairs in ABBA order; tools/recheck.py); only a regression every pair repeats counts.
regress: $(STAMP)
	@$(if $(NEW),,$(MAKE) --no-print-directory bench RUN=$(RUN) || test $$? -ne 5 || exit 5;) \
	$(PY) -m tools.gate regress $(or $(NEW),$(RESULTS)) $(if $(BASE),--base $(BASE)) $(if $(FORCE),--force) \
	  --pytest-args "$(BENCH_OPTS)" $(if $(RECHECK_S),--recheck-budget-s $(RECHECK_S))

# Distributed training (parallel/): rows merged into $(RESULTS), so `RUN=<same run>` joins a `make bench` run's report.
bench-distributed: $(STAMP)
	@mkdir -p $(dir $(RESULTS))
	@$(PY) -m parallel --nproc $(NPROC) --port $(PORT) --out $(RESULTS) $(ARGS); \
	status=$$?; \
	if [ $$status -eq 2 ] || [ ! -s $(RESULTS) ]; then exit $$status; fi; \
	$(PY) -m reports $(RESULTS) $(REPORT_ARGS) || exit $$?; \
	exit $$status

# From saved results, no re-run: RESULTS=path, else the newest file in results/.
report: $(STAMP)
	@$(PY) -m reports $(if $(filter command line environment,$(origin RESULTS)),$(RESULTS)) $(REPORT_ARGS)

# The report's build time on 10,000 synthetic result rows (benchmarks/test_report_scale.py), saved in results/harness/.
bench-report: $(STAMP)
	@mkdir -p results/harness
	@$(PY) -m pytest benchmarks/test_report_scale.py -p no:cacheprovider -m harness \
	  --benchmark-columns=min,rounds --benchmark-json=results/harness/report-scale-$(RUN).json $(ARGS)

# Every case once, untimed: a quick check that the whole matrix runs.
smoke: $(STAMP)
	@$(if $(filter-out 0,$(SMOKE_WORKERS)),OMP_NUM_THREADS=1 TORCHINDUCTOR_COMPILE_THREADS=1) $(PY) -m pytest $(BENCH_PATHS) -p no:cacheprovider $(TIER_ARGS) --benchmark-disable --timeout=$(CASE_TIMEOUT) \
	  $(if $(filter-out 0,$(SMOKE_WORKERS)),-n $(SMOKE_WORKERS) --dist loadscope) $(ARGS)

# Measures this machine (GEMM rates, cache bandwidths, overheads) into devices/profiles/sim-cpu.toml.
calibrate: $(STAMP)
	@$(PY) -m tools.calibrate

# The cost model against the real CPU: runs the cpu and sim-cpu cases (or takes RESULTS=path), then compares them.
validate: $(STAMP)
	@$(if $(filter command line environment,$(origin RESULTS)),, \
	  $(MAKE) --no-print-directory bench RUN=$(RUN) ARGS='-k "cpu and not cuda" $(ARGS)' || test $$? -ne 5 || exit 5;) \
	$(PY) -m tools.validate $(RESULTS)

# On a GPU machine (CUDA torch via TORCH_SPEC): the CUDA cases, the CUDA tests and the nearest simulated profile against
# the card, within 10 minutes, into results/gpu-check-<run>/summary.md (tools/gpu_check.py). Without a GPU: says why.
gpu-check: $(STAMP)
	@$(PY) -m tools.gpu_check --out results/gpu-check-$(RUN)

# the newest report's first screen (1400x900, headless Chromium) into docs/screenshots/first-screen.png, and its
# recommendations and digits-cnn heatmap sections alone (the README's and docs/reports.md's), each if it changed
screenshot: $(STAMP)
	@$(PY) -m tools.screenshot $(if $(REPORT),$(REPORT)) && \
	$(PY) -m tools.screenshot $(if $(REPORT),$(REPORT)) --section recommendations --size 1500x1000 && \
	$(PY) -m tools.screenshot $(if $(REPORT),$(REPORT)) --section heatmap-digits-cnn --size 1400x1500

test: $(STAMP)
	@$(PY) -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS)) $(TEST_MARKS) $(ARGS); \
	status=$$?; \
	if [ $$status -eq 5 ] && [ "$(TEST_TIER)" = quick ]; then \
	  echo "make test: no quick test was selected; tests marked slow run with TEST_TIER=slow or TEST_TIER=all" >&2; fi; \
	exit $$status

clean:
	rm -rf results reports/out .pytest_cache
