# Agora. `make run` installs, migrates, loads the demo content and serves it on 127.0.0.1:8000.
# `make test`: the main suite on SQLite with Whoosh (no browser, load or fault tests).
# `make test-e2e`: browser (Chromium), accessibility, load and fault tests against gunicorn.
# `make test-postgres`: the main suite again on PostgreSQL with PostgreSQL full-text search
# (PG_TEST_URL names a database the suite may empty). `.ci/run` runs all three.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 8000
# pybabel skips folders starting with _ by default, which hid templates/_macros/.
I18N_IGNORE_DIRS := .* __pycache__ build dist instance artifacts node_modules
PG_TEST_URL ?= postgresql+psycopg://agora:agora@127.0.0.1:5432/agora_test

.PHONY: run serve test test-postgres test-e2e test-all install i18n compile-translations migrate demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $(STAMP)

install: $(STAMP) compile-translations

compile-translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d translations -D messages 2>&1 | tail -n 2

i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --ignore-dirs "$(I18N_IGNORE_DIRS)" -k _l -k lazy_gettext -k ngettext:1,2 --no-location --sort-output -w 100 -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations -D messages -w 100 --no-fuzzy-matching --ignore-obsolete
	$(MAKE) compile-translations

migrate: install
	$(FLASK) db upgrade

demo: migrate
	AGORA_MAIL_DOMAIN=$${AGORA_MAIL_DOMAIN:-agora.localhost} $(FLASK) forum demo --if-empty

run: demo
	$(FLASK) search reindex --if-stale
	@echo "Agora on http://$(HOST):$(PORT)  (Ctrl+C stops it)"
	@echo "Demo: moderators and admins need no second factor here (AGORA_STAFF_SECOND_FACTOR=0); a real site keeps it on."
	@echo "Mail-in demo: notification mails in instance/mail/ carry reply addresses @$${AGORA_MAIL_DOMAIN:-agora.localhost} (flask mail receive < file.eml posts one)."
	export AGORA_MAIL_DOMAIN=$${AGORA_MAIL_DOMAIN:-agora.localhost}; \
	$(BIN)/python -m forum.jobs.runner --app wsgi & JOBS=$$!; \
	trap "kill $$JOBS 2>/dev/null" EXIT INT TERM; \
	AGORA_STAFF_SECOND_FACTOR=$${AGORA_STAFF_SECOND_FACTOR:-0} $(BIN)/gunicorn --config gunicorn.conf.py --workers 2 --bind $(HOST):$(PORT) --access-logfile - wsgi:app

test: install
	$(BIN)/python -m pytest -q -m "not e2e" tests

test-postgres: install
	AGORA_TEST_DATABASE_URL=$(PG_TEST_URL) AGORA_TEST_SEARCH_BACKEND=postgres \
		$(BIN)/python -m pytest -q -m "not e2e" tests

test-e2e: install
	bash tests/e2e/setup.sh
	$(BIN)/python -m pytest -q -m e2e tests

test-all: test test-e2e

bench: install
	$(BIN)/python bench/pages.py

clean:
	rm -rf $(VENV) build *.egg-info
