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

from cnnkit import compat, sandbox  # noqa: E402
from cnnkit.grading import time_policy  # noqa: E402
from cnnkit.grading.execute import ContainedExecute  # noqa: E402
from cnnkit.grading.feedback_page import FeedbackExporter  # noqa: E402
from cnnkit.grading.feedback_summary import FeedbackSummary  # noqa: E402
from cnnkit.grading.integrity import IntegrityReport, RecordSubmissionChanges  # noqa: E402
from cnnkit.grading.rebuild import RebuildFromRelease  # noqa: E402
from cnnkit.grading.sanitize import SanitizeForPeople  # noqa: E402
from cnnkit.grading.scrub import ScrubHiddenTests, WithholdOutputsAfterHiddenTests  # noqa: E402
from cnnkit.grading.verify import VerifyResults  # noqa: E402
from cnnkit.records import integrity, marker  # noqa: E402
from cnnkit.scale import course_start  # noqa: E402

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.course_id = "cnn-step-by-step"
c.CourseDirectory.root = HERE
# The integrity record (for the instructor) and the kit's graded marker are never copied into feedback.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    integrity.FILE,
    marker.FILE,
]

# Every autograde batch starts with a gradebook backup (backups/) and regrades submissions whose
# grading was interrupted; each finished submission gets a marker file (see cnnkit/scale/course_start.py).
# nbgrader builds Autograde's exporter once per command, before it decides which submissions to skip:
# course_start.AutogradeStart (nbgrader's notebook exporter otherwise) runs course_start.prepare then.
c.Autograde.exporter_class = course_start.AutogradeStart
# Collect copies links from the exchange as links; the admission gate moves them aside (docs/security.md).
c.ExchangeFactory.collect = "cnnkit.ingest.collect.LinkSafeCollect"
# release_feedback releases each student's feedback on its own, never through a link, and only the pages of
# the assignment's notebooks; a student it cannot release is named with the reason (the command then exits 1).
c.ExchangeFactory.release_feedback = "cnnkit.ingest.safe_release_feedback.SafeReleaseFeedback"
# The admission gate, first step of every batch (cnnkit/ingest/admit.py): a submission keeps the assignment's
# notebook, nbgrader's timestamp.txt and submission_secret.txt, and only the extra files listed here, as glob
# patterns (e.g. ["*.png", "data.csv"]). Files a browser runs (.html, .svg, .xml, .js ...) and files Python
# could import are refused even when listed. Everything refused goes to quarantine/<student>/ with the reason,
# at most c.Admission.quarantine_files (100) files and c.Admission.quarantine_bytes (20 MB) per student.
c.Admission.extra_files = []
c.Autograde.post_convert_hook = course_start.mark_graded

# Running the student's notebook: a hung cell is interrupted after Execute.timeout seconds, and the
# whole notebook gets ContainedExecute.notebook_budget seconds. Every time limit: cnnkit/grading/time_policy.py.
c.Execute.timeout = time_policy.CELL_TIMEOUT
c.ContainedExecute.notebook_budget = time_policy.NOTEBOOK_BUDGET
# Parallel autograde (cnnkit.scale.worker) boots each next kernel ahead; it may import these then, as the
# notebook's first cell does (a kernel whose imports print or warn is not used). Stock commands ignore it.
c.ContainedExecute.spare_kernel_imports = ["numpy", "matplotlib.pyplot"]
# What a cell's outputs may hold while it runs (the defaults): printed text is cut at max_output_bytes per cell,
# the checker's result records have a budget of their own (max_record_bytes, so printing cannot crowd them
# out), and an output nested deeper than max_output_depth is dropped (docs/security.md, "the kernel's output").
c.ContainedExecute.max_output_bytes = 1_000_000
c.ContainedExecute.max_record_bytes = 4_000_000
c.ContainedExecute.max_output_depth = 64
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
# IntegrityReport writes the integrity record beside the autograded notebook (flags for the instructor);
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

# Feedback: a summary on top (the grade as the Part B policy counts it, then one row per function: points and
# what happened), then the notebook with each check's verdict (FeedbackSummary, from the kit's verdict records).
# It never shows hidden tests (stock nbgrader does: upstream issue 917), nor runs a submission's script
# (SanitizeForPeople again, in case an autograded notebook was made without it).
# Outputs of the student's cells that ran after the first hidden test are withheld from feedback: they could
# carry the hidden tests in any encoding (cnnkit/grading/scrub.py).
c.GenerateFeedback.preprocessors = [
    GetGrades,
    FeedbackSummary,
    WithholdOutputsAfterHiddenTests,
    ClearHiddenTests,
    CSSHTMLHeaderPreprocessor,
    SanitizeForPeople,
]
# nbconvert's HTML page, made without parsing the finished page again, in the kit's template (the summary,
# the verdicts, lines that wrap, no script): cnnkit/grading/feedback_page.py.
c.GenerateFeedback.exporter_class = FeedbackExporter
c.FeedbackExporter.template_name = "cnnkit_feedback"
c.FeedbackExporter.template_file = "cnnkit_feedback.html.j2"
# Formulas as MathML, made here (no MathJax): in feedback pages and in the formgrader, which renders the
# autograded notebook with nbgrader's own HTMLExporter (cnnkit/grading/mathml.py).
c.HTMLExporter.filters = {"markdown2html": "cnnkit.grading.mathml.markdown2html"}

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
c.SafeExtractor.max_folders = 16
# What a whole student id must match, wherever zip_collect reads one (a file name, an archive folder); the
# default: letters, digits, '.', '_', '-' or '@', 1 to 64 of them, not starting with '.' or '-'. A notebook
# whose id does not match is refused and logged (docs/security.md).
c.SafeCollector.student_id_pattern = r"(?![.-])[A-Za-z0-9._@-]{1,64}"
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
# ...and listens on Unix sockets in a private folder, relayed to the process that started it only: no other
# account on this machine can connect to it (the launcher refuses TCP ports, which every account could reach).
c.Execute.kernel_manager_class = compat.kernel_manager_class()
c.Autograde.pre_convert_hook = sandbox.refuse_unsandboxed

# --- Part B (the optional backward part): issue 12 ---
# How Part B counts, set here and nowhere else: "required" (the default: nbgrader's own total, out of every
# check's points), "extra_credit" (graded out of Part A's points, Part B's on top) or "not_graded" (Part A
# only). `make release` states it in the notebook and in public_cases.npz (the self-checks read it there:
# release again after changing it); grades.csv, the LMS files, the score table and the feedback follow it.
# Cell scores never change: the gradebook keeps what each function earned (docs/lms.md, "Part B policy").
c.PartBPolicy.mode = "required"

from nbgrader.converters import GenerateAssignment  # noqa: E402

from cnnkit.grading import part_policy  # noqa: E402
from cnnkit.grading.illustrations import DrawIllustrations  # noqa: E402
from cnnkit.grading.kernel_info import NameTheKernelsLanguage  # noqa: E402

# Release: each illustration becomes its picture, attached to a markdown cell (drawn now by the master's own
# matplotlib code: nothing for Run All to clear, no plotting code in the students' way); the policy's words
# are written into the notebook; its language_info is the kernel's (else JupyterLab marks it changed on open);
# then nbgrader's own steps.
c.GenerateAssignment.preprocessors = [
    DrawIllustrations,
    part_policy.StatePartBPolicy,
    NameTheKernelsLanguage,
    *GenerateAssignment.class_traits()["preprocessors"].default(),
]
# Autograde: a Part B function left out under an optional policy is "not attempted (optional)", not failed.
c.Autograde.autograde_preprocessors.insert(
    c.Autograde.autograde_preprocessors.index(VerifyResults) + 1, part_policy.PartBVerdicts
)

# --- The submission policy (cnnkit/policy/), applied by grading on submit (cnnkit/hub/): issue 13 ---
# The submission policy, in one place (docs/grading-on-submit.md). The service (python -m cnnkit.hub.service)
# applies the attempt rules; the late penalty is applied inside nbgrader by the plugin below, so
# `make autograde`, stock `nbgrader autograde` and the service take off the same points.
c.SubmitPolicy.max_graded_attempts = 0  # graded submissions per student (0: no limit)
c.SubmitPolicy.min_minutes_between_attempts = 0  # least time between two graded submissions
c.SubmitPolicy.counts = "last"  # "last" or "best": which graded attempt is the official score
c.SubmitPolicy.deadline = ""  # e.g. "2026-12-15 23:59 UTC"; written into the gradebook as the duedate
c.SubmitPolicy.grace_minutes = 0  # not late within this many minutes after the (extended) deadline
c.SubmitPolicy.late_penalty_per_day = 0.0  # fraction of the score per started day late (0.1: 10 %)
c.SubmitPolicy.late_penalty_cap = 1.0  # at most this fraction of the score
c.SubmitPolicy.extensions_csv = ""  # e.g. "extensions.csv": student_id, then deadline or extra_days
c.AssignLatePenalties.plugin_class = "cnnkit.policy.late.PolicyLatePenalty"

# --- JupyterHub deployment: issue 13 ---
# On the course hub (make hub, docs/hub.md) this file is copied into the course directory, and the copy's
# line below names the hub's shared exchange (make hub writes it; nbgrader's default exchange otherwise).
# Every grader's server and the grading service read it there.
# c.Exchange.root = "/srv/nbgrader/exchange"
