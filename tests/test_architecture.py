"""Which module may import what (style.md "Imports flow one way").

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
    assert ("risk_share.plan_lines_file", "risk_share.excel.agreement_workbook") in seen


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


# -- rounding and solver rules --------------------------------------------------

def _parsed_package_modules() -> dict[str, ast.Module]:
    """Every module of capitation and risk_share, parsed, by path from the repository root."""
    root = Path(__file__).resolve().parents[1]
    return {
        path.relative_to(root).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for package in ("capitation", "risk_share")
        for path in sorted((root / package).rglob("*.py"))
    }


def test_rounding_only_in_rounding_py():
    # No np.round / numpy.round / np.around / built-in round outside capitation/rounding.py:
    # money and counts are rounded by its rules (one snap, halves as docs/methods says).
    rounding_allowed = {
        "capitation/rounding.py": "the rules themselves",
        "capitation/population.py": "random list sizes of a synthetic population, not money",
        "risk_share/plots.py": "x-axis grid of a share-curve plot, not an amount anyone is paid",
    }

    def rounding_calls(tree: ast.Module) -> list[int]:
        numpy_names = {"numpy"}
        bare_rounds = {"round"}  # the built-in, and numpy's imported by name
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                numpy_names |= {a.asname or a.name for a in node.names if a.name == "numpy"}
            elif isinstance(node, ast.ImportFrom) and node.module == "numpy":
                bare_rounds |= {a.asname or a.name for a in node.names
                                if a.name in ("round", "around", "round_")}
        lines = []
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in bare_rounds:
                lines.append(node.lineno)
            elif (isinstance(func, ast.Attribute) and func.attr in ("round", "around", "round_")
                  and isinstance(func.value, ast.Name) and func.value.id in numpy_names):
                lines.append(node.lineno)
        return lines

    found = {path: rounding_calls(tree) for path, tree in _parsed_package_modules().items()}
    offenders = {path: lines for path, lines in found.items()
                 if lines and path not in rounding_allowed}
    assert not offenders, f"round outside capitation/rounding.py (use its functions): {offenders}"
    stale = [path for path in rounding_allowed
             if path != "capitation/rounding.py" and not found.get(path)]
    assert not stale, f"allowed to round but no longer does (drop the entry): {stale}"


def test_pyomo_only_in_the_solver_and_lp_modules():
    # pyomo only in the solver and the modules that build or read an LP; highspy only in
    # the solver (capitation/solver.py talks to HiGHS for every LP).
    lp_modules = {
        "capitation/solver.py",  # solves every LP with HiGHS
        "capitation/pace_of_change/build.py",  # pace of change: data -> pyomo model
        "capitation/pace_of_change/extract.py",  # pace of change: solved model -> shortfalls
        "risk_share/calibration.py",  # calibration LP: build_model, extract_shares
    }

    def imports(tree: ast.Module, top: str) -> bool:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(
                    a.name.split(".")[0] == top for a in node.names):
                return True
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == top:
                return True
        return False

    modules = _parsed_package_modules()
    pyomo = {path for path, tree in modules.items() if imports(tree, "pyomo")}
    assert pyomo == lp_modules, (
        f"pyomo outside the LP modules: {sorted(pyomo - lp_modules)}; "
        f"listed but no longer importing it: {sorted(lp_modules - pyomo)}")
    highspy = {path for path, tree in modules.items() if imports(tree, "highspy")}
    assert highspy <= {"capitation/solver.py"}, f"highspy outside the solver: {sorted(highspy)}"
