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
# rliable (trainer report) is published as a source archive whose setup.py imports pkg_resources, which
# setuptools 81 and newer no longer have: pip's isolated build (newest setuptools) fails on a clean machine.
# So it is built first, in the venv, with a setuptools that still has it, without its dependencies: the
# project install then resolves them with the rest (numpy below 2 for procgen-mirror) (docs/install.md).
RLIABLE_BUILD := "setuptools>=61,<81" wheel
RLIABLE := "rliable>=1.2"
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	args=$$($(PYTHON) scripts/torch_choice.py --version $(TORCH_VERSION) "$(TORCH)") && eval "$(BIN)/pip install -q $$args"
	$(BIN)/pip install -q $(RLIABLE_BUILD) && $(BIN)/pip install -q --no-build-isolation --no-deps $(RLIABLE)
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# A second test run of the Atari, model and trainer tests in a venv with numpy 2 and no procgen (the GPU
# machines have numpy 2; procgen has no numpy-2 wheel). Its own explicit list, not pyproject's deps.
NP2 ?= .venv-np2
NP2_STAMP := $(NP2)/.installed
NP2_TESTS := tests/test_envs.py tests/test_models.py tests/test_losses.py tests/test_advantages.py \
	tests/test_motivation.py tests/test_precision.py tests/test_sticky_actions.py tests/test_sndv_preset.py \
	'tests/test_trainer.py::test_smoke_montezuma[snd-v]' 'tests/test_trainer.py::test_smoke_montezuma[rnd]'

$(NP2_STAMP):
	$(PYTHON) -m venv $(NP2)
	args=$$($(PYTHON) scripts/torch_choice.py --version $(TORCH_VERSION) "$(TORCH)") && eval "$(NP2)/bin/pip install -q $$args"
	$(NP2)/bin/pip install -q "numpy>=2" "gymnasium>=1.0,<2" "ale-py>=0.10,<0.13" safetensors tyro tqdm rich \
	  tensorboard opencv-python-headless pytest pytest-timeout
	$(NP2)/bin/pip install -q --no-deps -e .
	touch $(NP2_STAMP)

.PHONY: install play test test-numpy2 bench
install: $(STAMP)

play: $(STAMP)
	$(BIN)/snd-player

# The numpy-2 venv is built beside the main one (each pip mostly keeps one core busy): CI's set-up is the
# longer of the two instead of their sum, about a minute and a half less on 2 cores.
test:
	$(MAKE) -j2 $(STAMP) $(NP2_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=0; fi; exit $$rc
	$(MAKE) test-numpy2

test-numpy2: $(NP2_STAMP)
	$(NP2)/bin/python -c "import numpy; assert int(numpy.__version__.split('.')[0]) >= 2, numpy.__version__"
	SND_TESTS_WITHOUT_PROCGEN=1 QT_QPA_PLATFORM=offscreen $(NP2)/bin/python -m pytest -q $(NP2_TESTS)

bench: $(STAMP)
	$(BIN)/trainer bench --env ALE/MontezumaRevenge-v5 --algo rnd --num-envs 32
