"""The import rules of docs/architecture.md hold for the code, and the page names only modules that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "architecture.md"
PACKAGES = ("bot", "storage", "notifiers")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts
}


def imports_of(module: str) -> set[str]:
    """Return every module ``module`` imports, at any depth of its code (lazy imports too)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # "from bot import messages"
    return found


def covered(name: str, forbidden: str) -> bool:
    return name == forbidden or name.startswith(forbidden + ".")


def rules() -> list[tuple[str, bool, list[str]]]:
    """Return (package, transitive, forbidden names) from the page's "Import rules" table."""
    table = PAGE.read_text(encoding="utf-8").split("## Import rules", 1)[1]
    out = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`"):
            continue
        package = re.findall(r"`([\w.]+)`", cells[0])[0]
        out.append((package, "all it imports" in cells[0], re.findall(r"`([\w.]+)`", cells[1])))
    return out


def reachable(start: str) -> set[str]:
    """Return ``start`` and every project module it imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module in seen or module not in MODULES:
            continue
        seen.add(module)
        todo += [name for name in imports_of(module) if name in MODULES]
    return seen


def test_the_page_states_the_rules_for_every_package():
    assert {package for package, _, _ in rules()} >= set(PACKAGES)


@pytest.mark.parametrize(("package", "transitive", "forbidden"), rules(), ids=lambda v: str(v))
def test_import_rule(package, transitive, forbidden):
    modules = reachable(package) if transitive else [m for m in MODULES if covered(m, package)]
    assert modules, f"no module matches {package}"
    broken = sorted(
        f"{module} imports {name}"
        for module in modules
        for name in imports_of(module)
        if any(covered(name, bad) for bad in forbidden)
    )
    assert broken == []


def test_every_module_the_page_names_exists():
    named = re.findall(r"`((?:bot|storage|notifiers|tests)/[\w/]+\.py)`", PAGE.read_text(encoding="utf-8"))
    assert named, "the page names no module"
    assert [path for path in named if not (ROOT / path).is_file()] == []


def test_a_rule_catches_a_forbidden_import(tmp_path, monkeypatch):
    """The checker of the rules is itself checked: a core module importing an adapter is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from notifiers.telegram_bot import platform\n", encoding="utf-8")
    monkeypatch.setitem(MODULES, "bot.bad", bad)
    with pytest.raises(AssertionError, match=re.escape("bot.bad imports notifiers.telegram_bot")):
        test_import_rule("bot", False, ["notifiers"])
