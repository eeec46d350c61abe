"""The grading-critical part of cnn_checks.py (judge and all it calls) is one marked block of the file.

Scores are decided by that block: the grading process runs it on every result record, the self-check runs it
on the public cases. The rest of the file (making inputs, encoding, the notebook's check and hint) is for
students. This reads the file's syntax tree: every top-level function, class or constant that judge reaches,
however indirectly, must be defined between the two marker lines, but for the spec table and the tolerances.
"""

import ast

from cnnkit import course

START = "# ================================================================ GRADING-CRITICAL PART"
END = "# ================================================================ END OF THE GRADING-CRITICAL PART"
SHARED = {"FUNCTIONS", "RTOL", "ATOL"}  # the spec table and the tolerances, defined above the block on purpose


def top_level(tree):
    """name -> (first line, last line) of every top-level def, class and assignment."""
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = (node.lineno, node.end_lineno)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = (node.lineno, node.end_lineno)
    return found


def reached_from(start, tree):
    """The top-level names start uses, and those they use, and so on (start included; SHARED ones not followed)."""
    nodes = {name: node for node in tree.body for name in _names(node)}
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in nodes or name in SHARED:
            continue
        seen.add(name)
        todo += sorted(_used(nodes[name]) & set(nodes))
    return seen


def _used(node):
    """The global names a top-level node reads (a name it also binds locally is its own: not followed)."""
    walked = list(ast.walk(node))
    local = {arg.arg for item in walked if isinstance(item, ast.arguments) for arg in item.args + item.kwonlyargs}
    local |= {item.id for item in walked if isinstance(item, ast.Name) and isinstance(item.ctx, ast.Store)}
    if isinstance(node, ast.Assign):
        local = set()
    return {item.id for item in walked if isinstance(item, ast.Name) and isinstance(item.ctx, ast.Load)} - local


def _names(node):
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    return []


def marked_lines(source):
    lines = source.splitlines()
    starts = [number for number, line in enumerate(lines, 1) if line.startswith(START)]
    ends = [number for number, line in enumerate(lines, 1) if line.startswith(END)]
    assert len(starts) == 1 and len(ends) == 1 and starts[0] < ends[0], "one marked block, start before end"
    return starts[0], ends[0]


def outside_the_block(source, start="judge"):
    tree = ast.parse(source)
    first, last = marked_lines(source)
    places = top_level(tree)
    return sorted(
        name for name in reached_from(start, tree) - SHARED if not (first < places[name][0] and places[name][1] < last)
    )


def test_judge_and_all_it_calls_are_inside_the_marked_block():
    source = course.CHECKS_FILE.read_text()
    assert "judge" in top_level(ast.parse(source))
    assert outside_the_block(source) == []


def test_the_scan_sees_a_helper_moved_out_of_the_block():
    """The scan can fail: a function judge reaches, moved below the block, is named."""
    source = course.CHECKS_FILE.read_text()
    begin = source.index("def _summary(array):")
    end = source.index("\ndef ", begin + 1)
    moved = source[:begin] + source[end + 1 :] + "\n\n" + source[begin:end]
    assert outside_the_block(moved) == ["_summary"]


def test_the_release_ships_the_checker_as_it_is_in_source():
    assert (course.RELEASE / course.CHECKS_FILE.name).read_bytes() == course.CHECKS_FILE.read_bytes()
