"""Which module may import what (style.md "Imports flow one way"; issue 13).

Every module under ``capitation/`` and ``risk_share/`` is parsed with ``ast``, so
an import counts wherever it is written: at the top, inside a function, under
``if TYPE_CHECKING``, or as ``importlib.import_module("name")``. One test
function per rule; a new rule is another function over :func:`imports`.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("capitation", "risk_share")
EXCEL_LIBRARIES = ("openpyxl", "xlsxwriter", "python_calamine", "lxml")


@dataclass(frozen=True)
class Import:
    """One import statement: which module makes it, where, and the module it imports."""

    module: str  # the importing module, "capitation.excel.read"
    path: Path  # its file, relative to the repository
    line: int
    imported: str  # the imported module, "python_calamine" or "risk_share.agreement"
    statement: str  # the source, "from python_calamine import CalamineWorkbook"

    @property
    def top(self) -> str:
        """The imported module's top-level package (``lxml`` for ``lxml.etree``)."""
        return self.imported.split(".")[0]

    def __str__(self) -> str:
        return f"{self.module} ({self.path}:{self.line}) imports {self.imported}: {self.statement}"


def module_files() -> list[Path]:
    """Every ``.py`` file of the packages, relative to the repository."""
    return sorted(p.relative_to(ROOT) for package in PACKAGES
                  for p in (ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(name: str | None, level: int, module: str, is_package: bool) -> str:
    """Resolve ``from .x import y`` against the importing module."""
    if level == 0:
        return name or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


@functools.cache
def imports() -> tuple[Import, ...]:
    """Every import in every module of the packages."""
    found = []
    for path in module_files():
        source = (ROOT / path).read_text(encoding="utf-8")
        module = module_name(path)
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(source, filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [_absolute(node.module, node.level, module, is_package)]
            elif (isinstance(node, ast.Call) and node.args
                  and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)
                  and ast.unparse(node.func) in ("importlib.import_module", "import_module",
                                                 "__import__")):
                names = [node.args[0].value]
            if not names:
                continue
            statement = ast.get_source_segment(source, node) or ""
            found.extend(Import(module, path, node.lineno, name, " ".join(statement.split()))
                         for name in names)
    return tuple(found)


def test_the_rules_see_every_module():
    # A rule over no modules passes whatever the code does: check the walk finds them.
    names = {module_name(p) for p in module_files()}
    assert {"capitation", "capitation.excel.read", "risk_share.excel.agreement_workbook",
            "risk_share.cli"} <= names
    seen = {(i.module, i.imported) for i in imports()}
    assert ("capitation.excel.read", "python_calamine") in seen  # from ... import, at the top
    assert ("risk_share.lines", "risk_share.excel.agreement_workbook") in seen  # in a function


def test_only_an_excel_subpackage_imports_an_excel_library():
    offending = [i for i in imports()
                 if i.top in EXCEL_LIBRARIES and "excel" not in i.path.parts[:-1]]
    assert not offending, (
        "only an excel/ subpackage (capitation/excel/, risk_share/excel/) may import "
        f"{', '.join(EXCEL_LIBRARIES)}:\n" + "\n".join(map(str, offending)))


def test_capitation_never_imports_risk_share():
    offending = [i for i in imports()
                 if i.module.split(".")[0] == "capitation" and i.top == "risk_share"]
    assert not offending, (
        "risk_share builds on capitation, never the reverse:\n" + "\n".join(map(str, offending)))
