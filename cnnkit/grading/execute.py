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
- after the last cell, the integrity probe (``cnnkit.records.probe.PROBE_SOURCE``) runs in the
  same kernel; its findings go to ``resources["cnnkit_probe"]``, not into the notebook.

Three things only make it faster, never change a result:

- a cell that only draws (a figure of the student's results: cnnkit.spec.figures), left as released,
  runs its definitions only: no score depends on a picture, and drawing was most of the kernel's time
  for a correct submission. It gets a line saying it is drawn in the student's notebook only (the
  release's illustrations are pictures in markdown cells: nothing runs for them);

- once the notebook has run (the probe included), its kernel is stopped at once (``shutdown_kernel``
  "immediate": SIGTERM to the sandbox's launcher, which ends the sandbox and cleans up after it), not
  asked to shut down and waited for; and a kernel is checked for every 10 ms, not every 100 ms, until
  it is gone (both ``compat.kernel_manager_class``, which also keeps every kernel on private Unix sockets);
- with ``spare_kernel_dir`` set (cnnkit.scale's grading processes set it), once this notebook's
  kernel is ready a *spare* kernel starts for the next notebook this process grades, which takes
  it over once it is ready (``start_spare``, ``take_over``; the spare itself: cnnkit.grading.spare).

The limits' defaults come from cnnkit.grading.time_policy; nbgrader_config.py sets them from there too.
"""

import collections
import copy
import functools
import shutil
import signal
import tempfile
import time
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_hook
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Enum, Integer, List, Unicode

from cnnkit import compat, course
from cnnkit.grading import kernel_messages, workdir
from cnnkit.grading import spare as spares
from cnnkit.grading.spare import SpareKernel
from cnnkit.grading.time_policy import NOTEBOOK_BUDGET
from cnnkit.records import probe as probe_record
from cnnkit.records.result import RESULT_MIME
from cnnkit.sandbox import cgroup
from cnnkit.spec import figures

NOT_DRAWN = "(This figure is drawn in your own notebook when you run the cell; grading does not draw it.)\n"


@functools.cache
def installed_versions_checked():
    """compat.check_grading(), once per process: GradingApiChanged names what an upgrade changed."""
    compat.check_grading()
    return True


def error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class ContainedExecute(Execute):
    """Execute with a notebook time budget, dead-kernel recovery and an output cap."""

    notebook_budget = Integer(NOTEBOOK_BUDGET, help="Seconds for the whole notebook; later cells are not run.").tag(
        config=True
    )
    max_restarts = Integer(8, help="Kernel restarts allowed per notebook after the kernel died.").tag(config=True)
    max_output_bytes = Integer(1_000_000, help="Printed output kept per cell while it runs.").tag(config=True)
    max_record_bytes = Integer(
        4_000_000, help="Bytes of the checker's result records kept per cell (their own budget, beside printing)."
    ).tag(config=True)
    max_output_depth = Integer(64, help="Deepest nesting an output may have; deeper ones are dropped.").tag(config=True)
    spare_kernel_imports = List(
        Unicode(),
        help="Modules a spare kernel imports while it waits, as the notebook's first cell would "
        "(e.g. numpy, matplotlib.pyplot); a spare whose imports print or warn is not used.",
    ).tag(config=True)
    shutdown_kernel = Enum(
        ["graceful", "immediate"],
        default_value="immediate",
        help="How a kernel is stopped once nothing more is needed from it: 'immediate' (SIGTERM to its launcher, "
        "which cleans up after the sandbox: compat.kernel_manager_class) or 'graceful' (ipykernel asked to shut down).",
    ).tag(config=True)
    spare_kernel_dir = Unicode(
        "",
        help="Folder where a spare kernel is started for the next notebook this process grades "
        "(cnnkit.scale.worker sets it in the grading processes); empty: no spare kernel.",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        installed_versions_checked()  # before grading anything: the private calls below are still there
        kwargs.setdefault("kernel_manager_class", compat.kernel_manager_class())
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources, km=None):
        self._first_kernel = True  # the next kernel is the notebook's first (a spare may be taken over)
        self._deadline = time.monotonic() + self.notebook_budget
        self._restarts = 0
        self._kernel_gone = None
        self._crashed = set()  # cells that killed the kernel: never replayed
        self._output_bytes, self._record_bytes = {}, {}
        self._kernels = set()  # connection files of this notebook's kernels: their limit reports (cgroup.py)
        self._limits_hit = []
        self._probe_index = len(nb.cells)
        self._released_drawings = self._release_drawings(resources)
        nb.cells.append(new_code_cell(probe_record.PROBE_SOURCE))
        folder = self._workdir_of(resources)
        before = workdir.snapshot(folder) if folder else None
        previous = self._watch_for_ctrl_c()
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            probe = nb.cells.pop(self._probe_index)
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        resources["cnnkit_probe"] = probe_record.read(probe)
        resources["cnnkit_limits_hit"] = self._limits_hit + [
            reason for connection_file in self._kernels for reason in cgroup.read_report(connection_file)
        ]
        resources["cnnkit_workdir_changes"] = workdir.restore(folder, before) if folder else []
        return nb, resources

    @staticmethod
    def _workdir_of(resources):
        path = (resources or {}).get("metadata", {}).get("path")
        return Path(path) if path and Path(path).is_dir() else None

    def create_kernel_manager(self):
        """The notebook's first kernel: this process's spare kernel if it fits and is ready, else a new one."""
        if self._first_kernel:
            ready = spares.take()
            if ready is not None and self.take_over(ready):
                return self.km
        return super().create_kernel_manager()

    def take_over(self, spare):
        """Run this notebook in the spare kernel: once it is ready, its folder becomes the working copy.

        Sets km and kc (so nbclient neither starts a kernel nor connects a client), does what
        nbclient does once connected, and starts the next spare. False (the spare discarded) if
        the spare does not fit or died.
        """
        workdir = self._workdir()
        try:
            if workdir is None or not spare.fits(self._kernel_name(), workdir):
                raise RuntimeError("it does not fit this notebook or is not running")
            waited = time.perf_counter()
            spare.wait_until_ready(self.startup_timeout)
            waited = time.perf_counter() - waited
        except (RuntimeError, TimeoutError) as error:
            self.log.warning("Not using the spare kernel (%s); starting a new one", error)
            spare.discard()
            return False
        spares.move_into_place(spare.folder, workdir)
        try:
            spare.copy_files_in(self.startup_timeout)
        except (RuntimeError, TimeoutError) as error:
            self.log.warning("Not using the spare kernel (%s); starting a new one", error)
            spare.discard()  # its folder is the working copy now, under the working copy's name: kept
            return False
        self.km, self.kc = spare.manager, spare.client
        self.kc.allow_stdin = False  # as nbclient sets it on a client it connected
        run_sync(run_hook)(self.on_notebook_start, notebook=self.nb)
        self.log.info("Running the notebook in the spare kernel started for it (ready after %.2f s)", waited)
        self._first_kernel = False
        self.start_spare()
        return True

    def start_new_kernel_client(self):
        """Connect to a kernel just started (nbclient's way); after the notebook's first, start a spare."""
        client = super().start_new_kernel_client()
        if self._first_kernel:
            self._first_kernel = False
            self.start_spare()
        return client

    @classmethod
    def start_spare_ahead(cls, config, spare_kernel_dir):
        """Start a spare kernel before any notebook, with config's settings (a grading process does so
        while it waits for its first job). Only with a configured kernel_name: that is the kernel
        every notebook will run in, whatever its metadata says."""
        executor = cls(config=config, spare_kernel_dir=str(spare_kernel_dir))
        if executor.kernel_name:
            executor.nb, executor.resources = new_notebook(), {}
            executor.start_spare()

    def start_spare(self):
        """Start a kernel for the next notebook, in an empty folder of spare_kernel_dir (if set)."""
        if not self.spare_kernel_dir or spares.waiting() is not None:
            return
        base = Path(self.spare_kernel_dir)
        base.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="kernel-", dir=base))
        current, manager = self.km, None
        try:
            manager = super().create_kernel_manager()  # nbclient's: configured name, class and options
            self.start_new_kernel(cwd=str(folder))  # nbclient's: the same arguments as this notebook's kernel
            spares.keep(SpareKernel(manager, folder, self._kernel_name(), self.spare_kernel_imports))
            self.log.info("Started a spare kernel for the next notebook in %s", folder)
        except Exception as error:  # only speed is lost: the next notebook starts its own kernel
            self.log.warning("Could not start a spare kernel: %s", error)
            if manager is not None and manager.has_kernel:
                run_sync(manager.shutdown_kernel)(now=True)
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            self.km = current

    def _workdir(self):
        path = (self.resources or {}).get("metadata", {}).get("path")
        return Path(path) if path else None

    def _kernel_name(self):
        return self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name")

    def preprocess_cell(self, cell, resources, index):
        if spares.waiting() is not None:
            spares.waiting().poke()
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
        if self.km is not None and self.km.connection_file:
            self._kernels.add(self.km.connection_file)
        try:
            if cell.source in self._released_drawings and figures.only_draws(cell):
                return self._define_without_drawing(cell, resources, index)
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            if self._interrupted:  # Ctrl-C took the kernel down with it: stop, do not revive
                raise KeyboardInterrupt("grading interrupted") from None
            self.log.warning("The kernel died in cell %d; starting a new one", index)
            why = self._limits_that_killed()
            self._limits_hit += why
            cause = "; ".join(why) or "os._exit, a crash, or too much memory"
            cell.outputs.append(
                error_output(
                    "KernelDied",
                    f"the kernel died while running this cell ({cause}); later cells ran in a fresh kernel",
                )
            )
            self._crashed.add(index)
            self._revive(index)
            return cell, resources

    def _define_without_drawing(self, cell, resources, index):
        """Run the definitions of a cell that only draws, left as released; it says where its picture is."""
        drawing_source = cell.source
        cell.source = figures.definitions_only(drawing_source)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        finally:
            cell.source = drawing_source
        if not any(output.get("output_type") == "error" for output in cell.outputs):
            cell.outputs = [new_output("stream", name="stdout", text=NOT_DRAWN)]
        return cell, resources

    @staticmethod
    def _release_drawings(resources):
        """The sources of the release's cells that only draw (none when the release is not beside the kit)."""
        name = ((resources or {}).get("nbgrader") or {}).get("notebook")
        path = course.RELEASE / f"{name}.ipynb"
        return figures.released_drawings(path) if name and path.is_file() else frozenset()

    def _limits_that_killed(self, wait=2.0):
        """The whole-sandbox limits the dead kernel hit, from its launcher's report (written as it ends).

        The launcher writes a report only when a limit was hit, before it exits: once it has exited with
        none there is nothing to wait for (a plain crash used to wait the whole 2 s for a report that never
        comes).
        """
        connection_file = self.km.connection_file
        report = cgroup.report_path(connection_file)
        launcher = getattr(self.km.provisioner, "process", None)  # jupyter_client's LocalProvisioner: a Popen
        deadline = time.monotonic() + wait
        while not report.exists() and time.monotonic() < deadline:
            if launcher is not None and launcher.poll() is not None:
                break
            time.sleep(0.05)
        self._kernels.discard(connection_file)
        return cgroup.read_report(connection_file)

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
            compat.cleanup_kernel(self)
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

    def execute_cell(self, cell, cell_index, *args, **kwargs):
        """Run one cell, every message of its kernel read by a MessageGuard; the messages it set aside get a note."""
        guard = kernel_messages.guard(self.kc.session, self.max_output_depth)
        try:
            return super().execute_cell(cell, cell_index, *args, **kwargs)
        finally:
            dropped = collections.Counter(guard.take_dropped())
            if dropped:
                listed = "; ".join(f"{reason} (x{count})" if count > 1 else reason for reason, count in dropped.items())
                self._note(cell.outputs, cell_index, f"messages from the kernel were set aside: {listed}")

    def process_message(self, msg, cell, cell_index):
        """nbclient's handling of a message from the kernel, for messages it can handle; a note for the others.

        Widget (comm) messages are ignored: no score depends on a widget, and their state would go
        unchecked into the notebook. Display ids are dropped (kernel_messages.without_display_id).
        """
        problem = kernel_messages.message_problem(msg)
        if problem is None and msg["msg_type"].startswith("comm"):
            return None
        if problem is None:
            try:
                return super().process_message(kernel_messages.without_display_id(msg), cell, cell_index)
            except kernel_messages.INVALID_OUTPUT as error:
                problem = f"a {msg['msg_type']} message that is not a valid output ({type(error).__name__})"
        self._note(cell.outputs, cell_index, f"{problem} was replaced by this note")
        return None

    def _note(self, outs, cell_index, text):
        """A line in the cell's output saying what the kit did, within the cell's output budget."""
        note = f"\n... the course kit: {text} ...\n"
        if self._spend(self._output_bytes, self.max_output_bytes, cell_index, len(note)):
            outs.append(NotebookNode(output_type="stream", name="stdout", text=note))

    @staticmethod
    def _spend(budget, limit, cell_index, size):
        """Count size against the cell's budget; True while it stays within limit."""
        budget[cell_index] = budget.get(cell_index, 0) + size
        return budget[cell_index] <= limit

    def output(self, outs, msg, display_id, cell_index):
        """Keep a cell's output until it reaches max_output_bytes, then say it was cut.

        Result records of the checks have a budget of their own (max_record_bytes), so printing cannot
        crowd them out, nor can records dressed as results flood the notebook. (What nests deeper than
        max_output_depth never gets here: the MessageGuard sets it aside.)
        """
        content = msg["content"]
        is_record = RESULT_MIME in (content.get("data") or {})
        budget, limit = (
            (self._record_bytes, self.max_record_bytes) if is_record else (self._output_bytes, self.max_output_bytes)
        )
        used = budget.get(cell_index, 0)
        if self._spend(budget, limit, cell_index, len(str(content))):
            return super().output(outs, msg, display_id, cell_index)
        if used <= limit:
            what = "result records" if is_record else "output"
            outs.append(
                NotebookNode(output_type="stream", name="stdout", text=f"\n... {what} cut after {limit} bytes ...\n")
            )
        return None
