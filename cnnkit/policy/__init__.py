"""The course's submission policy: which submissions are graded, which attempt counts, the late penalty.

It is set in one place, nbgrader_config.py (``c.SubmitPolicy.*``), and every way of grading applies
it: the hub's grading service, collect from the exchange, `make autograde` and stock `nbgrader
autograde` (through nbgrader's late-penalty plugin). So it sits below all of them.

- ``rules``: the SubmitPolicy and its rules, pure functions of the policy and of times (attempts,
  the official attempt, lateness and its penalty, extensions, the gradebook's deadline).
- ``late``: ``PolicyLatePenalty``, nbgrader's late-submission plugin with the policy's penalty
  (``c.AssignLatePenalties.plugin_class``).
- ``ledger``: the grading service's ledger: what the policy made of every submission it took in
  (status, attempt, official time, score), read by collect and the students' status page.
"""
