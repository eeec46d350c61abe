"""JupyterHub's configuration for the course hub (started by cnnkit.hub.launch; docs/hub.md).

Everything that varies (folders, groups, ports) comes from <root>/hub/layout.json, written by
`make hub` (cnnkit.hub.deploy); $CNNKIT_HUB_ROOT says where root is. This file runs inside JupyterHub's
process, from the hub's own environment: it imports nothing from the kit.
"""

import grp
import json
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when JupyterHub loads this file)

LAYOUT = json.loads((Path(os.environ.get("CNNKIT_HUB_ROOT", "/srv/nbgrader")) / "hub" / "layout.json").read_text())
ROOT, ENV = Path(LAYOUT["root"]), Path(LAYOUT["env"])
COURSE_DIR = ROOT / LAYOUT["course_id"]
STATE = ROOT / "hub"
GRADERS, STUDENTS = LAYOUT["graders_group"], LAYOUT["students_group"]
SEARCH_PATH = f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin"

# ---- the hub, behind a proxy that cnnkit.hub.launch runs unprivileged (it shares CONFIGPROXY_AUTH_TOKEN)
c.JupyterHub.bind_url = f"{'https' if LAYOUT['ssl_cert'] else 'http'}://{LAYOUT['ip']}:{LAYOUT['port']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{LAYOUT['hub_port']}"
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{LAYOUT['proxy_api_port']}"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
# A student's idle server keeps running until the hub stops; jupyterhub-idle-culler can stop them (docs/hub.md).
c.JupyterHub.cleanup_servers = True

# ---- who logs in: Unix accounts (PAM) in the course's two groups
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {GRADERS, STUDENTS}
c.PAMAuthenticator.open_sessions = False  # no logind session per server: nothing on this machine needs one

# ---- their servers: JupyterLab, from the environment every user can run
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 240  # a slow, busy machine: Lab's first start reads every extension
c.Spawner.http_timeout = 240
c.Spawner.environment = {"PATH": SEARCH_PATH, "LANG": "C.UTF-8"}


def is_grader(name):
    """Instructor or TA: a member of the graders' Unix group (read at each start, so `usermod` takes effect)."""
    try:
        return name in grp.getgrnam(GRADERS).gr_mem
    except KeyError:
        return False


def configure_by_role(spawner):
    """Students get the student config (Assignments, Validate); graders the formgrader, on the course directory.

    The role's folder goes first on JUPYTER_CONFIG_PATH, above the environment's own settings (which switch
    every nbgrader extension on). What keeps the course directory from students is its mode (2770, graders'
    group), not this: a student who re-enables the formgrader in ~/.jupyter finds nothing to read.
    """
    role = "grader" if is_grader(spawner.user.name) else "student"
    spawner.environment = {**spawner.environment, "JUPYTER_CONFIG_PATH": str(ROOT / "jupyter" / role)}
    if role == "grader":
        # The formgrader works only on a course directory inside the server's root folder.
        spawner.notebook_dir = str(COURSE_DIR)
        # Files made in the course directory stay writable by the other graders (the folders are setgid). The
        # server runs in the course directory, so its terminals start there, where the file browser is, and a
        # command typed in one (nbgrader export, autograde) works on the course, not in the grader's home.
        spawner.cmd = ["/bin/sh", "-c", 'umask 0007 && cd "$0" && exec "$@"', str(COURSE_DIR), *c.Spawner.cmd]


c.Spawner.pre_spawn_hook = configure_by_role

# ---- the grading service (cnnkit/hub/service.py), when the course directory's copy of the kit has it
if (COURSE_DIR / "cnnkit" / "hub" / "service.py").exists():
    c.JupyterHub.services = [
        {
            "name": "grader",
            # Members of the graders' group see the whole class on its page (the others their own attempts).
            "command": [
                *(str(ENV / "bin" / "python"), "-m", "cnnkit.hub.service"),
                *("--course", str(COURSE_DIR), "--graders-group", GRADERS),
            ],
            "url": f"http://127.0.0.1:{LAYOUT['service_port']}",
            "user": LAYOUT["grader_user"],  # not root: the account that owns the course directory
            "cwd": str(COURSE_DIR),
            "environment": {
                "PATH": SEARCH_PATH,
                "LANG": "C.UTF-8",
                "JUPYTER_CONFIG_PATH": str(ROOT / "jupyter" / "grader"),
            },
            "oauth_no_confirm": True,
            "display": True,
        }
    ]
    # Every user may open the service's page (their attempts and official score); it shows each only their own.
    c.JupyterHub.extra_user_scopes = {"access:services!service=grader"}
    # The grading panel in JupyterLab asks the service through the user's own server, with the server's token:
    # the service's OAuth cookie is refused to a fetch() from JupyterLab (docs/hub.md, "The grading panel").
    c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", "access:services!service=grader"]
