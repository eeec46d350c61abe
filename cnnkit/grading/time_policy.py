"""The kit's time policy: how long student code may run, and what happens when it runs longer.

Every limit on time is set here; the README's "Time policy" section describes the same numbers.
Five limits nest, from the innermost outwards (each says who reads it):

1. ``CHECK_BUDGET``: one function's cases in ``grade(...)`` (kernel side). When a function has spent
   this much on its cases, its remaining cases are not called and fail with a message saying so.
   The checker shipped in the release cannot import the kit: its ``TIME_BUDGET_SECONDS`` is a
   literal that tests/spec/test_spec.py keeps equal to this.
2. ``CELL_TIMEOUT``: one cell (nbgrader's ``Execute.timeout``, set in nbgrader_config.py). A hung cell
   is interrupted; its check fails, the next cells run.
3. ``NOTEBOOK_BUDGET``: the whole notebook (``ContainedExecute.notebook_budget``: its default, and
   nbgrader_config.py). Cells after it are not run (NotRun), and what ran is graded.
4. ``SANDBOX_CPU_SECONDS``: CPU time of any one process in the sandbox (RLIMIT_CPU): a safety net
   for a process that escapes the budgets above, e.g. one left running in the background.
   nbgrader_config.py passes it to ``sandbox.configure(cpu_seconds=...)``; the launcher, which is
   stdlib-only, keeps it as the literal default of ``cnnkit.sandbox.bwrap.Limits.cpu_seconds``
   (tests/sandbox/test_units.py keeps the two equal).
5. ``kill_after(...)``: wall time of one submission in a grading process (the kit's parallel
   autograde only, cnnkit.scale.coordinator). Twice the notebook's bound plus ``KILL_MARGIN``, so
   that only a submission stock nbgrader would also hang on is killed; then the grading process
   and its kernel are killed and the submission is reported as timed out.

All values are seconds.
"""

CHECK_BUDGET = 20
CELL_TIMEOUT = 120
NOTEBOOK_BUDGET = 600
SANDBOX_CPU_SECONDS = 300
KILL_MARGIN = 60


def kill_after(notebook_budget=None, cell_timeout=None, code_cells=1):
    """Seconds a submission may take in a grading process before it is killed.

    With a notebook budget, twice the budget plus the margin; without one (stock Execute), twice
    the per-cell timeout for every code cell plus the margin.
    """
    if notebook_budget:
        return 2 * float(notebook_budget) + KILL_MARGIN
    per_cell = float(cell_timeout or 30)
    return 2 * per_cell * max(code_cells, 1) + KILL_MARGIN
