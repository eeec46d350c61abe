"""The grading panel's parts that run without a browser (labextension/, docs/hub.md "The grading panel").

What the panel concludes from the service's answer (phase, facts, the warnings before Submit) is
src/model.ts, tested with Node's test runner on the compiled code (make labextension builds it); its
server extension's reading of the service's answers; and which role gets the panel. The panel itself is
driven in Chromium by tests/e2e/test_hub_journey.py.
"""

import asyncio
import json
import shutil
import subprocess

import pytest
from cnnkit_grading_panel.status import GradingPanel, StatusUnavailable, fetch_summary, summary_from

from cnnkit import course
from cnnkit.hub import deploy
from cnnkit.hub.layout import HubLayout

PANEL = course.ROOT / "labextension"
PLUGIN = "@cnnkit/grading-panel:plugin"


def test_the_panel_reads_the_service_answer_as_a_student_needs_it():
    """node --test labextension/test/: phases, headline, facts, poll interval, warnings before Submit."""
    node = shutil.which("node")
    assert node, "Node.js is missing: make test installs npm, which brings it"
    assert (PANEL / "lib" / "model.js").exists(), "the panel is not built: run `make labextension`"
    result = subprocess.run(
        [node, "--test", "--no-warnings", "test/"], cwd=PANEL, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout, result.stdout[-2000:]


def test_the_service_summary_is_passed_on_as_sent():
    summary = {"graded": 1, "attempts_left": 0, "rows": [{"status": "done", "feedback_url": "/x"}]}
    assert summary_from(200, json.dumps(summary).encode()) == summary


@pytest.mark.parametrize("code", [302, 401, 403])
def test_a_refused_token_says_which_scope_the_hub_must_give(code):
    with pytest.raises(StatusUnavailable, match="access:services!service=grader"):
        summary_from(code, b"")


@pytest.mark.parametrize(
    ("code", "body", "words"),
    [
        (599, b"", "does not answer right now"),
        (502, b"<html>", "does not answer right now"),
        (200, b"<html>login</html>", "not JSON"),
        (200, b"[1, 2]", "not a summary"),
    ],
)
def test_a_service_that_gives_no_summary_is_said_in_words(code, body, words):
    with pytest.raises(StatusUnavailable, match=words):
        summary_from(code, body)


def test_a_server_without_a_service_says_what_to_set():
    with pytest.raises(StatusUnavailable, match="c.GradingPanel.status_url"):
        asyncio.run(fetch_summary(GradingPanel()))


def test_students_get_the_panel_and_graders_do_not(tmp_path):
    layout = HubLayout(root=tmp_path, service_port=8123)
    deploy.write_role_configs(layout)
    configs = {
        role: json.loads((layout.config_dir(role) / "jupyter_server_config.json").read_text()) for role in deploy.ROLES
    }
    pages = {
        role: json.loads((layout.config_dir(role) / "labconfig" / "page_config.json").read_text())
        for role in deploy.ROLES
    }
    assert pages["student"]["disabledExtensions"][PLUGIN] is False
    assert pages["grader"]["disabledExtensions"][PLUGIN] is True
    assert configs["student"]["ServerApp"]["jpserver_extensions"]["cnnkit_grading_panel"] is True
    assert configs["grader"]["ServerApp"]["jpserver_extensions"]["cnnkit_grading_panel"] is False
    assert configs["student"]["GradingPanel"] == {
        "status_url": "http://127.0.0.1:8123/services/grader/api/status",
        "service_page": "/services/grader/",
        "course_id": layout.course_id,
        "assignment": course.ASSIGNMENT,
    }
    assert "GradingPanel" not in configs["grader"]
