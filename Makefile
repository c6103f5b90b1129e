# Two commands do all the set-up on a fresh machine with Python 3.11, 3.12 or 3.13:
#   make play   installs into .venv (first time only) and opens the player on the bundled demo checkpoint
#   make test   installs into .venv (first time only) and runs lint, the import contracts and the tests
# The first of python3.11, 3.12, 3.13 that runs (a pyenv shim exists for versions that do not).
PYTHON ?= $(or $(firstword $(foreach p,python3.11 python3.12 python3.13,$(shell $(p) -c "print('$(p)')" 2>/dev/null))),python3.11)
VENV ?= .venv
# Which torch goes into the venv (scripts/torch_choice.py): auto (CUDA build with an NVIDIA GPU, CPU build
# without), cpu, cuda, or pip arguments, e.g. TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126".
# Read only when the venv is created: `rm -rf .venv` first to change it.
TORCH ?= auto
TORCH_VERSION ?= 2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	args=$$($(PYTHON) scripts/torch_choice.py --version $(TORCH_VERSION) "$(TORCH)") && eval "$(BIN)/pip install -q $$args"
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

.PHONY: install play test bench
install: $(STAMP)

play: $(STAMP)
	$(BIN)/snd-player

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=0; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/trainer bench --env ALE/MontezumaRevenge-v5 --algo rnd --num-envs 32
