"""The assignment's specification, read by everything else. It imports nothing of the kit but cnnkit.course.

- ``functions``: one module per graded function, each defining ``FUNCTION`` (a ``graded.GradedFunction``):
  its part, trusted reference (never shipped to students), model of known mistakes and their words, case
  keys and what the sample-partial submission does with it; ``slips``: the words of mistakes several
  functions share; ``reference``: the references' shared building blocks.
- ``table``: the registry (every module of ``functions``, in exercise order: ``SPEC``, ``FUNCTIONS``,
  ``MISTAKE_WORDS``) and the partial-credit rule ``score``. The other half of each function (arguments,
  returned parts, cases, input generation, case words) is its row in the instructor's cnn_checks.py,
  read on first use through ``cnnkit.course.load_checks``, never at import.
- ``notebook``: reading the master notebook (solutions, check cells, their grade(...) calls, points).
- ``validate``: checks the master's check cells before a release (``validate_master``).
- ``samples``: the sample submissions and the scores they must get, worked out from cases and points.
- ``public_data``: builds public_cases.npz, what the student's self-check compares against.
- ``parts``: which function is core and which optional; ``part_b``: the Part B policy (c.PartBPolicy.mode).
- ``totals``: the scoring rule: sums per part, maxima, the late penalty, what the Part B policy counts.
- ``figures``: the release's pictures, drawn from the master's illustration cells; the live figure cells.
"""
