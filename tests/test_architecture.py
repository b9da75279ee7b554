"""Architecture rules, checked on the source with ``ast`` (style.md: imports and rounding)."""

from __future__ import annotations

import ast
from pathlib import Path


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
    # money and counts are rounded by its rules (one snap, halves as domain.md says).
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
