"""`make hub`: put the course on this machine's JupyterHub and start it (docs/hub.md).

    sudo .venv/bin/python -m cnnkit.hub.deploy [--root /srv/nbgrader] [--ip 0.0.0.0 --port 443 --ssl-cert ... --ssl-key ...]
    sudo .venv/bin/python -m cnnkit.hub.deploy --prepare-only   # everything but starting the hub

Preparing is idempotent and never overwrites course state: a course directory that exists is used as
it is (its gradebook, submissions and grades are the class's), an assignment already in the exchange
is not released again. What it sets up (cnnkit/hub/layout.py draws the tree):

- the groups (graders, students) and the grading service's system account;
- the exchange, 1777 as nbgrader's docs ask for a shared exchange;
- one Jupyter config folder per role, given to each single-user server as JUPYTER_CONFIG_PATH:
  students get nbgrader's Assignments tab and Validate, with the formgrader, the course list and
  "create assignment" switched off; graders get every nbgrader extension on the course directory;
- the course directory: a copy of this repository's course (source, release, nbgrader_config.py and
  the kit's package, which that config imports), owned by the service account and the graders group,
  closed to everyone else; generate_assignment fills its gradebook, release_assignment puts the
  student version into the exchange.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

from cnnkit import course
from cnnkit.hub import launch, unix
from cnnkit.hub.layout import GRADING_SERVICE, HubLayout

# What the course directory needs from the repository: nbgrader's folders and the config with the kit it imports.
COURSE_FILES = ("source", "release", "nbgrader_config.py", "cnnkit")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")

SERVER_EXTENSIONS = {
    "nbgrader.server_extensions.assignment_list": ("student", "grader"),
    "nbgrader.server_extensions.validate_assignment": ("student", "grader"),
    "nbgrader.server_extensions.formgrader": ("grader",),
    "nbgrader.server_extensions.course_list": ("grader",),
    "cnnkit_grading_panel": ("student",),
    # A note on every formgrader page: its scores are before the late penalty; the official ones are on the
    # grading service's class view. From the course directory's copy of the kit (server_python_config).
    "cnnkit.hub.formgrader_note": ("grader",),
}
LAB_PLUGINS = {
    "@jupyter/nbgrader:assignment-list": ("student", "grader"),
    "@jupyter/nbgrader:validate-assignment": ("student", "grader"),
    "@jupyter/nbgrader:menu": ("student", "grader"),
    "@jupyter/nbgrader:formgrader": ("grader",),
    "@jupyter/nbgrader:course-list": ("grader",),
    "@jupyter/nbgrader:create-assignment": ("grader",),
    "@cnnkit/grading-panel:plugin": ("student",),
    # JupyterLab's debugger, for no one: it makes ipykernel start debugpy, whose adapter listens on a TCP port
    # of 127.0.0.1 that every account on the machine can connect to and speak to (docs/security.md).
    "@jupyterlab/debugger-extension": (),
}
GRADING_PANEL = Path("share", "jupyter", "labextensions", "@cnnkit", "grading-panel", "package.json")
ROLES = ("student", "grader")
# nbgrader_config.py's own section for the hub, and its commented line that the course directory's copy fills in.
HUB_SECTION = "# --- JupyterHub deployment: issue 13 ---"
EXCHANGE_PLACEHOLDER = '# c.Exchange.root = "/srv/nbgrader/exchange"'


# ---------------------------------------------------------------- checks


def check_environment(layout):
    """The hub's Python environment must run for any user: a student's server and kernels run from it."""
    if not layout.python.exists():
        raise SystemExit(f"No Python environment at {layout.env}: run `make hub-env` first (docs/hub.md).")
    probe = [layout.python, "-c", "import jupyterhub, jupyterlab, nbgrader"]
    if not unix.can_run("nobody", probe):
        raise SystemExit(
            f"{layout.python} does not run for other users (a folder on its way is closed to them, or its base "
            f"Python is under /root). Build it from a system Python: `make hub-env` (docs/hub.md)."
        )


def check_grading_panel(layout):
    """Say so when the users' environment lacks the grading panel (students then only have the Assignments tab)."""
    if not (layout.env / GRADING_PANEL).exists():
        print(f"note: the grading panel is not installed in {layout.env}: `make hub-env` installs it (docs/hub.md)")


# ---------------------------------------------------------------- accounts and folders


def ensure_groups_and_service_account(layout):
    unix.ensure_group(layout.graders_group)
    unix.ensure_group(layout.students_group)
    if not unix.user_exists(layout.grader_user):
        # A home of its own: Jupyter keeps the kernels' connection files under it.
        unix.create_user(layout.grader_user, groups=[layout.graders_group], system=True, comment="grading service")
    elif layout.grader_user not in unix.group_members(layout.graders_group):
        unix.add_to_group(layout.grader_user, layout.graders_group)


def make_folders(layout):
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.root.chmod(0o755)
    layout.exchange.mkdir(exist_ok=True)
    layout.exchange.chmod(0o1777)  # nbgrader's docs: writable by all; sticky so no one deletes others' files
    layout.state.mkdir(exist_ok=True)
    layout.state.chmod(0o700)


# Where a user's kernels keep their connection files and, beside them, their Unix sockets. A socket's path may not
# exceed 107 bytes: jupyter_server's kernels are named kernel-<36-character id>-ipc-<n>, which in jupyter_core's
# default (~/.local/share/jupyter/runtime) leaves room for home folders of 28 characters only (/home/ and a
# user name of 22); here, for 40 (any valid user name under /home). The role's jupyter_server_config.py sets
# it for the server, and with it for everything the server starts (kernels, terminals, Validate).
RUNTIME_DIR = "~/.jupyter/runtime"

# A student's kernels that nbgrader starts (Validate in their server, nbgrader validate in a terminal): on Unix
# sockets in the student's runtime folder (0700), with a connection file of their own per configuration load,
# instead of five TCP ports on 127.0.0.1 that every account on the machine can connect to (IOPub needs no key).
# A connection file must be named: with ipc and none, the sockets' address would be a path relative to each
# process's working folder. Graders need none of this: the course's configuration, which theirs loads, gives
# nbgrader the kit's own kernel manager (cnnkit.compat.kernel_manager_class).
PRIVATE_KERNELS = (
    "",
    "# Kernels on Unix sockets in this user's private runtime folder, not on TCP ports (docs/security.md).",
    "import uuid  # noqa: E402",
    "",
    "from jupyter_core.paths import jupyter_runtime_dir  # noqa: E402",
    "",
    "os.makedirs(jupyter_runtime_dir(), mode=0o700, exist_ok=True)",
    'c.KernelManager.transport = "ipc"',
    'c.KernelManager.connection_file = os.path.join(jupyter_runtime_dir(), f"nbgrader-{uuid.uuid4().hex[:12]}.json")',
)


def server_python_config(layout, role):
    """jupyter_server_config.py of a role: the runtime folder (RUNTIME_DIR), which JSON cannot say per user; for
    graders, the course directory's kit importable by the server (its formgrader note)."""
    lines = [
        f'"""Jupyter server settings for every {role} on this hub (written by cnnkit.hub.deploy; edits are lost).',
        "",
        "The runtime folder is no setting: jupyter_core reads it from JUPYTER_RUNTIME_DIR. This file runs before",
        "the server first asks for it; kernels, terminals and Validate inherit it from the server.",
        '"""',
        "import os",
        "",
        f"os.environ.setdefault('JUPYTER_RUNTIME_DIR', os.path.expanduser({RUNTIME_DIR!r}))",
    ]
    if role == "grader":
        lines += [
            "",
            "# The kit (cnnkit.hub.formgrader_note) from the course directory, as the course's nbgrader_config.py",
            "# itself adds it when the formgrader loads it; appended, so it shadows nothing installed.",
            "import sys  # noqa: E402",
            "",
            f"sys.path.append({str(layout.course_dir)!r})",
        ]
    return "\n".join(lines) + "\n"


def nbgrader_config(layout, role):
    """The system-wide nbgrader_config.py of a role: which course, where the exchange is; a student's kernels."""
    lines = [
        '"""nbgrader settings for every ' + role + " on this hub (written by cnnkit.hub.deploy; edits are lost).",
        '"""',
        "import os",
        "",
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.course_id = {layout.course_id!r}",
        f"c.Exchange.root = {str(layout.exchange)!r}",
    ]
    if role == "student":
        lines += PRIVATE_KERNELS
    if role == "grader":
        course_config = layout.course_dir / "nbgrader_config.py"
        lines += [
            f"c.CourseDirectory.root = {str(layout.course_dir)!r}",
            "# The course's own settings (grading pipeline, sandbox, policy). nbgrader reads them itself when it",
            "# runs in the course directory; from anywhere else (the formgrader, a terminal at home) load them here.",
            f"if os.path.realpath(os.getcwd()) != {str(layout.course_dir)!r}:",
            f"    load_subconfig({str(course_config)!r})  # noqa: F821",
        ]
    return "\n".join(lines) + "\n"


def server_config(role):
    """jupyter_server_config.json of a role: which nbgrader server extensions run; kernels on Unix sockets; no calls home."""
    extensions = {name: role in roles for name, roles in SERVER_EXTENSIONS.items()}
    return {
        # Terminals: a plain (non-login) bash keeps the server's PATH, the hub environment's bin first, so
        # `nbgrader` is the course's; a login shell would reset PATH from /etc/profile.
        "ServerApp": {"jpserver_extensions": extensions, "terminado_settings": {"shell_command": ["/bin/bash"]}},
        # The notebooks' kernels listen on Unix sockets beside their connection files, in the user's runtime
        # folder (0700), not on TCP ports every account on the machine could connect to.
        "KernelManager": {"transport": "ipc"},
        "LabApp": {
            "news_url": None,
            "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
        },
    }


def grading_panel_config(layout):
    """The students' grading panel: where its server extension asks the grading service, what it submits."""
    prefix = f"/services/{GRADING_SERVICE}/"
    return {
        "status_url": f"{layout.service_url}{prefix}api/status",
        "service_page": prefix,
        "course_id": layout.course_id,
        "assignment": course.ASSIGNMENT,
    }


def page_config(role):
    """labconfig/page_config.json of a role: the JupyterLab plugins switched off (true) or on (false)."""
    return {"disabledExtensions": {plugin: role not in roles for plugin, roles in LAB_PLUGINS.items()}}


def write_lab_overrides(layout):
    """JupyterLab defaults for every user of the environment: no "Jupyter news?" prompt, no update checks."""
    folder = next(layout.env.glob("share/jupyter/lab")) / "settings" / "overrides.d"
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}
    (folder / "cnnkit-hub.json").write_text(json.dumps(settings, indent=2) + "\n")
    for path in (folder.parent, folder, folder / "cnnkit-hub.json"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def write_role_configs(layout):
    for role in ROLES:
        folder = layout.config_dir(role)
        (folder / "labconfig").mkdir(parents=True, exist_ok=True)
        (folder / "nbgrader_config.py").write_text(nbgrader_config(layout, role))
        settings = server_config(role)
        if role == "student":
            settings["GradingPanel"] = grading_panel_config(layout)
        (folder / "jupyter_server_config.json").write_text(json.dumps(settings, indent=2) + "\n")
        (folder / "jupyter_server_config.py").write_text(server_python_config(layout, role))
        (folder / "labconfig" / "page_config.json").write_text(json.dumps(page_config(role), indent=2) + "\n")
        for path in [folder.parent, *folder.rglob("*"), folder]:
            path.chmod(0o755 if path.is_dir() else 0o644)


# ---------------------------------------------------------------- the course


def grader_env(layout):
    """The environment nbgrader runs in for the graders: the hub's Python first, the graders' config."""
    return {
        "PATH": f"{layout.env / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": str(layout.config_dir("grader")),
        "LANG": "C.UTF-8",
    }


def run_nbgrader(layout, *args):
    """An nbgrader command in the course directory, as the grading service's account."""
    command = [layout.env / "bin" / "nbgrader", *args]
    result = unix.run_as(layout.grader_user, command, cwd=layout.course_dir, env=grader_env(layout), check=False)
    if result.returncode != 0:
        raise SystemExit(f"nbgrader {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def copy_course(layout, repo=course.ROOT):
    """The course directory, copied from the repository once; False (and left alone) if it exists."""
    if layout.course_dir.exists():
        return False
    layout.course_dir.mkdir()
    for name in COURSE_FILES:
        source = Path(repo) / name
        if source.is_dir():
            shutil.copytree(source, layout.course_dir / name, ignore=IGNORED, symlinks=True)
        else:
            shutil.copy2(source, layout.course_dir / name)
    name_the_exchange(layout.course_dir / "nbgrader_config.py", layout.exchange)
    unix.chown_tree(layout.course_dir, layout.grader_user, layout.graders_group)
    unix.share_with_group(layout.course_dir)
    run_nbgrader(layout, "generate_assignment", course.ASSIGNMENT, "--force")
    return True


def name_the_exchange(config_file, exchange):
    """Write c.Exchange.root into the copy's "JupyterHub deployment" section (the repository's has it commented)."""
    text = config_file.read_text()
    placeholder = EXCHANGE_PLACEHOLDER
    line = f"c.Exchange.root = {str(exchange)!r}"
    if placeholder in text:
        text = text.replace(placeholder, line)
    else:
        text += f"\n{HUB_SECTION}\n{line}\n"
    config_file.write_text(text)


def release(layout):
    """The student version into the exchange, unless it is there already; True if released now."""
    if (layout.exchange / layout.course_id / "outbound" / course.ASSIGNMENT).exists():
        return False
    run_nbgrader(layout, "release_assignment", course.ASSIGNMENT)
    return True


def prepare(layout, repo=course.ROOT):
    """Everything the hub needs on disk, as listed in the module's docstring; prints what it did."""
    unix.require_root("make hub")
    check_environment(layout)
    check_grading_panel(layout)
    ensure_groups_and_service_account(layout)
    make_folders(layout)
    write_role_configs(layout)
    write_lab_overrides(layout)
    copied = copy_course(layout, repo)
    print(f"course directory: {layout.course_dir} ({'copied from ' + str(repo) if copied else 'kept as it was'})")
    released = release(layout)
    print(f"exchange: {layout.exchange} ({course.ASSIGNMENT} {'released' if released else 'already released'})")
    layout.save()
    return layout


def remove(layout):
    """Undo prepare's accounts and folders under root (the course directory included: it asks first)."""
    unix.require_root("removing the hub")
    shutil.rmtree(layout.root, ignore_errors=True)
    unix.remove_user(layout.grader_user)
    for group in (layout.graders_group, layout.students_group):
        unix.remove_group(group)


# ---------------------------------------------------------------- command line


def parse(argv):
    defaults = HubLayout()
    parser = argparse.ArgumentParser(prog="python -m cnnkit.hub.deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=defaults.root, help="where the hub keeps everything")
    parser.add_argument("--env", type=Path, default=defaults.env, help="the Python environment every user runs")
    parser.add_argument("--ip", default=defaults.ip, help="the address students connect to (0.0.0.0: every one)")
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--ssl-cert", default="", help="TLS certificate (PEM) for the public port")
    parser.add_argument("--ssl-key", default="", help="its private key")
    parser.add_argument("--prepare-only", action="store_true", help="set everything up, do not start the hub")
    parser.add_argument("--remove", action="store_true", help="delete the hub's folders, groups and service account")
    parser.add_argument("--yes", action="store_true", help="with --remove: do not ask")
    return parser.parse_args(argv)


def confirmed(question):
    """Whether the person at the terminal answered y; no terminal (EOF) is a no."""
    try:
        return input(f"{question} [y/N] ").strip().lower() == "y"
    except EOFError:
        return False


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    layout = HubLayout(root=args.root, env=args.env, ip=args.ip, port=args.port)
    layout.ssl_cert, layout.ssl_key = args.ssl_cert, args.ssl_key
    if args.remove:
        if not (
            args.yes
            or confirmed(f"Delete {layout.root} (course directory, gradebook, exchange) and the hub's accounts?")
        ):
            print("Nothing deleted (answer y, or pass --yes).")
            return 1
        remove(layout)
        return 0
    prepare(layout)
    if args.prepare_only:
        return 0
    return launch.run_until_stopped(layout)


if __name__ == "__main__":
    sys.exit(main())
