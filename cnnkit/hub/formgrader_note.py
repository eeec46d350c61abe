"""A note on every page of the formgrader: which score is the official one, and where to see it.

The formgrader (nbgrader's server extension) shows each submission's score as nbgrader adds it up: the
late penalty is not taken off (nbgrader keeps it apart, ``late_submission_penalty``), so a submission that
lost 10 % for lateness shows 60 where the student's feedback, grades.csv and the LMS files say 54. Its
pages are filled in by script from nbgrader's own API, which only a fork could change; what can be changed
cleanly is the page around them. So every formgrader page gets a note at the top saying that its scores
are before the late penalty, and linking to the grading service's class view (official score, penalty,
score before it, every attempt, CSV).

How: a Jupyter server extension the graders' servers load (cnnkit.hub.deploy writes it into their role's
config). Once every extension is loaded, it puts a ``base.tpl`` of its own in front of the formgrader's
templates: it extends nbgrader's ``base.tpl`` and writes the note before its ``body`` block, so every page
(each extends ``base.tpl``) carries it, and nbgrader's templates are used as they are. The formgrader keeps
its templates in a private setting: cnnkit.compat reaches it and checks it is still there.
"""

import os

from jinja2 import ChoiceLoader, DictLoader, PrefixLoader

from cnnkit import compat
from cnnkit.hub.layout import GRADING_SERVICE

NOTE = (
    '<div class="alert alert-info" id="cnnkit-official-scores"><b>The scores here are before the late '
    "penalty.</b> The official score of each student (the late penalty taken off, from the attempt the course's "
    'policy counts) is on the <a href="{{ cnnkit_class_view | e }}" target="_blank" rel="noopener">grading '
    "service's class view</a>, with every attempt and a CSV download; grades.csv (<code>nbgrader export</code>) "
    "and the students' feedback have the same numbers.</div>"
)
BASE = '{%- extends "nbgrader/base.tpl" -%}{%- block body -%}' + NOTE + "{{ super() }}{%- endblock -%}"


def class_view_url():
    """The grading service's page on this hub (its graders see the class there)."""
    return f"{os.environ.get('JUPYTERHUB_BASE_URL', '/')}services/{GRADING_SERVICE}/"


def add_note(templates, url):
    """Put the note in front of the formgrader's templates (a jinja2 Environment); a second call changes nothing."""
    if isinstance(templates.loader, ChoiceLoader):
        return
    nbgrader = templates.loader
    templates.loader = ChoiceLoader([DictLoader({"base.tpl": BASE}), PrefixLoader({"nbgrader": nbgrader}), nbgrader])
    templates.globals["cnnkit_class_view"] = url
    templates.cache.clear()


def _jupyter_server_extension_points():
    return [{"module": __name__}]


def _load_jupyter_server_extension(server_app):
    server_app.log.info("cnnkit formgrader note: added to the formgrader's pages once every extension is loaded")


async def _start_jupyter_server_extension(server_app):
    """After every extension is loaded (the formgrader's too, whatever the order they load in)."""
    compat.check_formgrader()
    templates = compat.formgrader_templates(server_app.web_app)
    if templates is None:
        server_app.log.warning("cnnkit formgrader note: the formgrader is not loaded here; nothing to add to")
        return
    add_note(templates, class_view_url())
