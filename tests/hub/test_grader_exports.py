"""An export typed in a grader's terminal lands in the course directory, wherever the terminal is.

On the hub a grader's terminal used to start in their home, while the file browser showed the course
directory: `nbgrader export` wrote grades.csv into the home, where the other graders and `make canvas`
never saw it (issue 19). The exporters now take a relative --to in the course directory (the one the
graders' nbgrader_config.py names, as cnnkit.hub.deploy writes it) and say where they wrote; real
`nbgrader export` runs here from another folder, with the graders' real configuration.
"""

from pathlib import Path

import pytest
from traitlets.config import Config

from cnnkit.hub import deploy
from cnnkit.hub.layout import HubLayout
from cnnkit.results import export, lms
from tests.support import clone_course, run_nbgrader

ROSTER = """\
id,first_name,last_name,email,lms_user_id,sis_user_id,sis_login_id,section
alice,Alice,Liddell,alice@uni.example,101,S1,al,A
"""


def test_exports_from_a_graders_home_land_in_the_course_directory(released_course, tmp_path):
    layout = HubLayout(root=tmp_path / "hub")
    root = clone_course(released_course, layout.course_dir)
    (root / "roster.csv").write_text(ROSTER)
    config_dir = layout.config_dir("grader")
    config_dir.mkdir(parents=True)
    (config_dir / "nbgrader_config.py").write_text(deploy.nbgrader_config(layout, "grader"))
    home = tmp_path / "home"
    home.mkdir()
    env = {"JUPYTER_CONFIG_PATH": str(config_dir)}
    run_nbgrader(root, "db", "student", "import", str(root / "roster.csv"), env=env)
    grades = root / "grades.csv"
    for args in (["--to", "grades.csv"], []):  # no --to: grades.csv too
        grades.unlink(missing_ok=True)
        result = run_nbgrader(root, "export", *args, cwd=home, env=env)
        assert not (home / "grades.csv").exists(), f"nbgrader export {args} wrote grades.csv into the working folder"
        assert "alice" in grades.read_text(), f"nbgrader export {args} did not write {grades}"
        assert f"to {grades}" in result.stdout + result.stderr, result.stderr[-2000:]
    absolute = tmp_path / "elsewhere.csv"
    run_nbgrader(root, "export", "--to", str(absolute), cwd=home, env=env)
    assert absolute.exists()  # an absolute --to is taken as given


@pytest.mark.parametrize("exporter", [lms.CanvasExport, lms.MoodleExport, export.PartsCsvExport])
def test_every_kit_exporter_takes_a_relative_to_in_the_course_directory(exporter, tmp_path, monkeypatch):
    """The LMS exporters too (nbgrader imports them by name from the folder it runs in: on the hub, the graders'
    terminals start in the course directory, docs/hub.md)."""
    monkeypatch.chdir(tmp_path)
    config = Config()
    config.CourseDirectory.root = "/srv/course"
    plugin = exporter(config=config, to="out/file.csv")
    assert export.destination(plugin, "default.csv") == Path("/srv/course/out/file.csv")
    assert export.destination(exporter(config=config), "default.csv") == Path("/srv/course/default.csv")
