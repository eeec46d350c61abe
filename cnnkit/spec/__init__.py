"""The assignment's specification, read by everything else. It imports nothing of the kit but cnnkit.course.

- ``table``: THE table, one row per function (arguments, returned parts, cache items, public cases,
  input generation and case words from the instructor's cnn_checks.py; part, reference, known
  mistakes and their words from here), and the partial-credit rule ``score``.
- ``reference``: the trusted implementations (never shipped to students).
- ``mistakes``: models of the known mistakes, each a plausible slip, used to name a failure.
- ``notebook``: reading the master notebook (solutions, check cells, their grade(...) calls, points).
- ``validate``: checks the master's check cells before a release (``validate_master``).
- ``samples``: the sample submissions and the scores they must get, worked out from cases and points.
- ``public_data``: builds public_cases.npz, what the student's self-check compares against.
- ``parts``: which function is core and which optional; ``part_b``: the Part B policy (c.PartBPolicy.mode).
- ``totals``: the scoring rule: sums per part, maxima, the late penalty, what the Part B policy counts.
- ``figures``: the release's pictures, drawn from the master's illustration cells; the live figure cells.
"""
