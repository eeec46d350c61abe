"""Spare kernels (cnnkit.grading.spare, used by cnnkit.grading.execute): started ahead for the next notebook, taken over, never changing a result.

ContainedExecute runs directly here, on small notebooks, in the kit's sandbox kernel and in the
stock python3 kernel: a notebook run in a spare kernel must see exactly what a fresh kernel in
its working copy sees (path, files, their owner, nothing left from before), and a spare that
died is replaced, not used.
"""

import json
import os
import signal

import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from cnnkit import sandbox
from cnnkit.grading import execute
from cnnkit.grading import spare as spares

pytestmark = pytest.mark.slow  # real kernels for half a minute: scheduled early (tests/conftest.py)

# What the notebook reports about the kernel it runs in.
LOOK_AROUND = """
import json, os, sys
print(json.dumps({
    "cwd": os.getcwd(),
    "files": sorted(os.listdir(".")),
    "data": open("data.txt").read(),
    "owner": os.stat("data.txt").st_uid,
    "uid": os.getuid(),
    "seen": sorted(name for name in globals() if name.startswith("left_")),
}))
left_by_this_notebook = 1
with open("written.txt", "w") as handle:
    handle.write("from the kernel")
"""


def working_copy(base, name, data):
    """A submission's working copy as nbgrader makes it: a folder with a data file."""
    folder = base / "autograded" / name / "assignment"
    folder.mkdir(parents=True)
    (folder / "data.txt").write_text(data)
    return folder


def run_notebook(folder, kernel_name, spare_dir, imports=(), source=LOOK_AROUND, pauses=0):
    """Run source (LOOK_AROUND) with ContainedExecute in folder; what the kernel reported.

    pauses: cells of 0.5 s run first (a spare kernel is sent its imports between two cells, once it answers).
    """
    nb = new_notebook(
        cells=[*(new_code_cell('__import__("time").sleep(0.5)') for _ in range(pauses)), new_code_cell(source)],
        metadata={"kernelspec": {"name": kernel_name, "display_name": kernel_name}},
    )
    executor = execute.ContainedExecute(
        kernel_name=kernel_name, spare_kernel_dir=str(spare_dir), spare_kernel_imports=list(imports), timeout=60
    )
    nb, resources = executor.preprocess(nb, {"metadata": {"path": str(folder)}})
    outputs = nb.cells[-1].outputs
    assert [o.output_type for o in outputs] == ["stream"], outputs
    return {**json.loads(outputs[0].text), "changed": resources["cnnkit_workdir_changes"]}


def kernel_pid(spare):
    return spare.manager.provisioner.process.pid


@pytest.fixture(params=["python3", sandbox.KERNEL_NAME])
def kernel_name(request):
    if request.param == sandbox.KERNEL_NAME:
        sandbox.configure(required=True)  # makes the kernelspec findable, as nbgrader_config.py does
    yield request.param
    spares.discard_spare()


def test_a_notebook_in_a_spare_kernel_sees_what_a_fresh_kernel_sees(tmp_path, kernel_name):
    spare_dir = tmp_path / "kernels"
    first = working_copy(tmp_path, "alice", "alice's data")
    fresh = run_notebook(first, kernel_name, spare_dir)  # a new kernel; starts a spare for the next
    spare = spares.waiting()
    assert spare is not None and spare.folder.parent == spare_dir and psutil.pid_exists(kernel_pid(spare))

    second = working_copy(tmp_path, "bob", "bob's data")
    mode = second.stat().st_mode
    taken_over = run_notebook(second, kernel_name, spare_dir)

    assert spares.waiting() is not spare  # the spare was used; a new one waits for the next notebook
    assert not spare.folder.exists()  # its folder became bob's working copy
    assert second.stat().st_mode == mode
    assert taken_over["data"] == "bob's data" and taken_over["seen"] == [] and fresh["seen"] == []
    assert taken_over["files"] == fresh["files"] == ["data.txt"]
    assert taken_over["owner"] == taken_over["uid"] == fresh["owner"] == fresh["uid"]
    if kernel_name == sandbox.KERNEL_NAME:
        assert taken_over["cwd"] == fresh["cwd"] == "/submission"
    else:
        assert taken_over["cwd"] == str(second) and fresh["cwd"] == str(first)
    # The kernel wrote in its working folder: in the sandbox that is its own tmpfs, which the grader's copy
    # never sees; unsandboxed, the executor put the folder back as it was and reported the file.
    written = [] if kernel_name == sandbox.KERNEL_NAME else ["written.txt"]
    assert taken_over["changed"] == fresh["changed"] == written
    assert sorted(os.listdir(second)) == ["data.txt"]
    assert sorted(os.listdir(spare_dir)) == [spares.waiting().folder.name]


def test_a_spare_kernel_that_died_is_replaced_not_used(tmp_path, kernel_name):
    spare_dir = tmp_path / "kernels"
    run_notebook(working_copy(tmp_path, "alice", "a"), kernel_name, spare_dir)
    dead = spares.waiting()
    os.kill(kernel_pid(dead), signal.SIGKILL)
    dead.manager.provisioner.process.wait()

    report = run_notebook(working_copy(tmp_path, "bob", "b"), kernel_name, spare_dir)
    assert report["data"] == "b" and report["seen"] == []
    assert not dead.folder.exists()


def test_discard_spare_leaves_no_kernel_and_no_folder(tmp_path, kernel_name):
    run_notebook(working_copy(tmp_path, "alice", "a"), kernel_name, tmp_path / "kernels")
    spare = spares.waiting()
    pid = kernel_pid(spare)
    spares.discard_spare()
    assert spares.waiting() is None and not spare.folder.exists()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_without_a_spare_kernel_dir_no_spare_is_started(tmp_path):
    folder = working_copy(tmp_path, "alice", "a")
    nb = new_notebook(
        cells=[new_code_cell("1")], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )
    nb, _ = execute.ContainedExecute(kernel_name="python3", timeout=60).preprocess(
        nb, {"metadata": {"path": str(folder)}}
    )
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == "1"
    assert spares.waiting() is None


# What a notebook can tell about its kernel's imports: which modules are loaded, which names it has.
IMPORTS_SEEN = """
import json, sys
print(json.dumps({"loaded": "colorsys" in sys.modules, "names": sorted(n for n in globals() if not n.startswith("_"))}))
"""


def test_a_spare_kernel_imports_ahead_without_touching_the_notebooks_names(tmp_path, kernel_name):
    spare_dir = tmp_path / "kernels"
    fresh = run_notebook(working_copy(tmp_path, "alice", "a"), kernel_name, spare_dir, ["colorsys"], IMPORTS_SEEN, 8)
    taken_over = run_notebook(working_copy(tmp_path, "bob", "b"), kernel_name, spare_dir, ["colorsys"], IMPORTS_SEEN)
    assert fresh["loaded"] is False and taken_over["loaded"] is True  # the spare imported it; nothing else differs
    assert taken_over["names"] == fresh["names"]


def test_a_spare_kernel_whose_imports_print_is_not_used(tmp_path, kernel_name):
    spare_dir = tmp_path / "kernels"
    run_notebook(working_copy(tmp_path, "alice", "a"), kernel_name, spare_dir, ["this"], IMPORTS_SEEN, 8)
    noisy = spares.waiting()  # "import this" prints the Zen of Python
    report = run_notebook(working_copy(tmp_path, "bob", "b"), kernel_name, spare_dir, ["this"], IMPORTS_SEEN)
    assert not noisy.folder.exists() and "this" not in report["names"]
    assert sorted(os.listdir(spare_dir)) == [spares.waiting().folder.name]  # a fresh kernel ran bob; a new spare waits
