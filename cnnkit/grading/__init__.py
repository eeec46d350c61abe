"""The grading steps that run inside nbgrader's autograde, in pipeline order (nbgrader_config.py).

- ``batch.AutogradeStart`` (``c.Autograde.exporter_class``): when autograde starts, the gradebook
  backup and the removal of unfinished autograded folders (``batch.prepare_autograde``, which the
  kit's coordinator calls itself); ``batch.mark_graded`` (post-convert hook) marks a finished one.
- ``integrity.RecordSubmissionChanges``: before nbgrader restores locked cells, note what changed.
- ``rebuild.RebuildFromRelease``: grade the release's cells, in the release's order, with only the student's
  answers (and added cells) carried over; every repair becomes an integrity flag.
- ``execute.ContainedExecute``: runs the notebook with a time budget, dead-kernel recovery and an
  output cap, and the integrity probe after the last cell, and puts the working folder back as it was
  (``workdir``); ``spare``: the kernel it boots ahead
  for the next notebook a grading process grades; ``kernel_messages``: every message of the kernel
  read within bounds, what cannot be read set aside with a note.
- ``verify.VerifyResults``: decides every check cell's score outside the student's kernel, from result
  records rebuilt by ``result_records`` (a record the checker could not have written fails its case).
- ``scrub.ScrubHiddenTests``: redacts outputs that repeat hidden-test code.
- ``integrity.IntegrityReport``: writes integrity.json for the instructor.
- ``sanitize.SanitizeForPeople``: last, leaves nothing that runs script in feedback or the formgrader
  (``html_shape`` bounds the HTML it hands to the sanitiser).

``offline``: the same judging (VerifyResults) on answers run in this process, for the kit's samples and
tests only (trusted code). ``time_policy``: every time limit on student code, in one place. The private jupyter_client and
nbclient calls these steps need are in cnnkit.compat (its grading section).
"""
