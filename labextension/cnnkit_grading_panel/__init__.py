"""The course kit's grading panel for JupyterLab: the prebuilt extension and its small server extension.

The extension (labextension/src, built into ``labextension/``) shows a student their submissions'
grading and score and submits through nbgrader's own API; the server extension (``status``) passes
the hub's grading service's answer on to it. docs/hub.md, "The grading panel", tells the whole story.
"""

from cnnkit_grading_panel.status import setup_handlers


def _jupyter_server_extension_points():
    return [{"module": "cnnkit_grading_panel"}]


def _load_jupyter_server_extension(server_app):
    setup_handlers(server_app)
    server_app.log.info("cnnkit grading panel: status at %scnnkit-grading/status", server_app.base_url)
