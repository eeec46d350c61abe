"""On the hub, another student reaches none of a student's kernels: their notebook's, nor Validate's.

Two real Unix accounts. The student runs a real Jupyter server from the hub's environment with the
student role's configuration exactly as `make hub` writes it (cnnkit.hub.deploy.write_role_configs),
opens a kernel and runs a cell in it (as JupyterLab does, over the server's websocket), then presses
Validate (nbgrader's server extension: the whole notebook runs in a kernel nbgrader starts). Meanwhile
another student's account scans every listening TCP port and Unix socket on the machine, connects to
each and subscribes to it as a kernel's IOPub (tests/kernel_scanner.py).
"""

import asyncio
import json
import pwd
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from cnnkit import course
from cnnkit.hub import deploy, unix
from cnnkit.hub.layout import HubLayout
from cnnkit.spec import notebook, samples
from tests import kernel_reach
from tests.e2e.browser_support import free_port
from tests.kernel_reach import Hunter, Observer

pytestmark = pytest.mark.slow  # a real server, real accounts: scheduled early (tests/conftest.py)

MARK = f"cnnkit-reach-{secrets.token_hex(4)}"  # in every cell the student runs: what the snoop must never read


class StudentServer:
    """A Jupyter server of the student's, with the student role's configuration; its HTTP and websocket API."""

    def __init__(self, user, config_dir):
        self.port, self.token = free_port(), secrets.token_urlsafe(16)
        command = [
            kernel_reach.HUB_PYTHON.parent / "jupyter-server",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.open_browser=False",
            f"--IdentityProvider.token={self.token}",
        ]
        env = kernel_reach.environment(user, JUPYTER_CONFIG_PATH=str(config_dir))
        self.process = kernel_reach.popen_as(user, command, env=env, stderr=subprocess.PIPE, text=True)
        self.log = []
        threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True).start()
        self._wait_until_ready(120)

    def _wait_until_ready(self, timeout):
        """Until it answers (it binds its port once its event loop runs, after its last start-up line)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                self.call("GET", "/api/status")
                return
            except urllib.error.URLError:
                time.sleep(0.25)  # not listening yet
        raise AssertionError("the student's server did not start:\n" + "".join(self.log[-40:]))

    def call(self, method, path, body=None):
        """The JSON answer of the server's API."""
        return json.loads(self.fetch(method, path, body) or b"null")

    def fetch(self, method, path, body=None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.read()

    def lab_page_config(self):
        """The settings JupyterLab's page is served with (its jupyter-config-data)."""
        page = self.fetch("GET", "/lab").decode()
        return json.loads(
            page.split('id="jupyter-config-data" type="application/json">', 1)[1].split("</script>", 1)[0]
        )

    def run_cell(self, kernel_id, code):
        """Run code in the kernel over the server's websocket, as JupyterLab does; what it printed."""
        return asyncio.run(self._run_cell(kernel_id, code))

    async def _run_cell(self, kernel_id, code):
        url = f"ws://127.0.0.1:{self.port}/api/kernels/{kernel_id}/channels"
        connection = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {self.token}"}))
        msg_id, printed = uuid.uuid4().hex, []
        header = {"msg_id": msg_id, "msg_type": "execute_request", "session": uuid.uuid4().hex}
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False}
        request = {"header": {**header, "username": "", "version": "5.3", "date": ""}, "parent_header": {}}
        connection.write_message(json.dumps({**request, "metadata": {}, "content": content, "channel": "shell"}))
        while True:
            message = json.loads(await asyncio.wait_for(connection.read_message(), 120))
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                connection.close()
                return "".join(printed)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def assignment_in_home(user):
    """The released assignment in the student's home, every answer right, each answer cell marked.

    The first answer sleeps 4 s: Validate's kernel lives only while Validate runs, and the snoop must find
    and try its sockets meanwhile, also when a busy machine makes its sweeps slow.
    """
    home = Path(pwd.getpwnam(user).pw_dir)
    folder = home / course.ASSIGNMENT
    shutil.copytree(course.RELEASE, folder)
    answers = {name: f"# {MARK}\n{source}" for name, source in notebook.solutions().items()}
    answers["zero_pad"] = "import time\ntime.sleep(4)\n" + answers["zero_pad"]
    nbformat.write(notebook.fill_in(samples.release_notebook(), answers), str(folder / f"{course.ASSIGNMENT}.ipynb"))
    unix.chown_tree(folder, user, user)
    return folder


@pytest.fixture(scope="module")
def session():
    """The student's kernel and Validate, run while the other account snoops; what each side saw."""
    kernel_reach.require_root_and_hub_environment()
    # The student's name as long as a hub account's may be (cnnkit.hub.accounts.UNIX_NAME): their kernels'
    # socket paths are the longest there are.
    with kernel_reach.accounts("student", "other", length=32) as people:
        layout = HubLayout(root=Path(tempfile.mkdtemp(prefix="cnnkit-reach-hub-", dir="/tmp")))
        server = None
        try:
            layout.root.chmod(0o755)
            deploy.write_role_configs(layout)
            folder = assignment_in_home(people["student"])
            uid = kernel_reach.uid_of(people["student"])
            observer, snoop = Observer(uid), Hunter(people["other"], "snoop")
            server = StudentServer(people["student"], layout.config_dir("student"))
            kernel = server.call("POST", "/api/kernels", {"name": "python3"})
            assert server.run_cell(kernel["id"], "print(6 * 7)") == "42\n"  # the kernel listens: let the snoop look
            snoop.wait_for_sweeps(3)
            printed = server.run_cell(kernel["id"], f"print('{MARK}'.upper())")
            snoop.wait_for_sweeps(3)
            validated = server.call(
                "POST", "/assignments/validate", {"path": f"{folder.name}/{course.ASSIGNMENT}.ipynb"}
            )
            snoop.wait_for_sweeps(3)
            lab = server.lab_page_config()
            yield {
                "lab": lab,
                "uid": uid,
                "server_port": server.port,
                "printed": printed,
                "validated": validated,
                "snoop": snoop.stop(),
                "observed": observer.stop(),
            }
        finally:
            if server is not None:
                server.stop()
            shutil.rmtree(layout.root, ignore_errors=True)


def test_the_student_s_kernel_and_validate_work(session):
    assert session["printed"] == MARK.upper() + "\n"
    assert session["validated"] == {"success": True, "value": {}}, session["validated"]


def test_jupyterlab_s_debugger_is_off(session):
    """It would make the kernel start debugpy, whose adapter listens on a TCP port any account can speak to."""
    disabled = session["lab"]["disabledExtensions"]
    assert "@jupyterlab/debugger-extension" in (
        disabled if isinstance(disabled, list) else [k for k, v in disabled.items() if v]
    )


def test_another_student_reads_nothing_of_them(session):
    report, observed = session["snoop"], session["observed"]
    assert kernel_reach.messages_with(report, MARK) == []
    assert kernel_reach.messages_with(report, MARK.upper()) == []
    # Not one message from any TCP port of the student's: kernels listen on Unix sockets. What the student
    # has on TCP is their server's port (token-protected HTTP) and, in each kernel, ipykernel's IOPub pipe
    # (a PULL socket for forked subprocesses' output, opened whatever the transport: nothing can be read
    # from it, docs/security.md).
    assert [message for message in report["messages"] if message[2] in observed.tcp] == []
    assert session["server_port"] in observed.tcp
    others = {port: command for port, command in observed.tcp.items() if port != session["server_port"]}
    assert all("ipykernel_launcher" in command for command in others.values()), others
    # The kernels' Unix sockets, the notebook's and Validate's, refused the snoop.
    tried = kernel_reach.tried(report, "unix")
    found = [(path,) for path in observed.paths if (path,) in tried]
    kinds = {Path(path).name.split("-")[0] for (path,) in found}
    assert kinds == {"kernel", "nbgrader"}, f"the snoop did not find both kernels' sockets: {observed.paths}"
    assert {tried[path][1] for path in found} == {"PermissionError"}, {path: tried[path] for path in found}
