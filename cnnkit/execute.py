"""ContainedExecute: nbgrader's Execute step, made to finish in bounded time and survive a dead kernel.

Stock nbgrader gives a notebook ``Execute.timeout`` seconds per cell, so a
submission with a loop in every cell can hold the batch for cells x timeout;
a kernel that dies (os._exit, a segfault, out of memory) makes nbgrader drop the
student's whole autograded notebook; and output is kept in memory without limit
while a cell runs. Here:

- the whole notebook gets a budget (``notebook_budget``); cells after it are not run;
- when the kernel dies, the cell gets a clear error, a fresh kernel replays the
  earlier answer cells (not the checks), and grading goes on with the next cell;
  so a crash in one function costs that function's check only;
- a cell's printed output is capped while it runs (``max_output_bytes``);
- after the last cell, the integrity probe (``cnnkit.integrity.PROBE_SOURCE``) runs in the
  same kernel; its findings go to ``resources["cnnkit_probe"]``, not into the notebook.
"""

import copy
import signal
import time

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_code_cell
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Integer

from cnnkit import course
from cnnkit.integrity import PROBE_MIME, PROBE_SOURCE

RESULT_MIME = course.load_checks().RESULT_MIME  # the checker names its result records


def error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def probe_flags(cell):
    """The probe's list of flags from its cell's outputs, or None if it did not report."""
    for output in cell.get("outputs", []):
        data = output.get("data", {}).get(PROBE_MIME)
        if isinstance(data, dict) and isinstance(data.get("flags"), list):
            return [str(flag) for flag in data["flags"]]
    return None


class ContainedExecute(Execute):
    """Execute with a notebook time budget, dead-kernel recovery and an output cap."""

    notebook_budget = Integer(600, help="Seconds for the whole notebook; later cells are not run.").tag(config=True)
    max_restarts = Integer(8, help="Kernel restarts allowed per notebook after the kernel died.").tag(config=True)
    max_output_bytes = Integer(1_000_000, help="Printed output kept per cell while it runs.").tag(config=True)

    def preprocess(self, nb, resources, km=None):
        self._deadline = time.monotonic() + self.notebook_budget
        self._restarts = 0
        self._kernel_gone = None
        self._crashed = set()  # cells that killed the kernel: never replayed
        self._output_bytes = {}
        self._probe_index = len(nb.cells)
        nb.cells.append(new_code_cell(PROBE_SOURCE))
        previous = self._watch_for_ctrl_c()
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            probe = nb.cells.pop(self._probe_index)
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        resources["cnnkit_probe"] = probe_flags(probe)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._interrupted:
            raise KeyboardInterrupt("grading interrupted")
        if index == self._probe_index and not self._kernel_gone:
            self._deadline = max(self._deadline, time.monotonic() + self.timeout)  # the probe always gets its turn
        reason = self._reason_not_to_run()
        if reason:
            cell.outputs = [error_output("NotRun", reason)]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            if self._interrupted:  # Ctrl-C took the kernel down with it: stop, do not revive
                raise KeyboardInterrupt("grading interrupted") from None
            self.log.warning("The kernel died in cell %d; starting a new one", index)
            cell.outputs.append(
                error_output(
                    "KernelDied",
                    "the kernel died while running this cell (os._exit, a crash, or too much memory); "
                    "later cells ran in a fresh kernel",
                )
            )
            self._crashed.add(index)
            self._revive(index)
            return cell, resources

    def _watch_for_ctrl_c(self):
        """Remember a Ctrl-C (SIGINT) so a kernel it killed is not mistaken for a crash to recover from."""
        self._interrupted = False
        try:
            previous = signal.getsignal(signal.SIGINT)

            def note_and_forward(signum, frame):
                self._interrupted = True
                if callable(previous):
                    previous(signum, frame)
                else:
                    raise KeyboardInterrupt

            signal.signal(signal.SIGINT, note_and_forward)
            return previous
        except ValueError:  # not the main thread (e.g. inside a server): nothing to watch
            return None

    def _reason_not_to_run(self):
        if self._kernel_gone:
            return self._kernel_gone
        if time.monotonic() > self._deadline:
            return f"not run: the notebook used up its {self.notebook_budget} s time budget"
        return None

    def _revive(self, upto):
        """A fresh kernel in which the earlier answer cells (not checks, not crashers) ran again."""
        while True:
            self._restarts += 1
            if self._restarts > self.max_restarts:
                self._kernel_gone = f"not run: the kernel died {self._restarts - 1} times"
                return
            self._cleanup_kernel()
            self.km = self.create_kernel_manager()
            self.start_new_kernel()
            self.start_new_kernel_client()
            crashed = self._replay_until_crash(upto)
            if crashed is None:
                return
            self._crashed.add(crashed)

    def _replay_until_crash(self, upto):
        """Replay cells before `upto`; the index of a cell that killed the kernel, or None."""
        for index in range(upto):
            cell = self.nb.cells[index]
            if cell.cell_type != "code" or utils.is_grade(cell) or index in self._crashed:
                continue
            if time.monotonic() > self._deadline:
                return None
            try:
                # A copy runs, for its side effects only: the notebook keeps the original outputs.
                self.execute_cell(copy.deepcopy(cell), index, store_history=False)
            except DeadKernelError:
                return index
            finally:
                self.nb.cells[index] = cell
        return None

    def output(self, outs, msg, display_id, cell_index):
        """Keep a cell's output until it reaches max_output_bytes, then say it was cut.

        Result records of the checks are small and always kept, so printing cannot crowd them out.
        """
        if RESULT_MIME in msg.get("content", {}).get("data", {}):
            return super().output(outs, msg, display_id, cell_index)
        size = len(str(msg.get("content", "")))
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        if used + size <= self.max_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if used <= self.max_output_bytes:
            outs.append(
                NotebookNode(
                    output_type="stream",
                    name="stdout",
                    text=f"\n... output cut after {self.max_output_bytes} bytes ...\n",
                )
            )
        return None
