"""nbgrader configuration for the course: read by every nbgrader command run from this folder."""

import os
import sys

# The kit's package (cnnkit) lives next to this file; the grading process imports it from here.
# It is deliberately not installed into the environment, so student kernels do not find it on sys.path.
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from cnnkit import sandbox  # noqa: E402
from cnnkit.grading import batch, time_policy  # noqa: E402
from cnnkit.grading.execute import ContainedExecute  # noqa: E402
from cnnkit.grading.integrity import IntegrityReport, RecordSubmissionChanges  # noqa: E402
from cnnkit.grading.rebuild import RebuildFromRelease  # noqa: E402
from cnnkit.grading.sanitize import SanitizeForPeople  # noqa: E402
from cnnkit.grading.scrub import ScrubHiddenTests, WithholdOutputsAfterHiddenTests  # noqa: E402
from cnnkit.grading.verify import VerifyResults  # noqa: E402

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.course_id = "cnn-step-by-step"
c.CourseDirectory.root = HERE
# integrity.json (for the instructor) and the kit's marker are never copied into feedback.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "integrity.json", batch.MARKER]

# Every autograde batch starts with a gradebook backup (backups/) and regrades submissions whose
# grading was interrupted; each finished submission gets a marker file (see cnnkit/grading/batch.py).
# nbgrader builds Autograde's exporter once per command, before it decides which submissions to skip:
# batch.AutogradeStart (nbgrader's notebook exporter otherwise) runs batch.prepare_autograde then.
c.Autograde.exporter_class = batch.AutogradeStart
# Collect copies links from the exchange as links; the admission gate moves them aside (docs/security.md).
c.ExchangeFactory.collect = "cnnkit.ingest.collect.LinkSafeCollect"
c.Autograde.post_convert_hook = batch.mark_graded

# Running the student's notebook: a hung cell is interrupted after Execute.timeout seconds, and the
# whole notebook gets ContainedExecute.notebook_budget seconds. Every time limit: cnnkit/grading/time_policy.py.
c.Execute.timeout = time_policy.CELL_TIMEOUT
c.ContainedExecute.notebook_budget = time_policy.NOTEBOOK_BUDGET
# Parallel autograde (cnnkit.scale.worker) boots each next kernel ahead; it may import these then, as the
# notebook's first cell does (a kernel whose imports print or warn is not used). Stock commands ignore it.
c.ContainedExecute.spare_kernel_imports = ["numpy", "matplotlib.pyplot"]
# Outputs kept in autograded notebooks and feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60
# A deleted check cell is put back (and graded) instead of silently scoring nothing.
c.OverwriteCells.add_missing_cells = True

# Before grading: note what the submission changed (edited check cells, kernelspec)
# before nbgrader's OverwriteCells / OverwriteKernelspec put it back.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    RecordSubmissionChanges,
    RebuildFromRelease,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]

# The autograde pipeline: nbgrader's steps, with Execute made robust (ContainedExecute:
# a time budget per notebook, recovery from a dead kernel, output capped while it runs)
# and two of the kit's steps right after it.
# VerifyResults decides the score of every check cell outside the student's kernel;
# CleanWorkdir removes symlinks/FIFOs the code left (nbgrader's writes would follow them);
# ScrubHiddenTests redacts any output that repeats hidden-test code (e.g. echoed by a hook);
# IntegrityReport writes autograded/<student>/<assignment>/integrity.json (flags for the instructor);
# SanitizeForPeople, last, leaves nothing in the autograded notebook that runs script in the browser of
# whoever reads it (the formgrader renders that notebook; feedback is made from it).
c.Autograde.autograde_preprocessors = [
    ContainedExecute,
    sandbox.CleanWorkdir,
    VerifyResults,
    ScrubHiddenTests,
    IntegrityReport,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
    SanitizeForPeople,
]

# Feedback never shows hidden tests (stock nbgrader does: upstream issue 917), nor runs a submission's
# script (SanitizeForPeople again, in case an autograded notebook was made without it).
# Outputs of the student's cells that ran after the first hidden test are withheld from feedback: they could
# carry the hidden tests in any encoding (cnnkit/grading/scrub.py).
c.GenerateFeedback.preprocessors = [
    GetGrades,
    WithholdOutputsAfterHiddenTests,
    ClearHiddenTests,
    CSSHTMLHeaderPreprocessor,
    SanitizeForPeople,
]

# zip_collect (classes without a hub): files downloaded from the LMS are named
# "<student id>_<anything>cnn_step_by_step.ipynb" (Canvas style: "smithjane_12345_67890_cnn_step_by_step.ipynb";
# a resubmission suffix such as "-1" is allowed). Adapt the regular expression to your LMS's names.
# zip_collect: every archive is unpacked with limits, without links or special permission bits, into a
# folder named like it; a notebook belongs to whoever uploaded it, whatever student its name claims;
# student ids are validated. Each refusal is logged ("zip_collect refused ...: reason") and the rest of
# the class is collected (cnnkit/ingest/zip_collect.py).
c.ZipCollectApp.extractor_plugin = "cnnkit.ingest.zip_collect.SafeExtractor"
c.ZipCollectApp.collector_plugin = "cnnkit.ingest.zip_owners.SafeCollector"
# Limits per archive, everything nested in it included (the defaults).
c.SafeExtractor.max_total_bytes = 1024 * 2**20
c.SafeExtractor.max_files = 10_000
c.SafeExtractor.max_file_bytes = 50 * 2**20
c.SafeExtractor.max_depth = 3
c.FileNameCollectorPlugin.named_regexp = (
    # nbgrader matches the whole path, hence the leading ".*/".
    r".*/(?P<student_id>[^_/]+)_(?:[^/]*_)?(?P<file_id>cnn_step_by_step)(?:-\d+)?\.ipynb$"
)

# grades.csv: nbgrader's columns plus core and optional scores.
c.ExportApp.plugin_class = "cnnkit.results.export.PartsCsvExport"

# Student code runs in a bubblewrap sandbox: only its working copy, the Python environment and
# /usr are visible, no network, resource limits (docs/security.md). Every nbgrader command that
# starts a kernel from this folder uses it; autograde refuses to run where it cannot start
# (opt out explicitly with CNNKIT_ALLOW_UNSANDBOXED=1).
sandbox.configure(required=True, cpu_seconds=time_policy.SANDBOX_CPU_SECONDS)
c.Execute.kernel_name = sandbox.KERNEL_NAME
c.Autograde.pre_convert_hook = sandbox.refuse_unsandboxed

# --- Part B (the optional backward part): issue 12 ---

# --- Grading on submit (the hub's grading service, cnnkit/hub/): issue 13 ---

# --- JupyterHub deployment: issue 13 ---
