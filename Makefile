# Taskboard: `make run` runs the whole stack, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast lint bench clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "$(PYTHON) -m venv failed: \
	install Python 3.11 or newer with its venv module (Debian, Ubuntu: apt-get install python3-venv)"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip

# The project itself is installed editable: the `taskboard` command, and the entry points
# through which other packages add processors.
$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/python -m webapp.stack

# Every test, none skipped: tests/setup.sh installs the programs they need (as root) or says
# which to install.
test: $(VENV)/.installed-dev
	tests/setup.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The unit tier: the app in this process and pure logic, on one Redis of the tests' own.
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# docker-compose.yml up for real on a Docker engine (its own when none answers), checked
# through nginx and torn down; as root, it apt-installs docker.io, docker-compose, debootstrap.
.PHONY: test-cluster
test-cluster: $(VENV)/.installed-dev
	PYTHON=$(abspath $(BIN)/python) deploy/cluster/test.sh

# make run (until ready, one job, stopped) and make test in bare Debian 12 and 13 containers, from
# a clone of HEAD, on a Docker engine of its own (root). FRESH_DISTS=bookworm (or trixie) picks one.
.PHONY: test-fresh
test-fresh:
	deploy/fresh/test.sh
