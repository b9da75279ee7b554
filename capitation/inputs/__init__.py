"""The one input edge for files: TOML keys, CSV tables, headers, financial years, file checks.

Every reader of a model file, service budget, GP register, cost weights,
practice table, person rows, risk-share agreement or plan lines reads through
these functions, so that the same mistake gets the same words everywhere and
every :class:`~capitation.errors.InputError` names the file and the place
(TOML key, row and column).

=====================  ========================================================
``toml_keys``          :func:`read_toml`, :class:`TomlKeys` (keys, types,
                       ranges, percentages, per-year lists, file paths)
``csv_tables``         :func:`read_csv` → :class:`CsvTable`; :func:`number_column`
                       and :func:`text_column`, the first-bad-row checks;
                       :func:`refuse_rows` for any other check of a column,
                       :func:`refuse_repeats` for a code in two rows
``headers``            :func:`normalise_header`, :func:`find_columns`
``years``              ``"2025/26"`` parsing and consecutive years
``files``              :func:`check_file`, :func:`read_bytes`: a regular file that
                       can be read, checked before it is opened
=====================  ========================================================
"""

from capitation.inputs.csv_tables import (
    CsvTable,
    also_rows,
    first_bad,
    listed,
    number_column,
    read_csv,
    refuse_repeats,
    refuse_rows,
    text_column,
)
from capitation.inputs.files import check_file, read_bytes
from capitation.inputs.headers import find_columns, normalise_header
from capitation.inputs.toml_keys import (
    TomlKeys,
    looks_like_percentage,
    percentage_mistake,
    read_toml,
    suggest,
)
from capitation.inputs.years import (
    check_consecutive,
    consecutive_years,
    financial_year,
    financial_years,
    is_financial_year,
    next_year,
    year_suffix,
)

__all__ = [
    "CsvTable",
    "TomlKeys",
    "also_rows",
    "check_consecutive",
    "check_file",
    "consecutive_years",
    "financial_year",
    "financial_years",
    "find_columns",
    "first_bad",
    "is_financial_year",
    "listed",
    "looks_like_percentage",
    "next_year",
    "normalise_header",
    "number_column",
    "percentage_mistake",
    "read_bytes",
    "read_csv",
    "read_toml",
    "refuse_repeats",
    "refuse_rows",
    "suggest",
    "text_column",
    "year_suffix",
]
