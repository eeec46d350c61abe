"""Why nbgrader failed on a submission: the exception it stopped on, and where it was raised.

nbgrader's converter (``nbgrader.converters.base.BaseConverter.convert_notebooks``) catches the
exception that stopped a submission, logs its traceback as text, removes the half-made output and, at
the end, exits 1; the exception itself is not kept. While it logs "There was an error processing
assignment", that exception is still the one being handled, so ``CauseKeeper``, a logging filter on
nbgrader's autograde logger, takes it from ``sys.exc_info()``: the cause is read from the exception
and its traceback (the step and the cell), never parsed back out of the log's text. An error logged
with no exception (nbgrader refusing before it converts anything) is kept as its message.
"""

import contextlib
import logging
import sys
import traceback

MAX_TEXT = 300
KIT_MODULES = ("cnnkit", "nbgrader", "nbconvert", "nbclient", "nbformat", "jupyter_client")


class CauseKeeper(logging.Filter):
    """Keeps the first exception being handled when an error is logged, and the last error's words.

    A filter on the logger, not a handler: the app's logging configuration (traitlets' dictConfig, as
    the app initializes) replaces a logger's handlers but keeps its filters. It lets every record through.
    """

    def __init__(self):
        super().__init__()
        self.error = None
        self.last_error = ""

    def filter(self, record):
        if record.levelno >= logging.ERROR:
            error = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
            if error is not None and self.error is None:
                self.error = error
            self.last_error = record.getMessage()[:MAX_TEXT]
        return True

    def cause(self):
        """'<type>: <message> (in <step>, cell <n> ...)', the last error logged, or '' when none was."""
        return describe(self.error) if self.error is not None else self.last_error


@contextlib.contextmanager
def keeping_cause(logger_name="AutogradeApp"):
    """A CauseKeeper on the named nbgrader app's logger (its class name) while the block runs."""
    keeper = CauseKeeper()
    log = logging.getLogger(logger_name)
    log.addFilter(keeper)
    try:
        yield keeper
    finally:
        log.removeFilter(keeper)


def describe(error):
    """One line for people: the exception's type and message, and the step and cell it was raised in."""
    message = " ".join(str(error).split())[:MAX_TEXT]
    where = place(error.__traceback__)
    return f"{type(error).__name__}: {message}" + (f" (in {where})" if where else "")


def place(trace):
    """'<pipeline step>, cell <n> (<grade id>)' of the innermost step and cell in trace, or a function's name."""
    # Imported only now (nbconvert is loaded by then): importing cnnkit.scale.worker stays light.
    from nbconvert.preprocessors import Preprocessor

    step = cell = function = None
    for frame, _ in traceback.walk_tb(trace):
        names = frame.f_locals
        if isinstance(names.get("self"), Preprocessor):
            step = type(names["self"]).__name__
        index = names.get("cell_index", names.get("index"))
        if type(index) is int and isinstance(names.get("cell"), dict):
            cell = f"cell {index + 1}" + grade_id_of(names["cell"])
        if str(frame.f_globals.get("__name__", "")).startswith(KIT_MODULES):
            function = f"{frame.f_globals['__name__']}.{frame.f_code.co_name}"
    return ", ".join(part for part in (step or function, cell) if part)


def grade_id_of(cell):
    grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
    return f" ({grade_id})" if isinstance(grade_id, str) else ""
