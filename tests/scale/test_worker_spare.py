"""A grading process waiting for its next job gets its spare kernel's imports done meanwhile (cnnkit.scale.worker).

The spare for the next job starts once the current notebook's kernel is ready; it is sent its imports
(ContainedExecute.spare_kernel_imports) once it answers. Between a notebook's cells the notebook pokes it;
a notebook shorter than the spare's start never does, so the process keeps poking while it waits for a job
(``poke_spare_kernel``). Without that, the next notebook's first cell does the imports itself.

Real kernels in the real sandbox, driven by ContainedExecute as a grading process runs it.
"""

import os

import pytest

from cnnkit import sandbox
from cnnkit.grading import spare as spares
from cnnkit.scale import worker
from tests.grading.test_spare_kernel import IMPORTS_SEEN, run_notebook, working_copy


@pytest.fixture
def sandbox_kernel(monkeypatch):
    monkeypatch.setattr(os, "environ", dict(os.environ))
    sandbox.configure(required=True)  # the kernelspec findable, as nbgrader_config.py makes it
    yield sandbox.KERNEL_NAME
    spares.discard_spare()


def test_an_idle_process_gets_its_spare_s_imports_done_before_the_next_job(tmp_path, sandbox_kernel):
    spare_dir = tmp_path / "kernels"
    # One quick cell: it ends before the spare (started once this kernel was ready) answers, so it never pokes it.
    first = run_notebook(working_copy(tmp_path, "alice", "a"), sandbox_kernel, spare_dir, ["colorsys"], IMPORTS_SEEN)
    assert first["loaded"] is False
    assert spares.waiting().imports_pending(), "the spare answered during the first notebook: nothing left to test"
    waits = []

    def idle():  # no job comes while the process waits, as connection.poll says in serve()
        waits.append(1)
        return True

    worker.poke_spare_kernel(idle)
    assert waits and not spares.waiting().imports_pending()  # it waited, and the imports went as soon as it answered

    taken_over = run_notebook(working_copy(tmp_path, "bob", "b"), sandbox_kernel, spare_dir, ["colorsys"], IMPORTS_SEEN)
    assert taken_over["loaded"] is True and taken_over["names"] == first["names"]


def test_a_job_that_comes_ends_the_wait_at_once(tmp_path, sandbox_kernel):
    run_notebook(working_copy(tmp_path, "alice", "a"), sandbox_kernel, tmp_path / "kernels", ["colorsys"], IMPORTS_SEEN)
    waits = []

    def job_came():
        waits.append(1)
        return False

    worker.poke_spare_kernel(job_came)
    assert waits == [1]  # poked once, then straight back to the job that came
