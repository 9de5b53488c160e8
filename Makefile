# xinyong — two set-up commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
DEMO_SUBJECTS ?= 20000
HOST ?= 127.0.0.1
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install install-test run init demo serve test lint typecheck unit browser-deps clean lock

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

$(TEST_STAMP): $(STAMP) requirements-test.lock
	$(PIP) install -r requirements-test.lock
	@touch $(TEST_STAMP)

install-test: $(TEST_STAMP)

init: install
	$(BIN)/xinyong init

demo: init
	@if [ ! -f var/.demo-loaded ]; then $(BIN)/xinyong demo --subjects $(DEMO_SUBJECTS) && touch var/.demo-loaded; \
	else echo "演示城市已加载（删除 var/ 可重建）"; fi

run: demo
	$(BIN)/xinyong serve --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/xinyong serve --host $(HOST) --port $(PORT)

# Debian packages the tests and PDF reports need; installed when missing (as root), else a loud failure.
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi "wqy-zenhei" || missing="$$missing fonts-wqy-zenhei"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "安装系统依赖:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "缺少系统依赖:$$missing（请以 root 运行或手动 apt-get install）" >&2; exit 1; fi; \
	fi

lint: install-test
	$(BIN)/ruff check src tests bench

typecheck: install-test
	$(BIN)/mypy

unit: install-test system-deps
	$(BIN)/pytest -n 2 --dist loadgroup -q

test: lint typecheck unit

lock:
	$(BIN)/pip freeze --exclude-editable | grep -vE '^(pytest|pytest-xdist|hypothesis|playwright|ruff|mypy|types-|execnet|iniconfig|pluggy|sortedcontainers|greenlet|pyee|mypy_extensions|mypy-extensions|pathspec|librt|ast-serialize|schemathesis|harfile|hypothesis-graphql|graphql-core|jsonschema_rs|pyrate-limiter|requests|urllib3|werkzeug)' > requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
