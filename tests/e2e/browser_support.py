"""Helpers for the browser tests: a throwaway course, a real `jupyter lab` server on it, headless Chromium.

Everything here runs real programs (nbgrader, jupyter lab, chromium); nothing is mocked. The server gets
its own Jupyter config, data and runtime folders, so neither the developer's ~/.jupyter nor a leftover
server changes what the tests see, and nbgrader's extensions are switched on there rather than globally.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from cnnkit import course
from cnnkit.spec import notebook
from tests.support import clone_course

BIN = Path(sys.executable).parent
ARTIFACTS = course.ROOT / "test-artifacts" / "browser"

# The pins CI installs (see docs/browser.md, "Integration"): the failure message repeats them.
PLAYWRIGHT_PIN = "playwright==1.65.2"
CHROMIUM_PATH = "/usr/bin/chromium"
INSTALL_HINT = (
    f"The browser tests need Debian's Chromium and Playwright's Python package: "
    f"`apt-get update && apt-get install -y chromium` and `.venv/bin/pip install {PLAYWRIGHT_PIN}` "
    f"(Playwright's own browser download is not used). See docs/browser.md."
)
# Headless, and quiet: no GPU, no first-run pages, no calls home (the machine reaches no other host).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# nbgrader's server extensions (what `jupyter server extension enable nbgrader` would switch on) plus Lab.
SERVER_EXTENSIONS = [
    "jupyterlab",
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.validate_assignment",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
]
# nbgrader's JupyterLab plugins; `false` in page_config's disabledExtensions means "enabled" and the
# temp config dir is the highest-priority level, so a sys-prefix or user-level `disable` cannot hide them.
LAB_PLUGINS = [
    "@jupyter/nbgrader:validate-assignment",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:menu",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:course-list",
]

# Where the test puts the two student notebooks, relative to the course root (= the server's root_dir).
UNTOUCHED_NB = f"release/{course.ASSIGNMENT}/{course.ASSIGNMENT}.ipynb"
COMPLETED_NB = f"completed/{course.ASSIGNMENT}/{course.ASSIGNMENT}.ipynb"


def require_playwright():
    """Playwright's sync API, or a test failure (not a skip: CI installs it) saying what to install."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        pytest.fail(f"Playwright is not installed ({error}). {INSTALL_HINT}", pytrace=False)
    return sync_playwright


def require_chromium():
    """The path of Chromium, or a test failure saying how to install it.

    $CHROMIUM_PATH overrides the lookup (another distribution's chromium-browser, a local Chrome).
    """
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or CHROMIUM_PATH
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"Chromium was not found at {path} (nor as `chromium` on PATH). {INSTALL_HINT}", pytrace=False)
    return path


def prepare_course(graded, root):
    """A copy of the session's graded course (conftest.graded_course) at root, plus one completed notebook.

    The copy is graded already, so the formgrader finds the scores in the gradebook when the server
    starts; the server and its kernels write only into the copy.
    """
    clone_course(graded, root)
    # A student's finished copy: the release folder (checks module and public data included) with the
    # master's solutions filled in. Kept out of submitted/ so the formgrader lists only the graded submissions.
    completed = root / COMPLETED_NB
    shutil.copytree(root / "release" / course.ASSIGNMENT, completed.parent)
    release_nb = notebook.read(root / UNTOUCHED_NB)
    nbformat.write(notebook.fill_in(release_nb, notebook.solutions()), str(completed))
    return root


def free_port():
    """A TCP port nobody listens on right now (the OS picks it; the server gets port_retries=0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_jupyter_config(config_dir, token):
    """Server and Lab settings in a private JUPYTER_CONFIG_DIR: nbgrader on, token auth, no calls home."""
    server = {
        "ServerApp": {"jpserver_extensions": {name: True for name in SERVER_EXTENSIONS}},
        "IdentityProvider": {"token": token},
        # JupyterLab would otherwise ask the internet about news and updates (and show a toast about it).
        "LabApp": {
            "news_url": None,
            "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
            # window.jupyterapp: a test can wait for what the page does not show (a kernel's info has arrived).
            "expose_app_in_browser": True,
        },
    }
    (config_dir / "labconfig").mkdir(parents=True, exist_ok=True)
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(server, indent=2))
    page_config = {"disabledExtensions": {plugin: False for plugin in LAB_PLUGINS}}
    (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(page_config, indent=2))
    # User settings live under the config dir too: no "receive Jupyter news?" toast over the screenshots.
    settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )


def child_pids(pid):
    """Every live descendant of pid (kernels, nbgrader's validation kernels), read from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The parent pid is the 4th field, after "(comm)" which may itself contain spaces.
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # the process ended while we looked
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found.update(children)
        todo.extend(children)
    return found


def is_alive(pid):
    """True while pid exists and is not a zombie waiting for its parent."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def port_is_open(port):
    """True when something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class LabServer:
    """A `jupyter lab` process serving root on 127.0.0.1, started and stopped by the tests."""

    root: Path
    home: Path  # private Jupyter config/data/runtime folders and the server log
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    process: subprocess.Popen | None = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self):
        return self.home / "jupyter-server.log"

    def url(self, path):
        """A URL on the server that logs the browser in with the token (the server then sets a cookie)."""
        return f"{self.base_url}/{path.lstrip('/')}?token={self.token}"

    def env(self):
        """The server's environment: private Jupyter (and IPython, for the kernels) folders under home."""
        names = ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")
        dirs = {name: self.home / name.lower() for name in names}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        # nbgrader runs `alembic` from PATH when it opens the gradebook: the venv's bin comes first.
        return {**os.environ, **{k: str(v) for k, v in dirs.items()}, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}

    def start(self, timeout=90):
        """Start the server and wait until its REST API answers; fails with the server log if it does not."""
        env = self.env()
        write_jupyter_config(Path(env["JUPYTER_CONFIG_DIR"]), self.token)
        command = [
            str(BIN / "jupyter"),
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            # CI and these machines run as root; Jupyter refuses that unless told (no effect otherwise).
            "--ServerApp.allow_root=True",
            f"--ServerApp.root_dir={self.root}",
        ]
        # cwd = the course: nbgrader's formgrader and validate handlers read ./nbgrader_config.py.
        # The child keeps its own handle on the log; ours can close at once.
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_ready(timeout)
        return self

    def _wait_until_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet
            time.sleep(0.25)
        raise AssertionError(f"jupyter lab did not answer on {self.base_url} within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines=60):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout=30):
        """Shut the server down (kernels included) and assert that it, its children and its port are gone.

        The REST shutdown lets Jupyter stop its kernels itself; SIGTERM and then SIGKILL (to our own
        process ids only) are the fallbacks when it hangs.
        """
        if self.process is None:
            return
        children = child_pids(self.process.pid)
        try:
            request = urllib.request.Request(self.url("api/shutdown"), method="POST")
            urllib.request.urlopen(request, timeout=5).close()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # already exiting, or deaf: the signals below take over
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        leftovers = self._wait_gone(children, timeout=10)
        for pid in leftovers:
            os.kill(pid, signal.SIGKILL)  # a kernel this server started and did not stop
        assert self.process.returncode is not None, "jupyter lab is still running"
        assert not port_is_open(self.port), f"port {self.port} still accepts connections after jupyter lab stopped"
        assert not leftovers, f"processes started by jupyter lab outlived it: {sorted(leftovers)}"

    @staticmethod
    def _wait_gone(pids, timeout):
        """The subset of pids still alive after up to timeout seconds (kernels exit a little after the server)."""
        deadline = time.monotonic() + timeout
        alive = {pid for pid in pids if is_alive(pid)}
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = {pid for pid in alive if is_alive(pid)}
        return alive


def screenshot(page, name):
    """Save a full-window screenshot as test-artifacts/browser/<name>.png; returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
