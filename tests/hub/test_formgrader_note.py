"""The formgrader's pages say which score is official and where to see it (cnnkit.hub.formgrader_note, issue 19).

The formgrader shows nbgrader's score, before the late penalty (60 where grades.csv and the student say 54).
Its own templates, rendered here as nbgrader renders them, get a note on every page linking the grading
service's class view; the hub's journey test (tests/e2e/test_hub_journey.py) sees it in the real formgrader.
"""

import json

from jinja2 import Environment, FileSystemLoader
from nbgrader.server_extensions.formgrader import handlers

from cnnkit import compat
from cnnkit.hub import deploy
from cnnkit.hub.formgrader_note import add_note
from cnnkit.hub.layout import HubLayout

PAGES = [
    "manage_assignments.tpl",
    "manage_submissions.tpl",
    "gradebook_assignments.tpl",
    "gradebook_notebooks.tpl",
    "gradebook_notebook_submissions.tpl",
    "manage_students.tpl",
    "manage_students_assignments.tpl",
    "manage_students_notebook_submissions.tpl",
]
CLASS_VIEW = "/course-hub/services/grader/"


def test_every_formgrader_page_says_its_scores_are_before_the_penalty_and_links_the_class_view():
    compat.check_formgrader()
    templates = Environment(loader=FileSystemLoader([handlers.template_path]))  # as the formgrader makes it
    before = {name: templates.get_template(name).render(base_url="/user/prof") for name in PAGES}
    add_note(templates, CLASS_VIEW)
    add_note(templates, "/elsewhere/")  # a second call changes nothing
    for name in PAGES:
        html = templates.get_template(name).render(base_url="/user/prof")
        assert 'id="cnnkit-official-scores"' in html, name
        assert "The scores here are before the late penalty." in html
        assert f'href="{CLASS_VIEW}"' in html and "/elsewhere/" not in html
        note = html.index('<div class="alert alert-info" id="cnnkit-official-scores">')
        note_end = html.index("</div>", note) + len("</div>")
        assert html[:note] + html[note_end:] == before[name], f"{name}: the page changed beyond the note"


def test_graders_servers_load_the_note_and_students_do_not(tmp_path):
    layout = HubLayout(root=tmp_path)
    deploy.write_role_configs(layout)
    extensions = {
        role: json.loads((layout.config_dir(role) / "jupyter_server_config.json").read_text())["ServerApp"][
            "jpserver_extensions"
        ]
        for role in deploy.ROLES
    }
    assert extensions["grader"]["cnnkit.hub.formgrader_note"] is True
    assert extensions["student"]["cnnkit.hub.formgrader_note"] is False
    grader_python = (layout.config_dir("grader") / "jupyter_server_config.py").read_text()
    assert f"sys.path.append({str(layout.course_dir)!r})" in grader_python  # the course's kit, for the note
    assert "sys.path" not in (layout.config_dir("student") / "jupyter_server_config.py").read_text()
