# The README's two commands: `make book` (PROFILE=auto, cpu, gpu or smoke) and `make test`.
# Everything runs in .venv, created on first use from requirements.txt.
SHELL   := bash
PROFILE ?= auto
PYTHON  ?= $(shell command -v python3.11 || command -v python3)
VENV    := .venv
# Offline machines: the JPEG pack beside the checkout is the fallback source of CIFAR-10 (the
# original, from torchvision, is still preferred where it is found or can be downloaded).
SHARED_PACK := $(wildcard $(CURDIR)/../shared/data/cifar10_jpeg.npz)
ifneq ($(SHARED_PACK),)
export CIFAR10_PACK ?= $(abspath $(SHARED_PACK))
endif
PY      := $(VENV)/bin/python
# make book BUDGET=MINUTES: training stops before the budget is spent; the same command resumes.
BUDGET  ?=
# gpu-check runs where the GPU is: this checkout's .venv if it exists, else the machine's python3
# (an offline GPU machine with torch; pytest from ../shared/tools/device-wheels.sh pytest).
GPU_PY  ?= $(if $(wildcard $(PY)),$(PY),python3)
RESULTS ?= bench/results

.PHONY: .venv args book test data bench gpu-check clean

# The environment: requirements, this package (editable), and a python3 kernelspec for papermill.
$(VENV)/.stamp: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install -e . --no-deps
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)"
	touch $@

.venv: $(VENV)/.stamp

# PROFILE and BUDGET checked before anything is installed (a typo should not cost a venv first).
args:
	@case "$(PROFILE)" in auto|cpu|gpu|smoke) ;; \
	  *) echo "make: PROFILE=$(PROFILE) is not one of auto, cpu, gpu, smoke" >&2; exit 2;; esac
	@[[ -z "$(BUDGET)" || "$(BUDGET)" =~ ^[0-9]*\.?[0-9]+$$ ]] \
	  || { echo "make: BUDGET=$(BUDGET) is not a number of minutes (e.g. BUDGET=30)" >&2; exit 2; }

# Decode CIFAR-10, execute every notebook into book/, write the scorecard, build _build/html.
book: args $(VENV)/.stamp
	$(PY) -m helpers book --profile $(PROFILE) $(if $(BUDGET),--budget $(BUDGET))

# Unit tests, then every notebook at profile smoke in a scratch book built with -W.
test: $(VENV)/.stamp
	$(PY) -m pytest -q tests
	$(PY) -m helpers smoke

data: $(VENV)/.stamp
	$(PY) -m helpers data

bench: $(VENV)/.stamp
	@shopt -s nullglob; files=(bench/*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "bench: no benchmarks in bench/"; fi; \
	for f in "$${files[@]}"; do echo "== $$f"; $(PY) "$$f" || exit 1; done

# On a CUDA machine (about 5 minutes on one H100): the tests marked `cuda` (determinism across group
# sizes and across a resume, the one-ulp change in fp32, precision restored, compiled vs eager), then
# the training benchmark (bench/results/). Without CUDA: one line, exit 0.
gpu-check:
	@$(GPU_PY) -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null \
	  || { echo "gpu-check: no CUDA device on this machine; nothing to check"; exit 0; } ; \
	set -e; mkdir -p $(RESULTS); \
	$(GPU_PY) -m pytest -q -m cuda -p no:cacheprovider tests/test_cuda.py; \
	$(GPU_PY) bench/bench_train.py --json $(RESULTS)/train-$$($(GPU_PY) -c "import torch; print(torch.cuda.get_device_name(0).replace(' ', '-'))").json; \
	$(GPU_PY) bench/bench_workers.py --json $(RESULTS)/workers-$$($(GPU_PY) -c "import torch; print(torch.cuda.get_device_name(0).replace(' ', '-'))").json

# Build outputs and caches of tools only: data/ (the dataset and runs caches) is never touched.
clean:
	rm -rf _build .pytest_cache book/*.partial.ipynb
	find . \( -path ./.venv -o -path ./data \) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
