"""The kit installs as a package: `pip install -e .` in a fresh venv gives the `cnnkit` command.

The venv borrows the test environment's packages through a .pth file (no dependency downloaded; the build
backend, setuptools, comes from PyPI in pip's isolated build), and installs a copy of the kit's files.
"""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_FILES = ("pyproject.toml", "README.md", "requirements.txt", "cnnkit", "source")  # the kit reads its course


@pytest.mark.slow
def test_pip_install_editable_gives_the_cnnkit_command(tmp_path):
    kit = tmp_path / "kit"
    kit.mkdir()
    for name in PACKAGE_FILES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(
            ROOT / name,
            kit / name,
            **({"ignore": shutil.ignore_patterns("__pycache__")} if (ROOT / name).is_dir() else {}),
        )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (site / "parent.pth").write_text(sysconfig.get_path("purelib") + "\n")  # the dependencies, and pip
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "-e", "."]
    result = subprocess.run(install, cwd=kit, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    helped = subprocess.run([str(venv / "bin" / "cnnkit"), "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: cnnkit") and "autograde" in helped.stdout
    where = subprocess.run(
        [str(python), "-c", "import cnnkit; print(cnnkit.__file__)"], cwd=tmp_path, capture_output=True, text=True
    )
    assert where.stdout.strip() == str(kit / "cnnkit" / "__init__.py")
    scripts = subprocess.run([str(python), "-c", "import cnnkit.spec.functions, cnnkit.sandbox"], cwd=tmp_path)
    assert scripts.returncode == 0
