"""Every call into a private API of nbgrader, nbclient, jupyter_client or the interpreter, in one place.

The rest of the kit reaches nbgrader through its public extension points (preprocessors, hooks,
plugins, exporters, config). What has no public way in is wrapped here, one small function each,
and ``check()`` fails loudly, naming what changed, when an upgrade removed or renamed something
this module relies on (tests/test_compat.py runs it; so does every grading process at start).
"""

# --- jupyter_client / nbclient (used by cnnkit.grading) -----------------------------------------

# --- nbgrader applications and the interpreter (used by cnnkit.scale) ---------------------------
