# SIGAP 112 — two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
APT    := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

.PHONY: run test mutate setup system-deps spatialite postgis reportlibs browser web lint bench check-install clean

setup: $(STAMP) spatialite reportlibs web

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

# SpatiaLite is a system library: install it with apt-get when we are root, otherwise say what to run.
spatialite: $(STAMP)
	@$(BIN)/python -c "from store.db import check_spatialite; check_spatialite()" 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && $(APT) libsqlite3-mod-spatialite; \
	  else \
	    echo "SpatiaLite belum terpasang / is missing: sudo apt-get install libsqlite3-mod-spatialite"; exit 1; \
	  fi; }

# Situation reports: WeasyPrint needs pango (system libraries); the tests read PDFs with poppler-utils.
reportlibs: $(STAMP)
	@{ $(BIN)/python -c "import weasyprint" 2>/dev/null && command -v pdftotext >/dev/null; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && $(APT) libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils; \
	  else \
	    echo "pango/poppler belum terpasang / are missing: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils"; exit 1; \
	  fi; }

# PostGIS (and pgRouting, which bench/route.py compares against) for the PostgreSQL the tests use at
# 127.0.0.1:5432: installed with apt-get when we are root and the server runs without the extension. With no
# PostgreSQL running there is nothing to extend: the PostGIS tests skip (or fail under SIGAP_REQUIRE_POSTGIS=1).
PG_QUERY := psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAq -c
POSTGIS_EXTENSION ?= postgis
postgis:
	@if command -v psql >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && \
	  [ -z "$$($(PG_QUERY) "SELECT 1 FROM pg_available_extensions WHERE name = '$(POSTGIS_EXTENSION)'")" ]; then \
	  major=$$($(PG_QUERY) "SHOW server_version_num" | cut -c1-2); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && $(APT) postgresql-$$major-postgis-3 postgresql-$$major-pgrouting; \
	  else \
	    echo "PostGIS belum terpasang / is missing: sudo apt-get install postgresql-$$major-postgis-3 postgresql-$$major-pgrouting"; exit 1; \
	  fi; \
	fi

# Leaflet and the icon font come from the npm registry at build time (exact versions in the lock file)
# and are served by the platform itself: the map never loads anything from a CDN.
WEB_STAMP := web/map/node_modules/.package-lock.json
web: $(WEB_STAMP)

$(WEB_STAMP): web/map/package.json web/map/package-lock.json
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && $(APT) nodejs npm; \
	  else \
	    echo "npm belum terpasang / is missing: sudo apt-get install nodejs npm"; exit 1; \
	  fi; }
	cd web/map && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# Debian's Chromium drives the browser tests; never a browser download.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && $(APT) chromium; \
	  else \
	    echo "Chromium belum terpasang / is missing: sudo apt-get install chromium"; exit 1; \
	  fi; }

run: setup
	$(BIN)/sigap load --if-empty
	$(BIN)/sigap serve --demo

# Two test processes (pytest-xdist), a module's tests kept together so its servers and browser start once:
# every fixture makes its own databases (named by process id), free ports and temporary files. Modules are handed
# out longest first (tests/conftest.py orders them; xdist's own reorder, by test count, would leave the few-test
# system modules, the longest, for the end).
# Byte code is written even where the environment says not to (PYTHONDONTWRITEBYTECODE): each test process
# would otherwise rewrite the asserts of every test module again, and every server the tests start would compile
# the platform's modules again (about half of a test process's collection time).
TEST_WORKERS ?= 2
test: setup browser postgis
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

# Mutation testing (mutmut) of the modules a caller's safety rests on, one module at a time with its own tests;
# prints killed / survived / timed out per module and the survivors (tests/MUTANTS.md says why each is left).
# Not part of `make test`. One module: `make mutate MODULES=geo/aml.py`.
MODULES ?=
mutate: $(STAMP)
	$(BIN)/python .ci/mutate $(MODULES)

lint: $(STAMP)
	$(BIN)/ruff check api geo store jobs web tests bench
	$(BIN)/mypy

# `pip install .` into a fresh venv (no extras), then migrate, load, serve and ask /healthz (about 2-3 minutes,
# most of it pip; not part of `make test`).
check-install:
	.ci/fresh-install

bench: setup
	$(BIN)/python bench/locate.py
	$(BIN)/python bench/report.py

clean:
	rm -rf var test-artifacts .pytest_cache
