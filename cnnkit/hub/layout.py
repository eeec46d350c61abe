"""Where a course hub keeps everything, and who owns what: one record shared by every part of the hub.

`make hub` (cnnkit.hub.deploy) writes it to <root>/hub/layout.json; jupyterhub_config.py, the accounts
step, the browser test and the load benchmark read it back, so a path or a port is decided in one place.

    <root>/                       0755 root       (default /srv/nbgrader)
      exchange/                   1777 root       nbgrader's exchange: everyone writes, the sticky bit
                                                  keeps each user's entries their own (nbgrader's docs)
      <course_id>/                2770 grader:graders  the course directory: instructor, TA and the
                                                  grading service read and write it; students cannot enter
      jupyter/student/            0755 root       JUPYTER_CONFIG_PATH of the students' servers
      jupyter/grader/             0755 root       JUPYTER_CONFIG_PATH of the instructor's and TA's servers
      hub/                        0700 root       the hub's database, cookie secret, layout.json, accounts.json
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cnnkit import course

LAYOUT_FILE = "layout.json"
# The grading service's name on the hub (jupyterhub_config.py gives it): the grading panel asks it, the
# formgrader's note links its class view.
GRADING_SERVICE = "grader"


@dataclass
class HubLayout:
    """A course hub's places, accounts and ports; defaults are those of `make hub`."""

    root: Path = Path("/srv/nbgrader")
    # A Python environment every user can run (docs/hub.md, "The environment"): built by `make hub-env`.
    env: Path = Path("/opt/cnnkit-hub/venv")
    course_id: str = "cnn-step-by-step"
    graders_group: str = "cnn-graders"  # instructor and TAs: formgrader, course directory
    students_group: str = "cnn-students"  # everyone else who may log in
    grader_user: str = "cnn-grader"  # the system account the grading service runs as (not a person)
    proxy_user: str = "nobody"  # configurable-http-proxy faces the network: it runs unprivileged
    ip: str = "127.0.0.1"
    port: int = 8000  # public: the proxy
    hub_port: int = 8081  # the hub's API, behind the proxy
    proxy_api_port: int = 8001
    service_port: int = 8010  # the grading service
    ssl_cert: str = ""
    ssl_key: str = ""
    # The repository the hub runs from: its package.json's proxy, its jupyterhub_config.py.
    repo: Path = field(default_factory=lambda: course.ROOT)

    def __post_init__(self):
        self.root, self.env, self.repo = Path(self.root), Path(self.env), Path(self.repo)

    # ---- places
    @property
    def exchange(self):
        return self.root / "exchange"

    @property
    def course_dir(self):
        return self.root / self.course_id

    def config_dir(self, role):
        """The Jupyter config folder of a role: "student" or "grader"."""
        return self.root / "jupyter" / role

    @property
    def state(self):
        """The hub's own files: root only."""
        return self.root / "hub"

    @property
    def python(self):
        return self.env / "bin" / "python"

    @property
    def proxy_command(self):
        return self.repo / "node_modules" / ".bin" / "configurable-http-proxy"

    @property
    def hub_config(self):
        return Path(__file__).resolve().parent / "jupyterhub_config.py"

    # ---- addresses
    @property
    def scheme(self):
        return "https" if self.ssl_cert else "http"

    @property
    def public_url(self):
        host = "127.0.0.1" if self.ip in ("", "0.0.0.0") else self.ip
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def service_url(self):
        return f"http://127.0.0.1:{self.service_port}"

    # ---- persistence
    def save(self):
        self.state.mkdir(parents=True, exist_ok=True)
        data = {key: str(value) if isinstance(value, Path) else value for key, value in asdict(self).items()}
        (self.state / LAYOUT_FILE).write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, root):
        return cls(**json.loads((Path(root) / "hub" / LAYOUT_FILE).read_text()))
