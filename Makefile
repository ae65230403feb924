# Two commands for a newcomer: `make run` (install, migrate, demo data, serve) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint format demo worker beat clean bench-ws

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "Installing the Python packages into $(VENV) (the first time takes about two minutes)..."
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar on -e '.[dev]'
	# Statuspage's generated API client, for the compatibility test (its pins are too strict).
	$(BIN)/pip install --quiet --no-deps 'atlassian-statuspage==1.0.2' 'lambda-thread-pool==0.0.2'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py ensure_admin

# Links in mails, the handout and the PDF use SITE_URL; without it they name this server's
# address (HOST and PORT), so `make run PORT=8300` links to port 8300.
run: export SITE_URL ?= http://$(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST)):$(PORT)
run: demo
	@echo "Status pages: http://$(HOST):$(PORT)/   admin: http://$(HOST):$(PORT)/admin/"
	@# No Celery beat in embedded mode: the maintenance clock ticks next to the server (issue 6),
	@# and with MIRROR_TARGETS set the mirror's heartbeat too (issue 13).
	$(BIN)/python manage.py run_maintenance_clock & clock=$$!; \
	heartbeat=; if [ -n "$$MIRROR_TARGETS" ]; then \
	  $(BIN)/python manage.py publish_mirror --heartbeat & heartbeat=$$!; fi; \
	trap 'kill $$clock $$heartbeat 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy statuspage incidents notifications

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install
	$(BIN)/celery -A statuspage worker --loglevel=info

beat: install
	$(BIN)/celery -A statuspage beat --loglevel=info

# Websocket fan-out benchmark (needs Redis; CLIENTS=5000 or 10000 for the larger runs).
bench-ws: install
	$(BIN)/python bench/websocket_fanout.py --clients $(or $(CLIENTS),2000)

clean:
	rm -rf $(VENV) db.sqlite3* var
