"""The documented dependency order is the real one.

The order is read from the code block under "Dependency order" in docs/architecture.md, and every import in
src/xinyong (module level, inside functions, under TYPE_CHECKING, and `import_module("xinyong....")`) is checked
against it: a package may import itself and the packages listed before it, never one listed after it; the
modules at the top of the package (cli, db_models, ...) compose the platform and no package imports them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "xinyong"
DOC = REPO / "docs" / "architecture.md"
DYNAMIC_IMPORTS = {"import_module", "__import__"}


def parse_order(markdown: str) -> list[str]:
    """The names in the first code block after the "Dependency order" heading, in order; a parenthesis after a
    name says what it holds and is not part of the order."""
    section = markdown.split("## Dependency order", 1)
    assert len(section) == 2, "docs/architecture.md has no section «## Dependency order»"
    block = re.search(r"```[^\n]*\n(.*?)```", section[1], re.S)
    assert block is not None, "the Dependency order section has no code block"
    text = re.sub(r"\([^)]*\)", " ", block.group(1))
    return [name.strip() for name in text.replace("\n", " ").split("→") if name.strip()]


def imported_modules(source: str, module: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in `source`, the source of `module` (dotted name)."""
    package = module.rsplit(".", 1)[0] if not module.endswith(".__init__") else module[: -len(".__init__")]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:  # `from xinyong import db_models` imports a module, not a name
                yield node.lineno, f"{name}.{alias.name}"
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called in DYNAMIC_IMPORTS:
                yield node.lineno, node.args[0].value


def unit_of(module: str) -> str | None:
    """The package (or top-level module) of xinyong that `module` belongs to; None outside xinyong."""
    parts = module.split(".")
    if parts[0] != "xinyong" or len(parts) < 2:
        return None
    return parts[1]


def violations(order: list[str], top_level: set[str],
               modules: dict[str, tuple[str, str]]) -> list[str]:
    """What breaks the order. modules: dotted module name → (path shown in messages, source)."""
    rank = {name: i for i, name in enumerate(order)}
    found = []
    for module, (shown, source) in sorted(modules.items()):
        unit = unit_of(module)
        if unit is None or unit in top_level:
            continue  # the top-level modules compose the platform and may import anything
        reported: set[tuple[int, str]] = set()
        for line, target in imported_modules(source, module):
            to = unit_of(target)
            if to is None or to == unit or (line, to) in reported:
                continue
            reported.add((line, to))
            if to in top_level:
                found.append(f"{shown}:{line} imports {target}: no package imports the top-level module «{to}»")
            elif to not in rank:
                found.append(f"{shown}:{line} imports {target}: «{to}» is not in the documented order")
            elif unit in rank and rank[to] > rank[unit]:
                found.append(f"{shown}:{line} imports {target}: «{to}» comes after «{unit}» in the documented order")
    return found


def _packages() -> set[str]:
    return {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}


def _top_level() -> set[str]:
    return {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}


def _modules() -> dict[str, tuple[str, str]]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent)
        out[".".join(rel.with_suffix("").parts)] = (str(rel), path.read_text(encoding="utf-8"))
    return out


# ---------------------------------------------------------------- the real tree


def test_the_documented_order_names_every_package_exactly_once() -> None:
    order = parse_order(DOC.read_text(encoding="utf-8"))
    repeated = sorted({name for name in order if order.count(name) > 1})
    assert not repeated, f"listed more than once in docs/architecture.md: {repeated}"
    packages = _packages()
    assert sorted(packages - set(order)) == [], "packages missing from the documented order (add them to the block)"
    assert sorted(set(order) - packages) == [], "the documented order names packages that do not exist"


def test_every_import_follows_the_documented_order() -> None:
    order = parse_order(DOC.read_text(encoding="utf-8"))
    found = violations(order, _top_level(), _modules())
    assert found == [], "imports against docs/architecture.md:\n" + "\n".join(found)


def test_no_domain_imports_web() -> None:
    found = [v for v in violations(parse_order(DOC.read_text(encoding="utf-8")), _top_level(), _modules())
             if "«web»" in v]
    assert found == [], "domains importing xinyong.web:\n" + "\n".join(found)


def test_due_process_domains_share_case_handling_through_cases_not_objections() -> None:
    found = [f"{shown}:{line} imports {target}" for module, (shown, source) in _modules().items()
             if unit_of(module) in {"commitments", "repair", "complaints"}
             for line, target in imported_modules(source, module) if unit_of(target) == "objections"]
    assert found == [], "import case handling from xinyong.cases:\n" + "\n".join(found)


# ---------------------------------------------------------------- the checker itself


def test_the_order_is_read_from_the_first_code_block_of_its_section() -> None:
    doc = "# A\n```\nx → y\n```\n## Dependency order\ntext\n```\ncore → catalog\n     → web (app, portal)\n```\n```\nz\n```"
    assert parse_order(doc) == ["core", "catalog", "web"]


def test_every_kind_of_import_is_seen() -> None:
    source = '''
from __future__ import annotations
import json
import xinyong.records.models
from typing import TYPE_CHECKING
from xinyong.core import clock
from . import rules
from .models import Thing
from xinyong import db_models
if TYPE_CHECKING:
    from xinyong.web.deps import DbSession
def later():
    from xinyong.joint import service
    importlib.import_module("xinyong.checks.service")
    __import__("xinyong.reports", fromlist=["*"])
'''
    seen = {name for _, name in imported_modules(source, "xinyong.lists.service")}
    assert {"xinyong.records.models", "xinyong.core", "xinyong.lists", "xinyong.lists.rules",
            "xinyong.lists.models", "xinyong.db_models", "xinyong.web.deps", "xinyong.joint",
            "xinyong.checks.service", "xinyong.reports"} <= seen
    assert {unit_of(name) for name in seen} - {None} == {"records", "core", "lists", "db_models", "web", "joint",
                                                         "checks", "reports"}


def test_imports_against_the_order_are_reported_with_file_and_line() -> None:
    order = ["core", "lists", "joint", "web"]
    modules = {
        "xinyong.lists.service": ("xinyong/lists/service.py", "from xinyong.core import clock\n\n"
                                  "def f():\n    from xinyong.joint import service\n"),
        "xinyong.joint.routes": ("xinyong/joint/routes.py", "from xinyong.web.deps import DbSession\n"
                                 "from xinyong.lists import service\nimport xinyong.cli\n"),
        "xinyong.core.jobs": ("xinyong/core/jobs.py", "from xinyong.stats import x\n"),
        "xinyong.web.app": ("xinyong/web/app.py", "from xinyong.joint import routes\nfrom xinyong import cli\n"),
        "xinyong.cli": ("xinyong/cli.py", "from xinyong.web.app import create_app\n"),
    }
    assert violations(order, {"cli"}, modules) == [
        "xinyong/core/jobs.py:1 imports xinyong.stats: «stats» is not in the documented order",
        "xinyong/joint/routes.py:1 imports xinyong.web.deps: «web» comes after «joint» in the documented order",
        "xinyong/joint/routes.py:3 imports xinyong.cli: no package imports the top-level module «cli»",
        "xinyong/lists/service.py:4 imports xinyong.joint: «joint» comes after «lists» in the documented order",
        "xinyong/web/app.py:2 imports xinyong.cli: no package imports the top-level module «cli»",
    ]
