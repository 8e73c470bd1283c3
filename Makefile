# The two commands: `make run` (demo on SQLite) and `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
export LMS_ENV ?= development
export DATABASE_URL ?= sqlite:///$(CURDIR)/instance/lms.sqlite3

.PHONY: run test install install-test system-deps messages clean bench bench-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

# Debian's Chromium (for Playwright), PostgreSQL (for the database tests) and the
# DejaVu fonts (certificates print any name),
# installed only when missing.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
		echo "Installing$$missing from Debian"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

run: install
	@mkdir -p instance
	$(FLASK) lms init
	$(FLASK) lms demo
	@echo "Serving on http://127.0.0.1:5000 (the job worker runs beside it; its mail is printed here)"
	@$(FLASK) lms worker --poll 2 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install-test system-deps
	LMS_ENV=testing $(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) instance .pytest_cache

# Extract every user-facing string into the catalogue template for translators.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o lms/translations/messages.pot .

# Debian's wrk (the load generator) and PostgreSQL, installed only when missing.
bench-deps:
	@missing=""; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		echo "Installing$$missing from Debian"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The benchmarks (about 15 minutes on 2 cores): prints one table and writes
# bench/RESULTS.md; raw outputs in bench/results/. See bench/README.md.
bench: bench-deps $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server,postgres]'
	$(BIN)/python -m bench.run
