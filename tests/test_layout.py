"""The package's shape, checked: no import cycle among setoolkit's modules, models that never import evaluation
code, no setoolkit import hidden inside a function of a model family, every family's cards collected once."""

import ast
from pathlib import Path

import setoolkit
from setoolkit.registry import CARDS, FAMILY_CARDS

PKG = Path(setoolkit.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level: bool):
    """setoolkit modules imported by ``path``: at module level (``top_level``) or inside functions."""
    tree = ast.parse(path.read_text())
    here = _module(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    nodes = (
        tree.body
        if top_level
        else [n for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(f)]
    )
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module is None and node.level:  # ``from . import x``: x is a module of the package
                for alias in node.names:
                    yield f"{target}.{alias.name}", node.lineno
            elif target.startswith("setoolkit"):
                yield target, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("setoolkit"):
                    yield alias.name, node.lineno


def _modules() -> dict[str, Path]:
    return {_module(p): p for p in PKG.rglob("*.py")}


def test_no_import_cycle_among_module_level_imports():
    mods = _modules()
    graph = {m: {t for t, _ in _imports(p, top_level=True) if t in mods and t != m} for m, p in mods.items()}
    done, stack = set(), []

    def visit(m):
        if m in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(m) :] + [m]))
        if m in done:
            return
        stack.append(m)
        for t in sorted(graph[m]):
            visit(t)
        stack.pop()
        done.add(m)

    for m in sorted(graph):
        visit(m)


def test_models_never_import_evaluation_and_hide_no_setoolkit_imports():
    evaluation = (
        "setoolkit.metrics",
        "setoolkit.evaluation",
        "setoolkit.studies",
        "setoolkit.report",
        "setoolkit.report.figures",
        "setoolkit.main_job",
        "setoolkit.diagnostics.doctor",
    )
    for path in (PKG / "models").rglob("*.py"):
        for target, line in _imports(path, top_level=True):
            assert not target.startswith(evaluation), f"{path}:{line} imports {target}"
        hidden = list(_imports(path, top_level=False))
        assert not hidden, f"{path}: setoolkit imports inside functions {hidden}"


#: Metric networks written in a framework: their metric's module imports them on its first score, so that
#: importing the metric (and its record) needs no framework.
FRAMEWORK_NETWORKS = {"setoolkit.metrics.nisqa_network": "torch (setoolkit[nisqa])"}


def test_metric_modules_import_each_other_at_the_top():
    """The metric modules are layered (pairs <- pesq_p862 <- composite, learned <- scoring), so none of them
    dodges a cycle with an import inside a function (a framework network excepted: FRAMEWORK_NETWORKS)."""
    for path in (PKG / "metrics").glob("*.py"):
        hidden = [
            t
            for t, _ in _imports(path, top_level=False)
            if t.startswith("setoolkit.metrics") and t not in FRAMEWORK_NETWORKS
        ]
        assert not hidden, f"{path.name} imports {hidden} inside a function"


def test_the_house_shows_its_jobs():
    """Jobs live in packages (metrics, evaluation, report, models, diagnostics, listening...); the modules left at
    the top are the shared foundations and entry points, each under 400 lines."""
    for package in ("metrics", "evaluation", "report", "models", "models/common", "diagnostics"):
        assert (PKG / package / "__init__.py").is_file(), package
    for path in PKG.glob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 400, f"{path.name}: {lines} lines"


def test_every_family_declares_its_cards_and_builders_are_functions():
    families = {c.family for c in CARDS.values()}
    assert len(FAMILY_CARDS) == len(families)
    assert all(callable(c.builder) for c in CARDS.values() if c.available)
    assert setoolkit.get_card("dpcrn-dns3").config.front_pad == 0  # upstream main.py's frame grid


#: Modules that may import setoolkit inside a function, and why; everywhere else a file's header shows what it
#: depends on.
LAZY_IMPORTS = {
    "setoolkit.cli": "start-up: `setoolkit models` answers without importing pandas, the metrics or the engine",
    "setoolkit.cli_args": "start-up: the metric registry is read only when --metrics is given or help is shown",
    "setoolkit.metrics.learned": "DistillMOS's checkpoint loader imports torch (setoolkit[learned-mos])",
    "setoolkit.metrics.nisqa": "its network and checkpoint loader import torch (setoolkit[nisqa])",
    "setoolkit.train.adapters": "the torch networks of each family load only when that family is fine-tuned",
    "setoolkit.train.protocol": "the trainer imports torch (setoolkit[torch])",
    "setoolkit.emotion.smile_worker": "runs in its own process: openSMILE aborts one that imported TensorFlow",
}


def test_the_card_type_is_on_the_ground_floor():
    """registry, model_specs and models.common.base all read ModelCard from setoolkit.cards, which imports none of
    them: the last import cycle of the model layer is gone (no function-level import dodges it)."""
    ground = {t for t, _ in _imports(PKG / "cards.py", top_level=True)}
    assert not ground & {"setoolkit.registry", "setoolkit.model_specs", "setoolkit.models.common.base"}
    assert not {t for t, _ in _imports(PKG / "model_specs.py", top_level=False)}


def test_setoolkit_imports_are_at_the_top_of_each_module():
    for module, path in _modules().items():
        hidden = sorted({t for t, _ in _imports(path, top_level=False)})
        if module in LAZY_IMPORTS:
            continue
        assert not hidden, f"{path.relative_to(PKG.parent)} imports {hidden} inside a function"


def test_no_private_name_is_imported_across_modules():
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("setoolkit")):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                assert not private, f"{path.relative_to(PKG.parent)}:{node.lineno} imports private {private}"
