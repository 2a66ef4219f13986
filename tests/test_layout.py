"""The package's shape: imports run one way, the guard is self-contained, the web app and the evaluation are
walled off, no module is over 400 lines. Read with `ast` (nothing is imported), so a cycle fails here before
it fails at import time."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "assistant"
MAX_LINES = 400
# Modules allowed over MAX_LINES: none since support.py was split (main d48703a: 390 lines); add one only with
# a comment saying who is splitting it.
LONG_ALLOWED: set[str] = set()
# what the guard must never reach: retrieval, answer composition and the layers above them
RETRIEVAL = {"assistant." + m for m in ("retrieve", "index", "embed", "query_embed", "support", "fusion", "compose",
                                        "crosslingual", "lexicon", "sentence_features", "terms", "glossary",
                                        "conflicts", "api", "llm", "library", "catalog")}
WALLED = ("assistant.web", "assistant.evaluation")


def module_name(path: Path, root: Path = PKG) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path, modules: set[str], top_level_only: bool) -> set[str]:
    """The package modules `path` imports; `top_level_only`: not inside a function or class body."""
    name = module_name(path, root)
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if top_level_only and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = pkg.split(".")[:len(pkg.split(".")) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                for a in child.names:  # `from pkg import submodule` imports the submodule
                    found.add(f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in modules and m != name}


def graph(root: Path = PKG, top_level_only: bool = True) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    return {m: imports(p, root, set(files), top_level_only) for m, p in files.items()}


def cycle(g: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `g` as a path [a, b, …, a], else None (depth-first search, three colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(g.get(m, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state and (found := dfs(d)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(g):
        if m not in state and (found := dfs(m)):
            return found
    return None


def under(m: str, prefixes: tuple[str, ...] | set[str]) -> bool:
    return any(m == p or m.startswith(p + ".") for p in prefixes)


def test_no_import_cycle():
    assert cycle(graph()) is None, " -> ".join(cycle(graph()) or [])


def test_the_guard_imports_no_retrieval_web_or_evaluation():
    g = graph(top_level_only=False)  # deferred imports count too: the guard must run without them
    bad = {m: sorted(d for d in deps if under(d, RETRIEVAL) or under(d, WALLED))
           for m, deps in g.items() if under(m, ("assistant.guard",))}
    assert not {m: d for m, d in bad.items() if d}


def test_web_and_evaluation_are_imported_only_from_the_top():
    """Pipeline modules never import the web app or the evaluation (deferred imports included): the CLI and
    the adapters may; the web app may run the evaluation (its Evaluation tab); the evaluation never the web app."""
    g = graph(top_level_only=False)
    may_import = {"assistant.web": ("assistant.web", "assistant.cli", "assistant.integrations"),
                  "assistant.evaluation": ("assistant.evaluation", "assistant.web", "assistant.cli")}
    bad = sorted(f"{m} -> {d}" for m, deps in g.items() for d in deps
                 for walled, allowed in may_import.items() if under(d, (walled,)) and not under(m, allowed))
    assert not bad


def test_no_module_over_400_lines():
    long = {module_name(p): n for p in PKG.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert set(long) <= LONG_ALLOWED, long


def test_the_checker_finds_a_cycle(tmp_path):
    """The cycle check is not vacuous: a two-module package importing each other at module level fails."""
    pkg = tmp_path / "assistant"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("from ..a import x\n\ndef f():\n    from .. import c\n")
    (pkg / "c.py").write_text("import assistant.a\n")
    g = graph(pkg)
    assert cycle(g) == ["assistant.a", "assistant.sub.b", "assistant.a"]
    assert "assistant.c" not in g["assistant.sub.b"]  # deferred: not a module-level edge
    assert "assistant.c" in graph(pkg, top_level_only=False)["assistant.sub.b"]
    (pkg / "a.py").write_text("def g():\n    from .sub import b\n")
    assert cycle(graph(pkg)) is None


@pytest.mark.parametrize("name", ["assistant.guard", "assistant.web", "assistant.evaluation"])
def test_subpackages_exist(name):
    assert name in graph()


def test_public_api_is_lazy_and_complete():
    """`import assistant` loads nothing heavy; every name in __all__ resolves (in a fresh process)."""
    import subprocess
    import sys

    code = ("import sys, assistant; heavy = [m for m in ('gradio', 'chromadb', 'fastapi', 'matplotlib', 'torch') "
            "if m in sys.modules]; assert not heavy, heavy; "
            "missing = [n for n in assistant.__all__ if getattr(assistant, n, None) is None]; assert not missing, missing; "
            "assert 'gradio' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], cwd=PKG.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
