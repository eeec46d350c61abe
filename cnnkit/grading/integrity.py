"""Integrity flags: what a submission did that an honest one has no reason to do.

Flags never change a score (the verdicts are out of the student's reach anyway);
they tell the instructor which submissions to look at, and why. Three sources:

- ``RecordSubmissionChanges`` (sanitize pass, before nbgrader restores locked cells):
  check cells edited or deleted, the kernelspec changed;
- a static scan of the student's own cells (hooks, patching numpy/builtins/the checker,
  processes, frame inspection, file, network and dynamic-code use);
- the probe (cnnkit.records.probe) that ``ContainedExecute`` runs in the kernel after the
  last cell: hooks registered, functions replaced, processes still running. Student
  code could lie to the probe; the static scan and the sandbox do not depend on it.

``IntegrityReport`` (autograde pass) writes them into the integrity record next to the
autograded notebook (cnnkit.records.integrity) and logs one warning per flag.
"""

import ast
import re

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnkit import course
from cnnkit.records import integrity
from cnnkit.records.integrity import Flag
from cnnkit.spec import notebook

METADATA_KEY = "cnnkit"

# Static scan: (pattern, reason). Matched against the student's own code, line by line.
SUSPICIOUS = [
    (
        r"\bevents\.register\b|\bset_custom_exc\b|\bexcepthook\b|\bdisplayhook\b|ast_transformers|input_transformers",
        "registers IPython hooks or exception handlers",
    ),
    (
        r"\b(np|numpy|builtins|__builtins__|cnn_checks)(\.\w+)+\s*=[^=]|setattr\(\s*(np|numpy|builtins|cnn_checks)\b",
        "replaces functions of numpy, builtins or the checker",
    ),
    (r"\bsys\.modules\b", "touches sys.modules"),
    (
        r"\bsubprocess\b|\bos\.(fork|system|popen|spawn\w*|exec\w*|posix_spawn\w*|kill|setsid)\b|\bmultiprocessing\b|\bpty\b",
        "starts or signals processes",
    ),
    (
        r"\bsys\._getframe\b|\binspect\.|\bf_back\b|\bf_locals\b|\bf_globals\b|\bgc\.get_(objects|referrers)\b",
        "inspects the caller's frames or the interpreter's objects",
    ),
    (r"\bglobals\(\)|\b__main__\b", "reads the notebook's global namespace"),
    (
        r"\bopen\(|\bos\.(listdir|walk|scandir|chdir|remove|rename)\b|\bshutil\.|\bglob\.|\bpathlib\b|\bPath\(",
        "reads or writes files",
    ),
    (r"\bsocket\b|\burllib\b|\brequests\b|\bhttp\.client\b", "uses the network"),
    (r"\bexec\(|\beval\(|\bcompile\(|\b__import__\(|\bimportlib\b|\bctypes\b", "runs code built at run time"),
]


def strip_magics(source):
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def scan_code(source, where) -> list[Flag]:
    """Flags for suspicious constructs in one cell of student code."""
    code = strip_magics(source)
    flags = []
    for number, line in enumerate(code.splitlines(), 1):
        bare = re.sub(r"#.*", "", line)
        for pattern, reason in SUSPICIOUS:
            if re.search(pattern, bare):
                flags.append({"reason": reason, "where": f"{where}, line {number}: {line.strip()[:100]}"})
    try:
        ast.parse(code)
    except SyntaxError as error:
        flags.append({"reason": "code that does not parse", "where": f"{where}: {error.msg} (line {error.lineno})"})
    return flags


def student_cells(nb):
    """(label, source) of every code cell the student wrote or could edit."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and not utils.is_locked(cell) and not utils.is_grade(cell):
            yield notebook.grade_id(cell) or f"cell {index + 1}", cell.source


def changed_locked_cells(submitted, release) -> list[Flag]:
    """Flags for check and read-only cells of the release that the submission edited or deleted."""
    submitted_cells = {notebook.grade_id(cell): cell for cell in submitted.cells if notebook.grade_id(cell)}
    flags = []
    for cell in release.cells:
        grade_id = notebook.grade_id(cell)
        if not grade_id or not cell.metadata.get("nbgrader", {}).get("locked"):
            continue
        if grade_id not in submitted_cells:
            flags.append({"reason": "deleted a read-only cell (put back for grading)", "where": grade_id})
        elif submitted_cells[grade_id].source != cell.source:
            flags.append({"reason": "edited a read-only cell (restored for grading)", "where": grade_id})
    return flags


def changed_kernel(submitted, release) -> list[Flag]:
    mine = submitted.metadata.get("kernelspec", {}).get("name")
    theirs = release.metadata.get("kernelspec", {}).get("name")
    if mine != theirs:
        return [{"reason": f"changed the kernel to {mine!r} (graded with {theirs!r})", "where": "notebook metadata"}]
    return []


class RecordSubmissionChanges(NbGraderPreprocessor):
    """Sanitize pass: note edits to locked cells and the kernelspec before nbgrader undoes them."""

    def preprocess(self, nb, resources):
        release = notebook.read(course.RELEASE / f"{resources['nbgrader']['notebook']}.ipynb")
        flags = changed_locked_cells(nb, release) + changed_kernel(nb, release)
        nb.metadata[METADATA_KEY] = {"submission_flags": flags}  # whatever the submission had there is not the kit's
        return nb, resources


class IntegrityReport(NbGraderPreprocessor):
    """Autograde pass: write the integrity record (all flags) next to the autograded notebook."""

    def preprocess(self, nb, resources):
        # A whole-sandbox limit first: the run summary shows the first flag, and this one explains lost points.
        limits = dict.fromkeys(resources.get("cnnkit_limits_hit") or [])
        flags = [{"reason": reason, "where": "the sandbox's control group"} for reason in limits]
        flags += nb.metadata.get(METADATA_KEY, {}).get("submission_flags", [])
        for label, source in student_cells(nb):
            flags += scan_code(source, label)
        probe = resources.get("cnnkit_probe")
        if probe is None:
            flags.append(
                {
                    "reason": "the integrity probe did not run (kernel gone or time budget used up)",
                    "where": "end of notebook",
                }
            )
        else:
            flags += [{"reason": reason, "where": "kernel state after the last cell"} for reason in probe]
        # Bytecode caches are written by any import when the kernel runs unsandboxed (the sandbox turns them off).
        changes = [path for path in resources.get("cnnkit_workdir_changes") or [] if "__pycache__" not in path]
        if changes:
            shown = ", ".join(changes[:20]) + (f" and {len(changes) - 20} more" if len(changes) > 20 else "")
            flags.append({"reason": "files written in the working folder (removed after grading)", "where": shown})
        self.write(resources, flags)
        return nb, resources

    def write(self, resources, flags: list[Flag]):
        folder = resources.get("metadata", {}).get("path") or "."
        student = resources["nbgrader"]["student"]
        integrity.write(folder, student, flags)
        for flag in flags:
            self.log.warning("Integrity flag for %s: %s (%s)", student, flag["reason"], flag["where"])
