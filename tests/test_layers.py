"""The import rules that keep the design: pure modules pure, the store and the network behind the pipeline.

Read from the source with `ast`, so a rule broken anywhere (a lazy import
inside a function included) fails here, naming the module and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "feeds"

# Plain data and settings, which everything may use.
CORE = {"feeds.about", "feeds.model", "feeds.errors", "feeds.config"}
# Text rules, pure: they use nothing but the core and each other.
TEXT = {"feeds.text"}
# Pure transformations: bytes or entries in, values out, no I/O.
PURE = TEXT | {
    "feeds.local.article", "feeds.local.front", "feeds.local.frontyaml",
    "feeds.remote.normalise", "feeds.remote.parse",
    "feeds.remote.jsonfeed", "feeds.remote.fields", "feeds.remote.decide", "feeds.remote.domains",
    "feeds.remote.guard", "feeds.remote.fulltext", "feeds.remote.extract",
    "feeds.remote.proxies", "feeds.remote.options", "feeds.remote.fastxml",
    "feeds.publish.select", "feeds.publish.forms",
    "feeds.publish.render", "feeds.publish.rss", "feeds.publish.jsonfeed", "feeds.publish.index",
    "feeds.publish.paths", "feeds.publish.entrylinks", "feeds.publish.site", "feeds.publish.archives",
    "feeds.publish.websub", "feeds.publish.subscriptions",
    "feeds.schedule", "feeds.codec",
}
# What people and programs drive: they call the pipeline, and print.
FACES = {"feeds.cli", "feeds.commands", "feeds.__main__", "feeds.daemon", "feeds.serve",
         "feeds.manage"}
# The only modules that may open the store.
STORE_USERS = {"feeds.pipeline", "feeds.remote.refresh"}
STORE = {"feeds.store"}
# What a store must offer: anyone may name it, only the users above open one.
STORE_INTERFACE = {"feeds.store.protocol"}
# The HTTP client and what only it should need.
NETWORK = {"feeds.remote.http", "feeds.remote.transport", "feeds.remote.ping",
           "feeds.remote.callbacks", "httpx",
           "httpcore"}
# Libraries of I/O no pure module may import.
IO_LIBRARIES = {"httpx", "sqlite3", "psycopg", "psycopg_pool", "apscheduler", "watchfiles",
                "uvicorn", "starlette", "socket", "subprocess"}

def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, absolute, wherever in the file the import is."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            # `from . import article` imports the module feeds.local.article.
            found.update(f"{module}.{alias.name}" for alias in node.names
                         if _is_module(f"{module}.{alias.name}"))
    return found


def _is_module(name: str) -> bool:
    return PACKAGE.parent.joinpath(*name.split(".")).with_suffix(".py").exists()


def _within(imported: str, names: set[str]) -> bool:
    """Whether `imported` is one of `names` or inside one (the package root only as itself)."""
    return any(imported == n or (n != "feeds" and imported.startswith(n + ".")) for n in names)


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _broken(graph: dict[str, set[str]]) -> set[tuple[str, str, str]]:
    """(module, import, rule) for every import of `graph` that breaks a rule."""
    broken = set()
    for module, imports in graph.items():
        ours = {i for i in imports if i == "feeds" or i.startswith("feeds.")}
        for imported in imports:
            if imported == module:
                continue
            if _within(module, TEXT) and imported in ours and not _within(imported, CORE | TEXT):
                broken.add((module, imported, "a text module imports only the core and text"))
            if _within(module, PURE) and imported in ours and not _within(imported, CORE | PURE):
                broken.add((module, imported, "a pure module imports only pure modules"))
            if _within(module, PURE) and _within(imported, IO_LIBRARIES):
                broken.add((module, imported, "a pure module does no I/O"))
            if (_within(imported, STORE) and imported not in STORE_INTERFACE
                    and not _within(module, STORE_USERS | STORE)):
                broken.add((module, imported, "only the pipeline and the refresh open the store"))
            if module in FACES and _within(imported, NETWORK):
                broken.add((module, imported, "a face never reaches for the network itself"))
    return broken


def test_the_import_graph_can_be_read() -> None:
    graph = _graph()
    assert "feeds.pipeline" in graph["feeds.commands"]
    assert "feeds.local.read" in graph["feeds.pipeline"]
    assert "feeds.local.scan" in graph["feeds.local.read"]
    assert "feeds.local.article" in graph["feeds.local.pool"]  # `from .. import article`, in a function
    assert len(graph) >= 40


def test_no_import_breaks_a_rule() -> None:
    broken = _broken(_graph())
    assert not broken, "\n".join(f"{m} imports {i}: {rule}" for m, i, rule in sorted(broken))


def test_the_rules_catch_what_they_forbid() -> None:
    graph = {
        "feeds.text.slug": {"feeds.model", "feeds.publish.select"},
        "feeds.publish.render": {"feeds.text.links", "feeds.store", "sqlite3"},
        "feeds.cli": {"feeds.pipeline", "httpx"},
        "feeds.local.scan": {"feeds.store"},
        "feeds.pipeline": {"feeds.store", "feeds.remote.refresh"},
    }
    assert {(m, i) for m, i, _rule in _broken(graph)} == {
        ("feeds.text.slug", "feeds.publish.select"), ("feeds.publish.render", "feeds.store"),
        ("feeds.publish.render", "sqlite3"), ("feeds.cli", "httpx"), ("feeds.local.scan", "feeds.store"),
    }
