"""The shape of the code, read from the source with ast: layers import downward only, routes hold no shared state,
api/ holds no SQL, and every third-party module the platform imports is a declared runtime dependency.

Layers (DESIGN.md): ``geo/`` pure, ``store/`` may use ``geo/``, ``api/`` may use both, ``jobs/`` may use all.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

from api.config import PROJECT_ROOT

PACKAGES = ("api", "geo", "store", "jobs", "web")
FORBIDDEN = {
    "geo": {"api", "store", "jobs", "web"},
    "store": {"api", "jobs", "web"},
    "api": {"jobs"},
}
# sqlalchemy names that build SQL: a route that imports one writes a query, which belongs in store/.
SQL_BUILDERS = {"select", "text", "insert", "update", "delete", "Table", "MetaData"}


@dataclass(frozen=True)
class Import:
    """One import statement: the module it names, the names it takes, where, and whether only for type checking."""

    module: str
    names: tuple[str, ...]
    line: int
    type_only: bool


@dataclass(frozen=True)
class Module:
    """A source module of the platform and what it imports."""

    name: str
    path: Path
    tree: ast.Module
    imports: tuple[Import, ...]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, module: str, is_package: bool) -> list[Import]:
    """Every import anywhere in the module (functions and try blocks too), relative ones made absolute."""
    out: list[Import] = []
    package = module if is_package else module.rpartition(".")[0]

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        if isinstance(node, ast.Import):
            out.extend(Import(a.name, (), node.lineno, type_only) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append(Import(name, tuple(a.name for a in node.names), node.lineno, type_only))
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(tree, False)
    return out


@cache
def modules() -> tuple[Module, ...]:
    """Every Python module of the platform's packages (migrations included: they run in production)."""
    found = []
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            rel = path.relative_to(PROJECT_ROOT).with_suffix("")
            is_package = rel.name == "__init__"
            name = ".".join(rel.parts[:-1] if is_package else rel.parts)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            found.append(Module(name, path, tree, tuple(_imports(tree, name, is_package))))
    return tuple(found)


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_source_is_found_and_parsed() -> None:
    """The checks below read real modules and real edges (they would pass vacuously on an empty scan)."""
    by_name = {m.name: m for m in modules()}
    assert {"api.app", "geo.locate", "store.db", "jobs.cli", "store.migrations.env"} <= set(by_name)
    assert "geo.crs" in {i.module for i in by_name["geo.locate"].imports}
    assert any(_top(i.module) == "geo" for m in modules() if m.name.startswith("store.") for i in m.imports)


def test_imports_point_downward_only() -> None:
    """geo/ imports nothing of api, store, jobs, web; store/ nothing of api, jobs, web; api/ nothing of jobs."""
    wrong = [
        f"{m.path.relative_to(PROJECT_ROOT)}:{i.line} imports {i.module}"
        for m in modules()
        for i in m.imports
        if _top(i.module) in FORBIDDEN.get(_top(m.name), set())
    ]
    assert wrong == []


def _route_modules() -> list[Module]:
    return [m for m in modules() if m.name.startswith("api.routes.")]


def test_no_route_touches_app_state() -> None:
    """Routes get the application context through the dependencies of api/deps.py, never from app.state."""
    wrong = []
    for m in _route_modules():
        for node in ast.walk(m.tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "state"
                and (
                    (isinstance(node.value, ast.Attribute) and node.value.attr == "app")
                    or (isinstance(node.value, ast.Name) and node.value.id == "app")
                )
            ):
                wrong.append(f"{m.path.relative_to(PROJECT_ROOT)}:{node.lineno}")
        if "app.state" in m.path.read_text(encoding="utf-8"):
            wrong.append(f"{m.path.relative_to(PROJECT_ROOT)}: mentions app.state")
    assert wrong == []


def _sql_in_api() -> list[str]:
    api = [m for m in modules() if _top(m.name) == "api"]
    return [
        f"{m.path.relative_to(PROJECT_ROOT)}:{i.line} imports {sorted(set(i.names) & SQL_BUILDERS)} from {i.module}"
        for m in api
        for i in m.imports
        if _top(i.module) == "sqlalchemy" and set(i.names) & SQL_BUILDERS
    ] + [
        f"{m.path.relative_to(PROJECT_ROOT)}:{node.lineno} calls {node.func.value.id}.{node.func.attr}"
        for m in api
        for node in ast.walk(m.tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"sa", "sqlalchemy"}
        and node.func.attr in SQL_BUILDERS
    ]


def test_no_route_defines_sql() -> None:
    """Queries live in store/: no module of api/ (routes, auth, caches) builds SQL with select/text/insert/..."""
    assert _sql_in_api() == []


def _declared_dependencies() -> set[str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = set()
    for spec in project["dependencies"]:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec)
        assert match, spec
        names.add(_canonical(match.group(0)))
    return names


def _canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_every_runtime_import_is_a_declared_dependency() -> None:
    """`pip install .` (no extras) brings every third-party module api/, geo/, store/, jobs/, web/ import."""
    ours = set(PACKAGES)
    declared = _declared_dependencies()
    distributions = packages_distributions()
    missing = []
    for m in modules():
        for i in m.imports:
            top = _top(i.module)
            if i.type_only or not top or top in ours or top in sys.stdlib_module_names:
                continue
            provided = {_canonical(d) for d in distributions.get(top, [])}
            if not provided & declared:
                missing.append(f"{m.path.relative_to(PROJECT_ROOT)}:{i.line} imports {top} "
                               f"(distribution {sorted(provided) or 'not installed'})")
    assert missing == [], "add these to [project].dependencies in pyproject.toml"


def test_the_wheel_ships_every_bundled_data_file() -> None:
    """data/ is no package: pyproject's data-files must list each file, where geo.layers looks for it."""
    tool = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    shipped = {}
    for target, patterns in tool["data-files"].items():
        assert target.startswith("share/sigap112/data"), target
        for pattern in patterns:
            for path in PROJECT_ROOT.glob(pattern):
                shipped[path.relative_to(PROJECT_ROOT / "data").as_posix()] = target
    data = PROJECT_ROOT / "data"
    bundled = {p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file()}
    assert set(shipped) == bundled
    for rel, target in shipped.items():
        assert f"share/sigap112/data/{rel}".rpartition("/")[0] == target, rel
