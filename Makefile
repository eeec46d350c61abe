# The kit's commands. `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

.PHONY: demo test sandbox system-deps lint release samples autograde feedback grades scores report roster canvas moodle clean venv

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $@

demo: venv sandbox  ## The whole cycle on the sample submissions: release, autograde, feedback, grades
	$(BIN)/python -m cnnkit demo

test: venv system-deps lint  ## The test suite (CI runs exactly this)
	$(BIN)/python -m pytest

sandbox:  ## bubblewrap, which runs student code (docs/security.md); apt-installed when run as root
	tools/system-deps.sh bubblewrap

system-deps:  ## bubblewrap and, for the browser tests, Chromium
	tools/system-deps.sh bubblewrap chromium

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
