"""Grade answers in this process, with the same judging code as autograde (trusted code only).

``grade_answers`` puts the answers into the master notebook's solution cells, runs its
code cells in order in a fresh namespace, attaches the result records that the
checker's ``grade(...)`` shows as ``display_data`` outputs, and lets
``cnnkit.grading.verify.VerifyResults`` judge the notebook, exactly as it does after
nbgrader's ``Execute``. It is fast (no kernel, no nbgrader database) and is meant for
the kit's own samples and test catalogue.

Never use it for a student's submission: the code runs in the caller's process,
without the sandbox, the time limits or the integrity checks of real grading.
"""

import builtins
import contextlib
import io
import traceback
import warnings

from IPython.core.inputtransformer2 import TransformerManager
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearSolutions

from cnnkit import course
from cnnkit.grading.verify import VerifyResults
from cnnkit.records import verdict
from cnnkit.records.result import RESULT_MIME
from cnnkit.spec import notebook


def grade_answers(answers, master=course.MASTER):
    """grade_id of every check cell -> its verdict record (cnnkit.records.verdict).

    answers: function name -> source of its solution cell; a function not in answers keeps the
    release stub (which raises NotImplementedError). Trusted code only (see the module docstring).
    """
    return verdicts(graded_notebook(answers, master))


def graded_notebook(answers, master=course.MASTER):
    """The master notebook with the answers filled in, run, and judged by VerifyResults."""
    nb = submission(answers, master)
    run_cells(nb, kernel_checks(master))
    nb, _ = VerifyResults().preprocess(nb, {})
    return nb


def verdicts(nb):
    """grade_id -> verdict record, for every cell of a judged notebook that has one."""
    found = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            record = verdict.read(output)
            if record is not None:
                found[notebook.grade_id(cell)] = record
    return found


def submission(answers, master=course.MASTER):
    """The master notebook with answered solution cells, and release stubs for the others."""
    nb = notebook.read(master)
    clear = ClearSolutions()
    for index, cell in enumerate(nb.cells):
        if not notebook.is_solution(cell):
            continue
        if notebook.grade_id(cell) in answers:
            cell.source = answers[notebook.grade_id(cell)]
        else:
            clear.preprocess_cell(cell, {"language": "python"}, index)
    return nb


def kernel_checks(master=course.MASTER):
    """A fresh copy of the checker beside master, playing the one the kernel imports as cnn_checks.

    Its ``publish`` is replaced per run (see run_cells) to collect result records.
    """
    return course.load_checks(master.parent / course.CHECKS_FILE.name, fresh=True)


class _Shell:
    """What the notebook's cells ask of get_ipython(): only %matplotlib, which is a no-op here."""

    def run_line_magic(self, name, line):
        if name != "matplotlib":
            raise NotImplementedError(f"%{name} is not supported when grading in-process")


def _namespace(checks):
    """A fresh user namespace whose `import cnn_checks` finds the given module."""

    def importer(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "cnn_checks" and level == 0:
            return checks
        return builtins.__import__(name, globals, locals, fromlist, level)

    shell = _Shell()
    return {
        "__name__": "__main__",
        "__builtins__": {**vars(builtins), "__import__": importer},
        "get_ipython": lambda: shell,
    }


def error_output(error):
    """The error output a kernel records for an exception that stopped a cell."""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return NotebookNode(
        output_type="error",
        ename=type(error).__name__,
        evalue=str(error),
        traceback=[line.rstrip("\n") for line in lines],
    )


def run_cells(nb, checks):
    """Run the code cells in order; each gets its printed text, result records and error as outputs.

    Printed text is kept whole, in one stdout and one stderr output (a kernel may split it).

    A cell that raises gets an error output and the next cell still runs (nbgrader's
    Execute has allow_errors). Figures go to matplotlib's Agg backend and are closed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace = _namespace(checks)
    transform = TransformerManager().transform_cell
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        records, printed, warned = [], io.StringIO(), io.StringIO()
        checks.publish = records.append
        error = None
        try:
            code = compile(transform(cell.source), f"<cell {index}>", "exec")
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(warned), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(code, namespace)
        except (Exception, SystemExit) as raised:
            error = raised
        finally:
            plt.close("all")
        cell.outputs = [
            NotebookNode(output_type="stream", name=stream, text=text.getvalue())
            for stream, text in (("stdout", printed), ("stderr", warned))
            if text.getvalue()
        ]
        cell.outputs += [
            NotebookNode(output_type="display_data", metadata={}, data={RESULT_MIME: record}) for record in records
        ]
        if error is not None:
            cell.outputs.append(error_output(error))
    return nb
