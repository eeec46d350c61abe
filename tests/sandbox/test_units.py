"""The sandbox's settings, in-process: limits and settings read from the environment, configure(),
and the launcher's stdlib-only, by-path import of bwrap.py (the real sandbox: test_sandbox.py)."""

import json
import os
import stat
import subprocess
import sys

import pytest

from cnnkit import sandbox
from cnnkit.grading import time_policy
from cnnkit.sandbox import bwrap, launch


def test_the_launchers_cpu_limit_is_the_time_policys():
    assert bwrap.Limits().cpu_seconds == time_policy.SANDBOX_CPU_SECONDS


def test_limits_are_read_from_their_variables_and_default_otherwise():
    environ = {"CNNKIT_SANDBOX_MEMORY_MB": "512", "CNNKIT_SANDBOX_CPU_SECONDS": "7", "CNNKIT_SANDBOX_OTHER": "1"}
    limits = bwrap.Limits.from_env(environ)
    assert limits == bwrap.Limits(memory_mb=512, cpu_seconds=7)
    assert limits.processes == bwrap.Limits().processes
    assert bwrap.Limits.env_name("open_files") == "CNNKIT_SANDBOX_OPEN_FILES"
    with pytest.raises(ValueError):
        bwrap.Limits.from_env({"CNNKIT_SANDBOX_FILE_MB": "lots"})


def test_rlimits_in_bytes_and_no_process_limit_outside_a_sandbox():
    limits = bwrap.Limits(memory_mb=2, cpu_seconds=3, processes=4, file_mb=5, open_files=6)
    assert limits.rlimits() == {
        "RLIMIT_AS": 2 * bwrap.MB,
        "RLIMIT_CPU": 3,
        "RLIMIT_FSIZE": 5 * bwrap.MB,
        "RLIMIT_NOFILE": 6,
        "RLIMIT_CORE": 0,
        "RLIMIT_NPROC": 4,
    }
    assert "RLIMIT_NPROC" not in limits.rlimits(sandboxed=False)


def test_settings_from_the_environment(tmp_path):
    tool = tmp_path / "bwrap"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    environ = {bwrap.BWRAP_ENV: str(tool), bwrap.UID_ENV: "4242", bwrap.ALLOW_ENV: "1"}
    settings = bwrap.Settings.from_env(environ)
    assert (settings.bwrap, settings.uid, settings.allow_unsandboxed) == (str(tool), 4242, True)
    tool.chmod(stat.S_IRUSR)  # not executable: as if there were none
    settings = bwrap.Settings.from_env({bwrap.BWRAP_ENV: str(tool), bwrap.ALLOW_ENV: "yes"})
    assert (settings.bwrap, settings.uid, settings.allow_unsandboxed) == (None, 65534, False)


def test_probe_names_a_missing_bwrap():
    assert "bwrap (bubblewrap) was not found" in bwrap.probe(bwrap.Settings(bwrap=None))


@pytest.fixture
def environ(monkeypatch):
    """A scratch copy of the environment for configure() to write into."""
    copy = dict(os.environ)
    copy.pop(bwrap.ALLOW_ENV, None)
    monkeypatch.setattr(os, "environ", copy)
    return copy


def test_configure_passes_limits_down_and_makes_the_kernelspec_findable(environ):
    environ["JUPYTER_PATH"] = os.pathsep.join(["/elsewhere", str(sandbox.DATA_DIR)])
    sandbox.configure(required=True, cpu_seconds=9, memory_mb=100)
    assert environ["JUPYTER_PATH"].split(os.pathsep) == [str(sandbox.DATA_DIR), "/elsewhere"]
    assert bwrap.Limits.from_env(environ) == bwrap.Limits(cpu_seconds=9, memory_mb=100)
    assert bwrap.ALLOW_ENV not in environ
    sandbox.configure(required=False)
    assert bwrap.Settings.from_env(environ).allow_unsandboxed


def test_configure_rejects_an_unknown_limit(environ):
    with pytest.raises(TypeError):
        sandbox.configure(cpu_minutes=5)


def test_the_kernelspec_runs_the_launcher_isolated():
    spec = json.loads((sandbox.DATA_DIR / "kernels" / sandbox.KERNEL_NAME / "kernel.json").read_text())
    assert spec["argv"][:2] == ["python", "-I"]
    launcher = (sandbox.DATA_DIR / "kernels" / sandbox.KERNEL_NAME / spec["argv"][2].split("/", 1)[1]).resolve()
    assert launcher == (sandbox.DATA_DIR / "launch.py").resolve()


def test_imported_the_launcher_shares_the_kits_bwrap_module():
    assert launch.bwrap is bwrap


def test_run_as_a_script_from_elsewhere_the_launcher_loads_bwrap_by_path(tmp_path):
    launcher = str(sandbox.DATA_DIR / "launch.py")
    (tmp_path / "bwrap.py").write_text("raise SystemExit('the working directory was imported')\n")
    result = subprocess.run([sys.executable, "-I", launcher, "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Start ipykernel in the cnnkit sandbox" in result.stdout
    show = f"import runpy; print(runpy.run_path({launcher!r})['bwrap'].Limits().cpu_seconds)"
    loaded = subprocess.run([sys.executable, "-I", "-c", show], cwd=tmp_path, capture_output=True, text=True)
    assert loaded.stdout.strip() == str(time_policy.SANDBOX_CPU_SECONDS), loaded.stderr
