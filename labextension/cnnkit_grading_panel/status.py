"""The grading service's answer for this server's user, at ``<base_url>cnnkit-grading/status``.

Why through the server: the service (cnnkit/hub/service.py) authenticates browsers with HubOAuth
cookies, and JupyterHub (4.1 and later) accepts such a cookie on a fetch() only with the service's XSRF
token, which a page outside the service cannot read. A fetch from JupyterLab is sent to the hub's login
again and again until the browser gives up (docs/hub.md). A token is the way JupyterHub's maintainers
point to: this server asks the service with its own hub token ($JUPYTERHUB_API_TOKEN, owned by the same
user; the hub gives it the scope ``access:services!service=grader``), so the service answers with this
user's own summary and nobody else's.

The answer: ``{"course_id", "assignment", "service_page", "status", "error"}``: ``status`` is the
service's JSON as it sent it (or null), ``error`` says in words why there is none (or null).
"""

import json
import os

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from traitlets import Float, Unicode
from traitlets.config import Configurable

ROUTE = "cnnkit-grading/status"
SETTINGS_KEY = "cnnkit_grading_panel"


class GradingPanel(Configurable):
    """Where the grading service is, and which course and assignment the panel is about (set by make hub)."""

    status_url = Unicode(
        "",
        help="The service's status API as this server reaches it, e.g. http://127.0.0.1:8010/services/grader/api/status",
    ).tag(config=True)
    service_page = Unicode("", help="The service's page as the browser reaches it, e.g. /services/grader/").tag(
        config=True
    )
    course_id = Unicode("", help="The nbgrader course id the panel submits to.").tag(config=True)
    assignment = Unicode("", help="The assignment the panel shows and submits.").tag(config=True)
    timeout = Float(10.0, help="Seconds to wait for the service.").tag(config=True)


class StatusUnavailable(Exception):
    """The service gave no summary; the message says why, for the student and the instructor."""


def summary_from(code, body):
    """The service's summary from its HTTP answer, or StatusUnavailable saying what went wrong."""
    if code in (301, 302, 303, 307, 401, 403):
        raise StatusUnavailable(
            f"The grading service refused this server's token (HTTP {code}): the hub must give users' servers "
            "the scope access:services!service=grader (docs/hub.md)."
        )
    if code != 200:
        raise StatusUnavailable(f"The grading service does not answer right now (HTTP {code}); trying again soon.")
    try:
        summary = json.loads(body)
    except ValueError:
        raise StatusUnavailable("The grading service's answer is not JSON.") from None
    if not isinstance(summary, dict):
        raise StatusUnavailable("The grading service's answer is not a summary.")
    return summary


async def fetch_summary(config):
    """This user's summary from the service, asked with the server's own hub token."""
    if not config.status_url:
        raise StatusUnavailable("No grading service is set for this server (c.GradingPanel.status_url).")
    request = HTTPRequest(
        config.status_url,
        headers={"Authorization": f"token {os.environ.get('JUPYTERHUB_API_TOKEN', '')}", "Accept": "application/json"},
        follow_redirects=False,
        request_timeout=config.timeout,
    )
    try:
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
    except OSError as error:
        raise StatusUnavailable(
            f"The grading service does not answer right now ({error}); trying again soon."
        ) from None
    return summary_from(response.code, response.body)


class StatusHandler(APIHandler):
    @web.authenticated
    async def get(self):
        config = self.settings[SETTINGS_KEY]
        answer = {
            "course_id": config.course_id,
            "assignment": config.assignment,
            "service_page": config.service_page,
            "status": None,
            "error": None,
        }
        try:
            answer["status"] = await fetch_summary(config)
        except StatusUnavailable as error:
            answer["error"] = str(error)
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(answer))


def setup_handlers(server_app):
    web_app = server_app.web_app
    web_app.settings[SETTINGS_KEY] = GradingPanel(config=server_app.config)
    route = url_path_join(web_app.settings["base_url"], ROUTE)
    web_app.add_handlers(".*$", [(route, StatusHandler)])
