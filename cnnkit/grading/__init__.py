"""The grading steps that run inside nbgrader's autograde, in pipeline order (nbgrader_config.py).

Before the notebook runs (``c.Autograde.sanitize_preprocessors``):

- ``integrity.RecordSubmissionChanges``: before nbgrader restores locked cells, note what changed.
- ``rebuild.RebuildFromRelease``: grade the release's cells, in the release's order, with only the student's
  answers (and added cells) carried over; every repair becomes an integrity flag.

Running and judging it (``c.Autograde.autograde_preprocessors``):

- ``execute.ContainedExecute``: runs the notebook with a time budget, dead-kernel recovery and an
  output cap, and the integrity probe (cnnkit.records.probe) after the last cell, and puts the working
  folder back as it was (``workdir``); ``spare``: the kernel it boots ahead for the next notebook a
  grading process grades; ``kernel_messages``: every message of the kernel read within bounds, what
  cannot be read set aside with a note.
- ``verify.VerifyResults``: decides every check cell's score outside the student's kernel, from the
  checker's result records (cnnkit.records.result: a record the checker could not have written fails its
  case), and writes the verdict (cnnkit.records.verdict).
- ``part_policy.PartBVerdicts``: the Part B policy in the verdicts (and, in the release,
  ``StatePartBPolicy``).
- ``scrub.ScrubHiddenTests``: redacts outputs that repeat hidden-test code (and, for feedback,
  ``WithholdOutputsAfterHiddenTests``).
- ``integrity.IntegrityReport``: writes the integrity record for the instructor (cnnkit.records.integrity).
- ``sanitize.SanitizeForPeople``: last, leaves nothing that runs script in feedback or the formgrader
  (``html_shape`` bounds the HTML it hands to the sanitiser).

``feedback_page.FeedbackExporter``: the feedback page (``c.GenerateFeedback.exporter_class``), in the kit's
template, with ``feedback_summary.FeedbackSummary``'s summary on top and formulas as MathML (``mathml``;
``remember`` keeps what every page shares). ``offline``:
the same judging (VerifyResults) on answers run in this process, for the kit's samples and tests only
(trusted code). ``time_policy``: every time limit on student code, in one place. The private
jupyter_client and nbclient calls these steps need are in cnnkit.compat. What happens around a batch
(the gradebook backup, admission, unfinished work, the graded marker) is cnnkit.scale.course_start's.
"""
