"""The grading steps that run inside nbgrader's autograde, in pipeline order (nbgrader_config.py).

- ``integrity.RecordSubmissionChanges``: before nbgrader restores locked cells, note what changed.
- ``execute.ContainedExecute``: runs the notebook with a time budget, dead-kernel recovery and an
  output cap, and the integrity probe after the last cell.
- ``verify.VerifyResults``: decides every check cell's score outside the student's kernel.
- ``scrub.ScrubHiddenTests``: redacts outputs that repeat hidden-test code.
- ``integrity.IntegrityReport``: writes integrity.json for the instructor.
- ``batch``: the gradebook backup before a batch and the markers that make an interrupted batch resume.
"""
