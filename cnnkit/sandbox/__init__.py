"""Student code runs in a sandbox. This package's modules:

- ``cnnkit.sandbox`` (this file): the nbgrader side, below;
- ``launch.py``: the kernel's launcher, run by the kernelspec ``kernels/cnnkit-sandbox`` as
  ``python -I launch.py`` for every kernel: starts ipykernel under bubblewrap, relays its channels to
  the process that started it only, and hands it the working copy's files;
- ``bwrap.py``: how the sandbox is made (settings and limits from the environment, the bwrap command
  line, whether a sandbox starts here); ``workcopy.py``: the working copy made safe for nbgrader again
  after a kernel ran in it; ``cgroup.py``: limits of the whole process tree; ``socketdir.py``: the
  private folders of the kernels' Unix sockets (also those of ``compat.kernel_manager_class``, the
  kit's kernel manager, which keeps every kernel off TCP). Standard library only, as the launcher,
  which loads them by path.

Every kernel nbgrader starts (autograde, validate, formgrader) is the one named by
``c.Execute.kernel_name``: nbclient uses that name whatever kernelspec the notebook carries
(OverwriteKernelspec only rewrites the metadata). Set to ``KERNEL_NAME``, it is the sandbox's
kernelspec. docs/security.md says what that protects and what not.

Three pieces hook it into nbgrader_config.py:

- ``configure()`` makes the kernelspec findable and passes limits down to the launcher;
- ``refuse_unsandboxed`` (``c.Autograde.pre_convert_hook``) stops autograde before the first
  submission when no sandbox can start here, unless the instructor opted out explicitly;
- ``CleanWorkdir``, right after ``Execute``, removes what a submission may have left in its
  working copy to redirect nbgrader's writes (the launcher does it too; this also covers a
  launcher killed before it could).
"""

import os
import sys
from functools import cache
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

from cnnkit.sandbox import bwrap, workcopy
from cnnkit.sandbox.bwrap import ALLOW_ENV, REFUSAL, Limits, Settings

KERNEL_NAME = "cnnkit-sandbox"
# A Jupyter data directory: its kernels/cnnkit-sandbox/kernel.json is the sandbox kernelspec.
DATA_DIR = Path(__file__).resolve().parent


def configure(required=True, **limits):
    """Set up the sandbox for the nbgrader command loading this configuration.

    required=False allows running student code unsandboxed (with a warning) where no sandbox starts.
    limits: any field of bwrap.Limits (memory_mb, cpu_seconds, processes, file_mb, open_files,
    tmp_mb). The launcher is a separate process started by jupyter_client, so all of this travels in
    environment variables.
    """
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p and p != str(DATA_DIR)]
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(DATA_DIR), *paths])
    Limits(**limits)  # fails on an unknown name
    os.environ.update({Limits.env_name(name): str(int(value)) for name, value in limits.items()})
    if not required:
        os.environ[ALLOW_ENV] = "1"


@cache
def why_unavailable(settings):
    """None if a sandbox starts here (tried once per process and settings); otherwise why not."""
    return bwrap.probe(settings)


def refuse_unsandboxed(**_hook_arguments):
    """nbgrader pre_convert_hook: stop autograde before any submission runs if no sandbox can start.

    SystemExit, not an exception: nbgrader logs exceptions of a hook and carries on. Raised before
    anything is written for the submission, so the next run starts from a clean slate.
    """
    settings = Settings.from_env()
    reason = why_unavailable(settings)
    if reason is None:
        return
    if settings.allow_unsandboxed:
        print(f"cnnkit: WARNING: autograding WITHOUT a sandbox ({ALLOW_ENV}=1): {reason}", file=sys.stderr)
        return
    raise SystemExit(REFUSAL.format(reason=reason))


class CleanWorkdir(NbGraderPreprocessor):
    """After Execute: remove symlinks and special files the kernel left in the working copy.

    nbgrader then writes the graded notebook there and chmods every file, following symlinks.
    """

    def preprocess(self, nb, resources):
        path = resources.get("metadata", {}).get("path")
        if path:
            for removed in workcopy.sanitize_workdir(Path(path)):
                self.log.warning("Removed %s left by the student's code", removed)
        return nb, resources
