"""Every import of the harness's own modules resolves, also those inside functions (a
module moved without its lazy importers broke every power cycle through a labgrid place,
and no checker saw it: only a full lab run did)."""
import ast
import importlib
import importlib.util

from tests.conftest import REPO

TREES = ("harness", "testcases", "tests", "benchmarks")


def _imports():
    for top in TREES:
        for path in sorted((REPO / top).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                        and node.module.split(".")[0] == "harness":
                    yield path, node.lineno, node.module, [a.name for a in node.names]
                elif isinstance(node, ast.Import):
                    for a in node.names:
                        if a.name.split(".")[0] == "harness":
                            yield path, node.lineno, a.name, []


def test_every_harness_import_resolves():
    broken = []
    for path, line, module, names in _imports():
        where = f"{path.relative_to(REPO)}:{line}"
        if importlib.util.find_spec(module) is None:
            broken.append(f"{where}: no module {module}")
            continue
        mod = importlib.import_module(module)
        for name in names:
            if hasattr(mod, name) or (hasattr(mod, "__path__") and
                                      importlib.util.find_spec(f"{module}.{name}")):
                continue
            broken.append(f"{where}: {module} has no {name}")
    assert not broken, "\n".join(broken)
