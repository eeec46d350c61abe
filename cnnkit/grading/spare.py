"""Spare kernels: a kernel booted ahead, in an empty folder of its own, for the next notebook a process grades.

Only speed depends on them, never a result. ``ContainedExecute`` (cnnkit.grading.execute) starts one
once a notebook's kernel is ready (with ``spare_kernel_dir`` set, as cnnkit.scale's grading processes
set it) and takes it over for the next notebook: the working copy's files move into the spare's
folder, which then takes the working copy's place (``move_into_place``: a rename, which the kernel's
launcher, whose working folder it is, follows), and the kernel copies the files in from its launcher
(``copy_files_in``). So the kernel runs on the submission's files as a fresh one would; it has run
nothing but its own start-up and, optionally, the notebook's imports (``warm_up_code``: in a
namespace of its own, output and warnings caught; a spare whose imports printed or warned is not
used, since a fresh kernel would have shown that in the notebook).

One grading process grades one notebook at a time, so there is at most one spare per process:
``waiting()``, ``keep()``, ``take()``, ``discard_spare()``. It is poked (``SpareKernel.poke``) between the
cells of the notebook being graded and, by a grading process waiting for its next job, while it waits
(``poke_while_idle``): either way it runs its imports as soon as it answers.
"""

import os
import queue
import shutil
import time
from pathlib import Path

from jupyter_core.utils import run_sync

from cnnkit import compat
from cnnkit.sandbox.bwrap import COPY_IN_CALL

ASK_AGAIN = 0.5  # seconds before a spare that has not answered kernel_info is asked again
POKE_WITHIN = 60  # seconds after its start during which an idle process pokes its spare (see poke_while_idle)
QUIET_ANSWER = "__import__('sys').__dict__.pop('_cnnkit_quiet', False)"
WARM_UP_LINES = (
    "import contextlib, io, sys, warnings",
    "caught = io.StringIO()",
    "with contextlib.redirect_stdout(caught), contextlib.redirect_stderr(caught), "
    "warnings.catch_warnings(record=True) as warned:",
    "    {imports}",
    "sys._cnnkit_quiet = not caught.getvalue() and not warned",
)

_spare = None  # this process's spare kernel, or None


def waiting():
    """This process's spare kernel (a SpareKernel), or None."""
    return _spare


def keep(spare):
    """Make spare this process's spare kernel (there was none)."""
    global _spare
    _spare = spare


def take():
    """This process's spare kernel, or None; the process has none afterwards."""
    global _spare
    spare, _spare = _spare, None
    return spare


def poke_while_idle(idle):
    """Poke this process's spare, again while idle() (a grading process waiting for its next job: False once one
    came), until it has been sent its imports: the next notebook then finds them done.

    Gives up POKE_WITHIN seconds after the spare started (one that never answers is found out at take-over).
    """
    spare = _spare
    while spare is not None and spare.imports_pending() and time.monotonic() - spare.started < POKE_WITHIN:
        spare.poke()
        if not idle():
            return


def discard_spare():
    """Shut down this process's spare kernel, if it has one (a grading process does, when it ends)."""
    spare = take()
    if spare is not None:
        spare.discard()


def warm_up_code(imports):
    """Code importing the modules in a namespace of its own (nothing lands in the notebook's)."""
    source = "\n".join(WARM_UP_LINES).format(imports="; ".join(f"import {name}" for name in imports))
    return f"exec({source!r}, {{}})"


def is_reply(message):
    return message["msg_type"].endswith("_reply")


def is_idle(message):
    return message["msg_type"] == "status" and message["content"].get("execution_state") == "idle"


def move_into_place(folder, workdir):
    """Make folder (a spare kernel's, empty) the working copy: workdir's entries move in, then it takes workdir's place.

    The folder gets workdir's mode.
    """
    mode = os.stat(workdir).st_mode
    for name in os.listdir(workdir):
        os.rename(workdir / name, folder / name)
    os.chmod(folder, mode & 0o7777)
    os.rmdir(workdir)
    os.rename(folder, workdir)


class SpareKernel:
    """A kernel started ahead of time in an empty folder of its own, for the next notebook.

    Its client connects at once: by the time the notebook takes the kernel over, the client's
    IOPub subscription is in place, and the ready check takes one round trip. (A client that
    connects to a running kernel waits 0.2 s for IOPub to catch up; jupyter_client's check.)
    """

    def __init__(self, manager, folder, kernel_name, imports=()):
        self.manager, self.folder, self.kernel_name = manager, Path(folder), kernel_name
        self.client = manager.client()
        self.client.start_channels()
        self.imports = list(imports)
        self.started = time.monotonic()
        self.warm_up = None  # the request running the imports, once sent
        self.asked = None  # (request, when) of the last kernel_info sent to learn that it is up

    def imports_pending(self):
        """Whether it has imports to run that it has not been sent yet."""
        return self.warm_up is None and bool(self.imports)

    def poke(self):
        """Between two cells of the current notebook: once the spare answers, send it the imports.

        A request sent before the kernel listens may be lost (jupyter_client re-sends kernel_info
        for that reason), so the imports wait for a reply. Never blocks.
        """
        if self.warm_up is not None or not self.imports:
            return
        run_sync(self._poke)()

    async def _poke(self):
        while True:
            try:
                message = await self.client.shell_channel.get_msg(timeout=0)
            except queue.Empty:
                break
            if self.asked and message["parent_header"].get("msg_id") == self.asked[0]:
                code = warm_up_code(self.imports)
                self.warm_up = self.client.execute(code, silent=True, store_history=False)
                return
        if self.asked is None or time.monotonic() - self.asked[1] > ASK_AGAIN:
            self.asked = (self.client.kernel_info(), time.monotonic())

    def fits(self, kernel_name, workdir):
        """Usable for a notebook run with kernel_name in workdir (its folder can be renamed there)?"""
        return (
            kernel_name == self.kernel_name
            and self.folder.is_dir()
            and os.stat(self.folder).st_dev == os.stat(workdir.parent).st_dev
            and run_sync(self.manager.is_alive)()
        )

    def wait_until_ready(self, timeout):
        """Wait until the kernel answered kernel_info and reported idle for it; RuntimeError if it died first.

        jupyter_client's wait_for_ready ends by waiting for 0.2 s of IOPub silence; here the idle
        status of this very request proves IOPub connected and marks the end of what the kernel
        had to say so far, so there is nothing to wait for.
        """
        run_sync(self._wait_until_ready)(timeout)

    async def _wait_until_ready(self, timeout):
        deadline = time.monotonic() + timeout
        if self.warm_up is not None:  # the kernel runs requests in order: the imports came first
            reply = await self._next(self.client.shell_channel, self.warm_up, deadline, is_reply)
            if reply["content"].get("status") != "ok":
                raise RuntimeError("its imports failed")
            if not await self._quiet():
                raise RuntimeError("its imports printed or warned, as they would have in the notebook")
        while True:
            request = self.client.kernel_info()
            try:
                step = min(deadline, time.monotonic() + ASK_AGAIN)
                reply = await self._next(self.client.shell_channel, request, step, is_reply)
                await self._next(
                    self.client.iopub_channel, request, min(deadline, time.monotonic() + ASK_AGAIN), is_idle
                )
            except TimeoutError:
                # A kernel still starting may lose a request (or its IOPub messages): ask again, as
                # jupyter_client's wait_for_ready does, until the deadline.
                if time.monotonic() > deadline:
                    raise RuntimeError("the kernel did not answer in time") from None
                continue
            compat.record_kernel_info(self.client, reply)
            return

    def copy_files_in(self, timeout):
        """Once its folder is the working copy: the kernel copies the files into its own working folder.

        In the sandbox a kernel works on a copy (bwrap.COPY_IN), made when it starts from what its
        launcher hands it; a spare started in an empty folder. RuntimeError if the copy failed or the
        kernel died; TimeoutError if too slow.
        """
        run_sync(self._copy_files_in)(timeout)

    async def _copy_files_in(self, timeout):
        request = self.client.execute(COPY_IN_CALL, silent=True, store_history=False)
        reply = await self._next(self.client.shell_channel, request, time.monotonic() + timeout, is_reply)
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"it could not copy the working copy in: {reply['content'].get('evalue')}")

    async def _quiet(self):
        """Whether the warm-up imports printed nothing and raised no warning (the kernel kept the answer)."""
        ask = self.client.execute("", silent=True, store_history=False, user_expressions={"quiet": QUIET_ANSWER})
        reply = await self._next(self.client.shell_channel, ask, time.monotonic() + 30, is_reply)
        answer = reply["content"].get("user_expressions", {}).get("quiet", {})
        return answer.get("status") == "ok" and answer.get("data", {}).get("text/plain") == "True"

    async def _next(self, channel, request, deadline, wanted):
        """The next message on channel answering request and accepted by wanted.

        RuntimeError if the kernel died; TimeoutError if none came before the deadline.
        """
        while True:
            try:
                message = await channel.get_msg(timeout=min(1.0, max(deadline - time.monotonic(), 0.01)))
            except queue.Empty:
                if not await self.manager.is_alive():
                    raise RuntimeError("the kernel died before it was ready") from None
                if time.monotonic() > deadline:
                    raise TimeoutError from None
                continue
            if message["parent_header"].get("msg_id") == request and wanted(message):
                return message

    def discard(self):
        """Stop the kernel at once (its launcher still cleans up: compat.kernel_manager_class) and remove its folder."""
        try:
            self.client.stop_channels()
            if run_sync(self.manager.is_alive)():
                run_sync(self.manager.shutdown_kernel)(now=True)
        finally:
            run_sync(self.manager.cleanup_resources)()
            shutil.rmtree(self.folder, ignore_errors=True)
