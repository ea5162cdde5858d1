# Alilo Privacy Portal. `make run` starts the portal; `make test` runs every check CI runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# `make bench` measures at SIZE=full (1,000,000 rows); `make bench SIZE=small` is the quick pass.
SIZE ?= full
MAKEMESSAGES_ARGS := --no-obsolete --no-location --no-wrap -l kk -l ru -i .venv -i var -i tests -i bench -i scripts -i deploy

# requirements/lock.txt pins what the portal runs on (the Docker image installs it); requirements/dev.txt pins
# that and the dev extras, within which `make run` and `make test` install. `make lock` rewrites both.
LOCK := $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --custom-compile-command "make lock"

.PHONY: run test lint messages bench lock clean screenshots

$(VENV)/.installed: pyproject.toml requirements/dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -c requirements/dev.txt -e ".[dev]"
	@touch $@

run: $(VENV)/.installed
	@$(PY) scripts/run.py

test: $(VENV)/.installed
	@bash scripts/test-services.sh
	@$(PY) scripts/compile_messages.py
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run
	@$(PY) -m pytest -q --create-db $(PYTEST_ARGS)
	@# The user flows again on `make run`'s embedded default: SQLite, a file broker and a file cache.
	@$(PY) -m pytest -q --create-db --ds=config.settings.test_sqlite tests/flows
	@# The benchmarks must keep working: a short pass that fails only when a scenario breaks, not on a ratio.
	@$(PY) -m bench.run --size small

bench: $(VENV)/.installed
	@bash scripts/test-services.sh
	@$(PY) -m bench.run --size $(SIZE)

# Faults, load and hostile input, with the load at full length; prints each scenario's counts.
reliability: $(VENV)/.installed
	@bash scripts/test-services.sh
	@rm -f var/reliability/*.json
	@RELIABILITY_LOAD_SECONDS=$${RELIABILITY_LOAD_SECONDS:-60} RELIABILITY_EXAMPLES=$${RELIABILITY_EXAMPLES:-100} \
	  RELIABILITY_ESP_REQUESTS=$${RELIABILITY_ESP_REQUESTS:-500} \
	  RELIABILITY_SERVICE_CALLS=$${RELIABILITY_SERVICE_CALLS:-200} $(PY) -m pytest -q -m reliability tests/reliability $(PYTEST_ARGS); \
	  status=$$?; $(PY) -m tests.reliability.report || status=1; exit $$status

# The README's pictures, taken by the browser tests (phone: home, policy, withdrawal form with an error, status
# page; desktop: admin dashboard, a request's workflow) into docs/screenshots/.
screenshots: $(VENV)/.installed
	@bash scripts/test-services.sh
	@$(PY) scripts/compile_messages.py
	@SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -q --create-db \
	  tests/browser/test_public_experience.py::test_answer_form_on_the_status_page_and_the_pictures \
	  "tests/browser/test_public_experience.py::test_withdrawal_form_errors_follow_the_govuk_pattern_on_a_phone[en]" \
	  tests/browser/test_admin_experience.py::test_officer_works_a_request_on_the_desktop

lint: $(VENV)/.installed
	@$(PY) -m ruff check --fix .
	@$(PY) -m ruff format .

messages: $(VENV)/.installed
	@$(PY) manage.py makemessages $(MAKEMESSAGES_ARGS)
	@$(PY) scripts/compile_messages.py

# Keeps each pin that pyproject.toml still allows; `make lock UPGRADE=1` takes the newest release of everything.
lock: $(VENV)/bin/uv
	@$(LOCK) $(if $(UPGRADE),--upgrade) pyproject.toml -o requirements/lock.txt
	@$(LOCK) $(if $(UPGRADE),--upgrade) --extra dev -c requirements/lock.txt pyproject.toml -o requirements/dev.txt

$(VENV)/bin/uv:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet -c requirements/dev.txt uv

clean:
	rm -rf var/broker var/broker-control var/cache var/celerybeat-schedule* var/test-sqlite
