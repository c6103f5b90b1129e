# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make play   installs into .venv (first time only) and opens the player on the bundled demo checkpoint
#   make test   installs into .venv (first time only) and runs lint, the import contracts and the tests
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
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
