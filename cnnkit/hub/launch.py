"""The hub's two processes: configurable-http-proxy (unprivileged) and JupyterHub (root), started and stopped together.

JupyterHub can start the proxy itself, but then the proxy, the one process that faces the network, runs
as root too. Here it runs as an unprivileged account (HubLayout.proxy_user) and the hub is told not to
start one (c.ConfigurableHTTPProxy.should_start = False); the two share a random token for the proxy's
API. JupyterHub stays root: PAM reads /etc/shadow, and LocalProcessSpawner switches to each user.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from cnnkit.hub import unix

READY_TIMEOUT = 180  # seconds: the hub's first start migrates its database and starts the grading service


@dataclass
class RunningHub:
    layout: object
    proxy: subprocess.Popen
    hub: subprocess.Popen
    log_dir: object

    @property
    def hub_log(self):
        return self.log_dir / "jupyterhub.log"

    def alive(self):
        return self.proxy.poll() is None and self.hub.poll() is None

    def log_tail(self, lines=80):
        text = self.hub_log.read_text(errors="replace") if self.hub_log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Wait until the hub answers through the proxy; stop both and fail with the hub's log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                self.stop()
                raise RuntimeError(f"the hub or its proxy exited during start:\n{self.log_tail()}")
            if answers(f"{self.layout.public_url}/hub/api/"):
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the hub did not answer on {self.layout.public_url} within {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout=60):
        """SIGTERM to the hub (it stops every single-user server and the service first), then to the proxy."""
        for process in (self.hub, self.proxy):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def proxy_command(layout):
    command = [
        str(layout.proxy_command),
        "--ip",
        layout.ip,
        "--port",
        str(layout.port),
        "--api-ip",
        "127.0.0.1",
        "--api-port",
        str(layout.proxy_api_port),
        "--default-target",
        f"http://127.0.0.1:{layout.hub_port}",
        "--error-target",
        f"http://127.0.0.1:{layout.hub_port}/hub/error",
    ]
    if layout.ssl_cert:
        command += ["--ssl-cert", layout.ssl_cert, "--ssl-key", layout.ssl_key]
    return command


def proxy_runs_unprivileged(layout):
    """True if the proxy's user can run the pinned configurable-http-proxy (else the hub's user runs it)."""
    if not layout.proxy_command.exists():
        raise SystemExit(f"{layout.proxy_command} is missing: run `npm ci` (make hub does) first.")
    return unix.can_run(layout.proxy_user, [layout.proxy_command, "--version"])


def start_proxy(layout, token, log):
    """configurable-http-proxy, as layout.proxy_user when that account can run it (as root otherwise, said so)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CONFIGPROXY_AUTH_TOKEN": token}
    identity = {}
    if proxy_runs_unprivileged(layout):
        uid, gid = unix.ids(layout.proxy_user)
        identity = {"user": uid, "group": gid, "extra_groups": []}
    else:
        print(f"note: {layout.proxy_user} cannot run {layout.proxy_command}; the proxy runs as root", file=sys.stderr)
    return subprocess.Popen(
        proxy_command(layout),
        env=env,
        cwd="/",
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **identity,
    )


def start_hub(layout, token, log):
    env = {
        **os.environ,
        "CONFIGPROXY_AUTH_TOKEN": token,
        "CNNKIT_HUB_ROOT": str(layout.root),
        "PATH": f"{layout.env / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    }
    command = [str(layout.env / "bin" / "jupyterhub"), "-f", str(layout.hub_config)]
    return subprocess.Popen(command, env=env, cwd=layout.state, stdout=log, stderr=subprocess.STDOUT)


def start(layout, log_dir=None):
    """Start the proxy and the hub and wait until the hub answers; the caller stops them (RunningHub.stop)."""
    unix.require_root("starting the hub")
    log_dir = log_dir or layout.state
    log_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(32)
    with open(log_dir / "proxy.log", "ab") as proxy_log, open(log_dir / "jupyterhub.log", "ab") as hub_log:
        proxy = start_proxy(layout, token, proxy_log)
        hub = start_hub(layout, token, hub_log)
    return RunningHub(layout, proxy, hub, log_dir).wait_ready()


def run_until_stopped(layout):
    """`make hub`: start, say where to log in, and run until Ctrl-C or SIGTERM; stops both processes."""
    running = start(layout)
    print(f"The course hub is up: {layout.public_url}  (logs: {running.log_dir}; Ctrl-C stops it)")
    print("Log in with a Unix account of the course (make hub-accounts creates demo ones).")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    try:
        while running.alive() and not stop:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    crashed = not running.alive()
    running.stop()
    if crashed:
        print(f"The hub stopped by itself:\n{running.log_tail()}", file=sys.stderr)
        return 1
    return 0
