"""The kit's layering, read from the code: every import, inside functions too, goes down (cnnkit/__init__.py).

Each package of cnnkit stands in a layer and imports only its own modules and the packages of the layers
below; so no two packages, and no two modules, import each other, straight or around a circle. The scan
reads every ``import`` and ``from ... import`` of every module (relative ones resolved, ``from package
import module`` taken as the module), and every string that names a kit module (``sys.modules.get(...)``,
a dotted class path): an import that Python only makes when a function runs is an edge all the same.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KIT = "cnnkit"

# Bottom first: a package imports only its own modules and packages of the layers below its own.
LAYERS = (
    ("cnnkit.course", "cnnkit.sandbox"),  # where the course is; the sandbox (standard library only)
    ("cnnkit.compat",),  # every private API of nbgrader and Jupyter
    ("cnnkit.records",),  # the hand-off records
    ("cnnkit.spec", "cnnkit.policy"),  # the assignment (and its scoring rule); the submission policy
    ("cnnkit.ingest",),  # the ways in
    ("cnnkit.grading",),  # the steps inside nbgrader's autograde
    ("cnnkit.scale",),  # the one grading engine
    ("cnnkit.results",),  # what people receive
    ("cnnkit.hub",),  # the course hub: deployment and the grading service
    ("cnnkit.cli",),  # the command line
    ("cnnkit.__main__",),  # python -m cnnkit
)
DOTTED = re.compile(rf"{KIT}(\.\w+)+")


def kit_modules(root=ROOT):
    """{module name: path} of every module of the kit under root."""
    found = {}
    for path in sorted((Path(root) / KIT).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def named(node, module, is_package):
    """The dotted names an import node (or a string constant) of module refers to."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
        return [base] + [f"{base}.{alias.name}" for alias in node.names]
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.fullmatch(node.value):
        return [node.value]
    return []


def imports_of(module, source, modules, is_package=False):
    """The kit modules module's source imports or names, anywhere in it (itself left out)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        for name in named(node, module, is_package):
            while name and name not in modules:  # a name inside a module stands for the module
                name = name.rpartition(".")[0]
            if name and name != module and name != KIT:
                found.add(name)
    return found


def import_graph(root=ROOT):
    """{module: the kit modules it imports}."""
    modules = kit_modules(root)
    return {
        module: imports_of(module, path.read_text(), modules, path.name == "__init__.py")
        for module, path in modules.items()
    }


def package_of(module):
    """cnnkit.<package> for a module of a package, the module itself for a top-level module."""
    return ".".join(module.split(".")[:2])


def package_graph(graph):
    edges = {}
    for module, targets in graph.items():
        edges.setdefault(package_of(module), set()).update(
            package_of(target) for target in targets if package_of(target) != package_of(module)
        )
    return edges


def circles(graph):
    """The strongly connected components of more than one node (Tarjan's, without recursion), sorted."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def layer_of(package):
    return next(level for level, packages in enumerate(LAYERS) if package in packages)


def upward_imports(graph):
    """(module, what it imports) of every import from a package to one of its own layer or above."""
    return sorted(
        (module, target)
        for module, targets in graph.items()
        for target in targets
        if package_of(target) != package_of(module) and layer_of(package_of(target)) >= layer_of(package_of(module))
    )


# ---------------------------------------------------------------- the kit


def test_every_package_of_the_kit_has_its_layer():
    packages = {package_of(module) for module in kit_modules()} - {KIT}
    assert packages == {package for layer in LAYERS for package in layer}


def test_every_import_goes_down_the_layers():
    assert upward_imports(import_graph()) == []


def test_no_two_modules_import_each_other_around_a_circle():
    assert circles(import_graph()) == []


def test_no_two_packages_import_each_other_around_a_circle():
    assert circles(package_graph(import_graph())) == []


def test_the_hub_uses_nothing_of_scale_but_the_engine():
    used = {
        target
        for module, targets in import_graph().items()
        if package_of(module) == "cnnkit.hub"
        for target in targets
        if package_of(target) == "cnnkit.scale"
    }
    assert used == {"cnnkit.scale.engine"}


# ---------------------------------------------------------------- the scan itself


def test_the_scan_sees_imports_in_functions_relative_ones_and_named_modules():
    modules = dict.fromkeys(["cnnkit.a", "cnnkit.a.one", "cnnkit.a.two", "cnnkit.b", "cnnkit.b.three"])
    source = (
        "from . import two\n"
        "def later():\n"
        "    from cnnkit.b import three\n"
        "    import sys\n"
        "    return sys.modules.get('cnnkit.b.three.Name'), 'cnnkit is not a module name'\n"
    )
    # `from package import module` runs the package's __init__ first: both are imported.
    assert imports_of("cnnkit.a.one", source, modules) == {"cnnkit.a", "cnnkit.a.two", "cnnkit.b", "cnnkit.b.three"}
    assert imports_of("cnnkit.a", "from .two import x\n", modules, is_package=True) == {"cnnkit.a.two"}


def test_a_circle_is_found_however_long_and_a_chain_is_not():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    chain = {f"m{i}": {f"m{i + 1}"} for i in range(5000)}  # deeper than Python's recursion limit
    assert circles({**chain, "m5000": {"m0"}}) == [sorted([*chain, "m5000"])]
