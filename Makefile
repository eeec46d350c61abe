# The kit's commands. `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

.PHONY: demo test sandbox system-deps labextension hub hub-env hub-deps hub-test-deps hub-accounts hub-accounts-remove lint release samples autograde feedback grades scores report roster canvas moodle clean venv

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $@

demo: venv sandbox  ## The whole cycle on the sample submissions: release, autograde, feedback, grades
	$(BIN)/python -m cnnkit demo

test: venv system-deps hub-test-deps lint  ## The test suite (CI runs exactly this)
	$(BIN)/python -m pytest

sandbox:  ## bubblewrap, which runs student code (docs/security.md); apt-installed when run as root
	tools/system-deps.sh bubblewrap

system-deps:  ## bubblewrap and, for the browser tests, Chromium; npm and a venv-capable system Python for the hub
	tools/system-deps.sh bubblewrap chromium npm python3-venv

# ---- The course hub (docs/hub.md). Root: it creates Unix accounts and runs servers as them.
HUB_ROOT ?= /srv/nbgrader
HUB_ENV ?= /opt/cnnkit-hub/venv
# A Python every user can run (the venv's own Python may live under /root): Debian's.
HUB_PYTHON ?= /usr/bin/python3

hub: venv hub-deps  ## Start the course hub (HUB_ROOT, HUB_ARGS="--ip 0.0.0.0 --port 443 --ssl-cert c --ssl-key k")
	$(BIN)/python -m cnnkit.hub.deploy --root $(HUB_ROOT) --env $(HUB_ENV) $(HUB_ARGS)

hub-accounts: venv  ## Demo accounts (instructor, ta, student1..3), or ROSTER=roster.csv GRADERS="alice bob"
	$(BIN)/python -m cnnkit.hub.accounts --root $(HUB_ROOT) $(if $(ROSTER),roster $(ROSTER) $(foreach g,$(GRADERS),--grader $(g)),demo)

hub-accounts-remove: venv  ## Delete every account hub-accounts created: asks; homes archived (REMOVE_ARGS="--yes --delete-homes")
	$(BIN)/python -m cnnkit.hub.accounts --root $(HUB_ROOT) remove $(REMOVE_ARGS)

hub-deps: node_modules/.installed hub-env  ## What the hub runs: the pinned proxy, bubblewrap, the users' environment
	tools/system-deps.sh bubblewrap npm python3-venv

node_modules/.installed: package.json package-lock.json  ## configurable-http-proxy, pinned by package-lock.json
	tools/system-deps.sh npm
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

hub-env: labextension  ## The Python environment of every hub user, from requirements.txt, with the grading panel (HUB_ENV; needs root)
	@cmp -s requirements.txt $(HUB_ENV)/requirements.txt || { \
	  tools/system-deps.sh python3-venv && \
	  $(HUB_PYTHON) -m venv $(HUB_ENV) && \
	  $(HUB_ENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt && \
	  cp requirements.txt $(HUB_ENV)/requirements.txt; }
	@cmp -s $(LABEXT_WHEEL) $(HUB_ENV)/$(notdir $(LABEXT_WHEEL)) || { \
	  $(HUB_ENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --force-reinstall $(LABEXT_WHEEL) && \
	  cp $(LABEXT_WHEEL) $(HUB_ENV)/; }
	@# jsonschema's RFC 3987 grammars built on first use in every process of the environment, as in the kit's own
	@# (cnnkit.compat.skip_unused_slow_imports): each student's nbgrader command and server start saves about 1 s of CPU.
	@site=$$($(HUB_ENV)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') && \
	  cmp -s cnnkit/compat.py $$site/cnnkit_compat.py && [ -f $$site/cnnkit-lazy-grammar.pth ] || { \
	  cp cnnkit/compat.py $$site/cnnkit_compat.py && $(HUB_ENV)/bin/python -m compileall -q $$site/cnnkit_compat.py && \
	  echo 'import cnnkit_compat; cnnkit_compat.skip_unused_slow_imports()' > $$site/cnnkit-lazy-grammar.pth; }

# ---- The grading panel for JupyterLab (labextension/, docs/hub.md): its npm packages pinned by its own
# package-lock.json, the wheel's build requirements by build-constraints.txt. Built from scratch each time.
LABEXT := labextension
LABEXT_WHEEL := $(LABEXT)/dist/cnnkit_grading_panel-$(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' $(LABEXT)/package.json)-py3-none-any.whl
LABEXT_SOURCES := $(addprefix $(LABEXT)/,package.json tsconfig.json rspack.config.js pyproject.toml build-constraints.txt install.json) \
	$(wildcard $(LABEXT)/src/*.ts $(LABEXT)/style/* $(LABEXT)/cnnkit_grading_panel/*.py $(LABEXT)/jupyter-config/*/*)

labextension: $(LABEXT_WHEEL)  ## The grading panel's wheel: npm ci, TypeScript, the prebuilt extension, the wheel

$(LABEXT)/node_modules/.installed: $(LABEXT)/package.json $(LABEXT)/package-lock.json
	tools/system-deps.sh npm
	cd $(LABEXT) && npm ci --engine-strict --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

$(LABEXT_WHEEL): $(LABEXT)/node_modules/.installed $(LABEXT_SOURCES) | $(VENV)/.installed
	cd $(LABEXT) && npm run --silent clean && npm run --silent build
	rm -rf $(LABEXT)/dist
	cd $(LABEXT) && PIP_CONSTRAINT=build-constraints.txt $(BIN)/pip wheel --quiet --disable-pip-version-check --no-deps -w dist .

# The hub's browser test (tests/e2e/test_hub_journey.py) runs as root only (it creates accounts); so does this.
hub-test-deps: node_modules/.installed labextension
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory hub-env; \
	else echo "note: not root, so tests/e2e/test_hub_journey.py will be skipped (it creates Unix accounts)"; fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

release: venv  ## Regenerate release/ from source/ (commit the result)
	$(BIN)/python -m cnnkit release

samples: venv  ## Put the sample submissions into submitted/
	$(BIN)/python -m cnnkit samples

autograde: venv sandbox  ## Autograde submitted/ in parallel (FORCE=1 regrade, STUDENT=id, WORKERS=n, SCHEDULER=tls://host:port, TLS=dir of cluster certificates)
	$(BIN)/python -m cnnkit autograde $(if $(FORCE),--force) $(if $(STUDENT),--student=$(STUDENT)) $(if $(WORKERS),--workers=$(WORKERS)) $(if $(SCHEDULER),--scheduler=$(SCHEDULER)) $(if $(TLS),--tls=$(TLS))

feedback: venv  ## HTML feedback for every autograded submission
	$(BIN)/python -m cnnkit feedback $(if $(FORCE),--force)

grades: venv  ## Export grades.csv (core and optional apart)
	$(BIN)/python -m cnnkit grades

report: venv  ## Instructor report in reports/cnn_step_by_step/ (after make autograde)
	$(BIN)/python -m cnnkit report

roster: venv  ## Import students and LMS ids: make roster ROSTER=roster.csv
	$(BIN)/python -m cnnkit roster $(or $(ROSTER),roster.csv)

canvas: venv  ## canvas.csv for Canvas's gradebook import (needs c.CanvasExport.assignment_ids)
	$(BIN)/nbgrader export --exporter=cnnkit.results.lms.CanvasExport --to canvas.csv

moodle: venv  ## moodle.csv for Moodle's grade import (keyed by c.MoodleExport.key_field)
	$(BIN)/nbgrader export --exporter=cnnkit.results.lms.MoodleExport --to moodle.csv

scores: venv  ## Print the score table from gradebook.db
	$(BIN)/python -m cnnkit scores

clean:  ## Remove everything the pipeline generated (keeps the venv)
	rm -rf gradebook.db submitted autograded feedback grades.csv canvas.csv moodle.csv logs reports
