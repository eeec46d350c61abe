"""The integrity probe's record: what the student's kernel reports of its own state after the last cell.

``ContainedExecute`` (cnnkit.grading.execute) appends ``PROBE_SOURCE`` as a last cell and runs it in the
kernel: it displays ``{"flags": [reason, ...]}`` under PROBE_MIME (hooks registered, functions of numpy,
builtins or the checker replaced, processes still running). ``read`` takes the flags back out of that
cell's outputs for ``IntegrityReport`` (cnnkit.grading.integrity). Student code can lie to the probe
(it runs in their kernel); the static scan and the sandbox do not depend on it.
"""

PROBE_MIME = "application/vnd.cnnkit.probe+json"
MAX_FLAGS = 100  # flags taken from one report
MAX_REASON = 300  # characters kept of one flag

# Runs in the student's kernel after the last cell. Uses only what it imports itself.
PROBE_SOURCE = (
    r"""
def _cnnkit_probe():
    import builtins, os, sys, types
    import numpy, numpy.testing, numpy.random, numpy.linalg
    from IPython import get_ipython
    from IPython.display import display
    found = []
    shell = get_ipython()
    for event, callbacks in shell.events.callbacks.items():
        for callback in callbacks:
            module = getattr(callback, "__module__", None) or "?"
            if not module.startswith(("IPython", "ipykernel", "matplotlib", "matplotlib_inline")):
                found.append(f"IPython {event} hook registered: {getattr(callback, '__qualname__', callback)!r}")
    if shell.custom_exceptions:
        found.append("custom exception handler set with set_custom_exc")
    for hook in ("excepthook", "displayhook"):
        if getattr(getattr(sys, hook), "__module__", None) in ("__main__", None):
            found.append(f"sys.{hook} replaced by the notebook")
    for space in (numpy, numpy.testing, numpy.random, numpy.linalg, builtins):
        for name, value in list(vars(space).items()):
            module = getattr(value, "__module__", None)
            if isinstance(value, types.FunctionType) and module in ("__main__", None):
                found.append(f"{space.__name__}.{name} replaced by a function defined in the notebook")
    checks = sys.modules.get("cnn_checks")
    for name in ("grade", "check", "judge", "make_inputs", "publish"):
        value = getattr(checks, name, None)
        if checks is not None and getattr(value, "__module__", None) != "cnn_checks":
            found.append(f"cnn_checks.{name} replaced")
    me = os.getpid()
    session = os.getsid(me)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            try:
                if os.getsid(int(entry)) == session:
                    with open(f"/proc/{entry}/cmdline", "rb") as handle:
                        command = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
                    found.append(f"process still running from the notebook: {command[:120]}")
            except OSError:
                pass
    display({%r: {"flags": found}}, raw=True)

_cnnkit_probe()
del _cnnkit_probe
"""
    % PROBE_MIME
)


def read(cell) -> list[str] | None:
    """The probe's flags from its cell's outputs, or None if it did not report.

    The probe reports once. More than one report means student code (a hook) added its own, so none
    is trusted alone: every flag of every report is kept, and the forgery is a flag itself.
    """
    reports = [
        data
        for output in cell.get("outputs", [])
        for data in [output.get("data", {}).get(PROBE_MIME)]
        if isinstance(data, dict) and isinstance(data.get("flags"), list)
    ]
    if not reports:
        return None
    flags = [str(flag)[:MAX_REASON] for report in reports for flag in report["flags"][:MAX_FLAGS]]
    if len(reports) > 1:
        flags.append(f"the integrity probe's report appeared {len(reports)} times (student code forged one)")
    return flags
