"""The Excel formula behind each audited number of a level sheet.

A level sheet (the layout of capitation.excel.write) has the organisation code in column A and
then exactly the columns of :meth:`capitation.results.Results.table`, one row
per organisation from row ``LevelLayout.first`` (below the header, or the
title block and header), any totals row below them. :func:`level_templates` says, per
column, whether the cell is a value (an input, or money rounded by largest
remainder, which no formula reproduces) or a formula, and gives the formula
as a template whose ``{r}`` is the row number. The formulas (docs/methods (weighted capitation, need
index); "T" is the top level's sheet, "P" the practice sheet):

======================  ===================================================================
column                  formula
======================  ===================================================================
population              practice: value; above: ``SUMIFS(P!population, P!<level>, A)``
weighted_population     ``target / SUM(T!target) * SUM(T!population)``
need_index              ``(target / population) / (SUM(T!target) / SUM(T!population))``
need_index_in_parent    ``(target / population) / (parent target / parent population)``,
                        the parent's row found with ``INDEX(..., MATCH(parent code, ...))``
target_gbp              practice: sum of the component targets; above: ``SUMIFS``
allocation_gbp          practice: ``= target`` without pace of change, else a value;
                        above: ``SUMIFS``
distance_from_target    ``(allocation - target) / target``
allocation_per_head     ``allocation / population``
baseline_gbp            pace level: value; above: ``SUMIFS`` over the pace level's sheet
growth                  ``(allocation - baseline) / baseline``
baseline_distance...    ``(baseline - target) / target``
weighted_population_c   practice: value; above: ``SUMIFS``
target_c_gbp            practice: value (largest remainder); above: ``SUMIFS``
======================  ===================================================================

Under ``need_index_convention = "nhs_england"`` the two indices of levels
above practice are ``ROUND(ROUND(wp, 0) / ROUND(population, 0), 3)`` and
``ROUND((ROUND(wp, 0) / ROUND(pop, 0)) / (ROUND(parent wp, 0) / ROUND(parent pop, 0)), 3)``;
at the top level the parent is the whole model, whose weighted population
equals its population, so its index in the parent is its own index.
A ratio whose denominator is 0 gives an empty text (Python's NaN, a blank).
"""

from __future__ import annotations

from dataclasses import dataclass

from capitation.excel.read import column_letter

__all__ = ["LevelLayout", "level_templates", "quote_sheet", "VALUE"]

#: Marker for a cell written as a value, not a formula.
VALUE = None


def quote_sheet(name: str) -> str:
    """Return a sheet name quoted for a formula reference (``'ICB_LAD'``)."""
    return "'" + name.replace("'", "''") + "'"


@dataclass(frozen=True)
class LevelLayout:
    """Where a level's table sits in the workbook.

    Attributes
    ----------
    level : str
        Level name (``practice``, ``ICB/LAD``).
    sheet : str
        Its sheet name.
    columns : tuple of str
        The table's columns, in order (column B onwards).
    rows : int
        Number of organisations (rows ``first`` to ``first + rows - 1``).
    first : int
        The (1-based) row of the first organisation: 2 under a single header
        row, further down under a title block.
    """

    level: str
    sheet: str
    columns: tuple[str, ...]
    rows: int
    first: int = 2

    def letter(self, column: str) -> str:
        """Column letter of a table column (the code is column A)."""
        return column_letter(self.columns.index(column) + 1)

    def cell(self, column: str) -> str:
        """Same-row reference template, such as ``F{r}``."""
        return f"{self.letter(column)}{{r}}"

    def range(self, column: str) -> str:
        """Absolute reference to a column's data cells, sheet included."""
        letter = "A" if column == self.level else self.letter(column)
        return (f"{quote_sheet(self.sheet)}!${letter}${self.first}:"
                f"${letter}${self.first + self.rows - 1}")


def _lookup(parent: LevelLayout, child: LevelLayout, column: str) -> str:
    """``INDEX(parent column, MATCH(this row's parent code, parent codes, 0))``."""
    return (f"INDEX({parent.range(column)},MATCH(${child.letter(parent.level)}{{r}},"
            f"{parent.range(parent.level)},0))")


def _sumifs(source: LevelLayout, level: LevelLayout, column: str) -> str:
    return f"=SUMIFS({source.range(column)},{source.range(level.level)},$A{{r}})"


def level_templates(layouts: list[LevelLayout], depth: int, components: list[str],
                    convention: str, pace_depth: int | None) -> dict[str, str | None]:
    """Give the formula template (or :data:`VALUE`) of every column of one level's sheet.

    Parameters
    ----------
    layouts : list of LevelLayout
        Every level of one year, innermost (practice) first.
    depth : int
        Which of ``layouts`` to build (0 is practice).
    components : list of str
        Component names in order.
    convention : {"toolkit", "nhs_england"}
        Need index convention (docs/methods/need-index.md).
    pace_depth : int or None
        Index in ``layouts`` of the pace-of-change level, if any.

    Returns
    -------
    dict of str to str or None
        Column → template with ``{r}`` for the row number (braces in the
        formula are doubled), or None for a value or a text code.
    """
    me = layouts[depth]
    practice = layouts[0]
    top = layouts[-1]
    parent = layouts[depth + 1] if depth + 1 < len(layouts) else None
    c = me.cell
    pop, wp, target, alloc = c("population"), c("weighted_population"), c("target_gbp"), \
        c("allocation_gbp")
    total_target = f"SUM({top.range('target_gbp')})"
    total_pop = f"SUM({top.range('population')})"
    out: dict[str, str | None] = {}

    def summed(column: str, source: LevelLayout = practice) -> str | None:
        return VALUE if depth == 0 else _sumifs(source, me, column)

    out["population"] = summed("population")
    out["weighted_population"] = f"={target}/{total_target}*{total_pop}"
    nhs = convention == "nhs_england" and depth > 0
    if nhs:
        ratio = f"(ROUND({wp},0)/ROUND({pop},0))"
        guard = f'=IF(ROUND({pop},0)=0,"",'
        out["need_index"] = f"{guard}ROUND({ratio},3))"
        if parent is None:
            out["need_index_in_parent"] = f"{guard}ROUND({ratio},3))"
        else:
            parent_ratio = (f"(ROUND({_lookup(parent, me, 'weighted_population')},0)/"
                            f"ROUND({_lookup(parent, me, 'population')},0))")
            out["need_index_in_parent"] = f"{guard}ROUND({ratio}/{parent_ratio},3))"
    else:
        per_head = f"({target}/{pop})"
        guard = f'=IF({pop}=0,"",'
        out["need_index"] = f"{guard}{per_head}/({total_target}/{total_pop}))"
        if parent is None:
            out["need_index_in_parent"] = out["need_index"]
        else:
            out["need_index_in_parent"] = (
                f"{guard}{per_head}/({_lookup(parent, me, 'target_gbp')}/"
                f"{_lookup(parent, me, 'population')}))")
    if depth == 0:
        out["target_gbp"] = "=" + "+".join(c(f"target_{k}_gbp") for k in components)
        out["allocation_gbp"] = f"={target}" if pace_depth is None else VALUE
    else:
        out["target_gbp"] = summed("target_gbp")
        out["allocation_gbp"] = summed("allocation_gbp")
    out["distance_from_target"] = f'=IF({target}=0,"",({alloc}-{target})/{target})'
    out["allocation_per_head_gbp"] = f'=IF({pop}=0,"",{alloc}/{pop})'
    if pace_depth is not None and depth >= pace_depth:
        base = c("baseline_gbp")
        out["baseline_gbp"] = (VALUE if depth == pace_depth
                               else _sumifs(layouts[pace_depth], me, "baseline_gbp"))
        out["growth"] = f'=IF({base}=0,"",({alloc}-{base})/{base})'
        out["baseline_distance_from_target"] = f'=IF({target}=0,"",({base}-{target})/{target})'
    for k in components:
        out[f"weighted_population_{k}"] = summed(f"weighted_population_{k}")
        out[f"target_{k}_gbp"] = summed(f"target_{k}_gbp")
    for column in me.columns:
        out.setdefault(column, VALUE)
    unknown = set(out) - set(me.columns)
    if unknown:
        raise KeyError(f"level {me.level}: no column for {sorted(unknown)}")
    return {column: out[column] for column in me.columns}
