"""Overrides: change any key of a model file or an agreement file without editing it.

One addressing scheme serves the model file (:meth:`capitation.Model.with_values`,
``capitation run MODEL --set KEY=VALUE``, ``[[scenario]]`` tables) and the
risk-share agreement file (``risk_share.Agreement.with_values``,
``risk-share settle/simulate --set KEY=VALUE``):

- A key is the dotted path of a value in the file, table by table, as the file
  writes it: ``model.envelope_gbp``, ``pace_of_change.min_growth``,
  ``population.file``, ``pool.budget_gbp``, ``agreement.commissioner``.
- An entry of an array of tables is named by its ``name`` when its entries
  have one: ``component.core.share``, ``party.Acute trust.max_loss``,
  ``risk_tier.very high.weight``. Entries without a name (``[[pool.loss_band]]``,
  ``[[marginal_rate]]``) are named by position, counting from 1 as a reader
  counts the tables in the file: ``pool.loss_band.2.upto``,
  ``marginal_rate.1.above_plan``. A whole number names a named entry by
  position too when no entry has that name (``component.1.share``).
- A key inside a table is addressed by its own name, spaces and all:
  ``pool.loss_band.2.shares.Acute trust``. A part that holds a dot is quoted
  with double quotes: ``party."St. Mary's".max_loss``.
- A list of plain values (one per year) is replaced whole
  (``pace_of_change.min_growth = [0.01, 0.02]``), or one of its values set by
  position from 1 (``pace_of_change.min_growth.2``).
- A key the file leaves out is added (``pace_of_change.max_growth`` on a file
  with no cap), as is a table it leaves out; an entry of an array that does
  not exist is refused, naming the entries there are.
- Values are TOML values. On the command line ``--set KEY=VALUE`` reads VALUE
  as TOML (``0.01``, ``"core"``, ``[0.01, 0.02]``, ``true``, ``{ CCG = 1.0 }``);
  a bare word that is not TOML is text (``--set pool.mode=first_dollar``).
  In Python any value a TOML file could hold (numpy numbers are taken as
  Python numbers).

The overridden document is checked by the same reader as the file, so a bad
override is refused with the file's own words, after the override as it was
written: ``--set pace_of_change.min_growth=abc: demo.toml, key
pace_of_change.min_growth: expected a number, found 'abc'``. The original is
never changed. Each override applied is kept (:class:`Applied`) and written
to the results' ``assumptions`` sheet as ``overridden: key = value (file had:
...)``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from capitation.errors import InputError

if TYPE_CHECKING:
    from capitation.model_file import ModelSpec

__all__ = ["Applied", "Override", "apply_overrides", "as_overrides", "blame", "format_value",
           "override_model", "parse_assignment", "parse_assignments", "split_key"]

T = TypeVar("T")

NOT_SET = "not set"
"""What the assumptions sheet says the file had for a key it left out."""


class _Missing:
    def __repr__(self) -> str:
        return NOT_SET


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Override:
    """One key to change and its new value.

    Attributes
    ----------
    key : str
        The key, addressed as the module docstring says (``component.core.share``).
    value : object
        The new value, as a TOML file would hold it.
    written : str
        The override as the user wrote it, named in errors
        (``--set pace_of_change.min_growth=0.01``).
    """

    key: str
    value: Any
    written: str


@dataclass(frozen=True)
class Applied:
    """An override that was applied, with what the file had.

    Attributes
    ----------
    key : str
        The key as addressed (``component.core.share``).
    value : object
        The value set.
    file_had : object
        The file's value (:data:`MISSING` when the file left the key out).
    """

    key: str
    value: Any
    file_had: Any

    @property
    def text(self) -> str:
        """``key = value (file had: ...)``, as the assumptions sheet shows it."""
        return f"{self.key} = {format_value(self.value)} (file had: {format_value(self.file_had)})"

    def row(self) -> tuple[str, str]:
        """Return the assumptions sheet's row: ``("overridden", "key = value (file had: ...)")``."""
        return ("overridden", self.text)


def format_value(value: Any) -> str:
    """Write a value as TOML does (``0.025``, ``"core"``, ``[0.01, 0.02]``), or ``not set``."""
    if value is MISSING:
        return NOT_SET
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key_text(str(k))} = {format_value(v)}"
                                for k, v in value.items()) + " }"
    return str(value)


def _key_text(part: str) -> str:
    return part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else json.dumps(part, ensure_ascii=False)


def split_key(key: str) -> list[str]:
    """Split a dotted key into its parts: dots inside double quotes do not split.

    Parameters
    ----------
    key : str
        ``party."St. Mary's".max_loss`` or ``pool.loss_band.2.shares.Acute trust``.

    Returns
    -------
    list of str
        The parts, quotes removed and surrounding spaces stripped.

    Raises
    ------
    InputError
        For an empty key or part, or an unclosed quote.
    """
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    was_quoted = False
    for ch in key:
        if ch == '"':
            quoted = not quoted
            was_quoted = True
            continue
        if ch == "." and not quoted:
            parts.append("".join(current) if was_quoted else "".join(current).strip())
            current, was_quoted = [], False
            continue
        current.append(ch)
    if quoted:
        raise InputError(f"{key!r}: a quote is not closed (expected a dotted key such as "
                         "pace_of_change.min_growth)")
    parts.append("".join(current) if was_quoted else "".join(current).strip())
    if any(p == "" for p in parts):
        raise InputError(f"{key!r} is not a key (expected a dotted key such as "
                         "pace_of_change.min_growth)")
    return parts


def _plain(value: Any) -> Any:
    """Return numpy numbers as Python numbers, tuples as lists, recursively; others unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def parse_assignment(text: str, prefix: str = "--set ") -> Override:
    """Read ``KEY=VALUE`` as the command line's ``--set`` gives it.

    Parameters
    ----------
    text : str
        ``pace_of_change.min_growth=0.01``: the value is read as TOML
        (``"text"``, ``[1, 2]``, ``true``); a value that is not TOML is text.
    prefix : str
        Put before ``text`` when the override is named in errors.

    Returns
    -------
    Override

    Raises
    ------
    InputError
        When there is no ``=`` or no key.
    """
    written = f"{prefix}{text}"
    if "=" not in text:
        raise InputError(f"{written}: expected KEY=VALUE, such as "
                         "pace_of_change.min_growth=0.01")
    key, _, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not key:
        raise InputError(f"{written}: no key before = (expected KEY=VALUE, such as "
                         "pace_of_change.min_growth=0.01)")
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is text: --set pool.mode=first_dollar
    if isinstance(value, dt.date | dt.time):  # 2025-04-01 reads as a TOML date: keep the text
        value = raw
    return Override(key=key, value=value, written=written)


def parse_assignments(texts: Iterable[str], prefix: str = "--set ") -> list[Override]:
    """Read every ``--set KEY=VALUE`` of a command line (see :func:`parse_assignment`)."""
    return [parse_assignment(text, prefix) for text in texts]


def as_overrides(values: Mapping[str, Any] | Iterable[Override]) -> list[Override]:
    """Return the overrides of a mapping of key → value (Python) or from :class:`Override` objects.

    A mapping's overrides are named in errors as ``key = value``.
    """
    if isinstance(values, Mapping):
        out = []
        for key, value in values.items():
            if not isinstance(key, str):
                raise InputError(f"{key!r} is not a key (expected a dotted key such as "
                                 "pace_of_change.min_growth)")
            plain = _plain(value)
            out.append(Override(key=key, value=plain, written=f"{key} = {format_value(plain)}"))
        return out
    out = list(values)
    for item in out:
        if not isinstance(item, Override):
            raise TypeError(f"expected a mapping of key to value or Override objects, "
                            f"found {type(item).__name__}")
    return out


# ---------------------------------------------------------------------- applying


def _describe(entries: list[Any]) -> str:
    names = [str(e["name"]) for e in entries if isinstance(e, Mapping) and "name" in e]
    if names and len(names) == len(entries):
        return ", ".join(names)
    return f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, counted from 1"


def _entry(entries: list[Any], part: str, where: str, override: Override) -> tuple[int, Any]:
    """Return the entry of an array that ``part`` names: by name, else by position from 1."""
    named = [i for i, e in enumerate(entries) if isinstance(e, Mapping) and e.get("name") == part]
    if named:
        return named[0], entries[named[0]]
    if re.fullmatch(r"\d+", part) and 1 <= int(part) <= len(entries):
        i = int(part) - 1
        return i, entries[i]
    shown = where or "the file"
    raise InputError(f'{override.written}: {shown} has no entry "{part}" (entries: '
                     f"{_describe(entries)})")


def _set(data: dict[str, Any], override: Override) -> tuple[Any, str]:
    """Set ``override`` in ``data`` (changed in place); return the old value and the reader's key.

    The reader's key is the key as the file's reader names it in errors
    (``component[1].share``), matched against an error to name the override.
    """
    parts = split_key(override.key)
    node: Any = data
    where = ""  # the reader's key so far
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            here = f"{where}.{part}" if where else part
            if last:
                old = node.get(part, MISSING)
                node[part] = copy.deepcopy(override.value)
                return old, here
            if part not in node:
                node[part] = {}  # the reader then refuses a table the file cannot have
            node, where = node[part], here
        elif isinstance(node, list):
            if node and all(isinstance(e, dict) for e in node):
                i, entry = _entry(node, part, where, override)
                node, where = entry, f"{where}[{i + 1}]"
                if last:
                    raise InputError(f"{override.written}: {where} is a table; name one of its "
                                     "keys (such as " f"{override.key}.name)")
                continue
            if not re.fullmatch(r"\d+", part) or not 1 <= int(part) <= len(node):
                raise InputError(f"{override.written}: {where or 'the key'} is a list of "
                                 f"{len(node)} value{'s' if len(node) != 1 else ''}; "
                                 f'"{part}" is not a position in it (1 to {len(node)})')
            i = int(part) - 1
            if last:
                old = node[i]
                node[i] = copy.deepcopy(override.value)
                return old, f"{where}[{i + 1}]"
            node, where = node[i], f"{where}[{i + 1}]"
        else:
            raise InputError(f"{override.written}: {where} is a value "
                             f"({format_value(node)}), not a table")
    raise AssertionError("unreachable: the loop returns at the last part")


def _normal(key: str) -> str:
    return key.replace('"', "")


def _related(error_key: str, reader_key: str) -> bool:
    """Whether an error at ``error_key`` is about the value at ``reader_key``."""
    a, b = _normal(error_key), _normal(reader_key)
    if a == b:
        return True
    for short, long in ((a, b), (b, a)):
        if long.startswith(short) and long[len(short)] in ".[":
            return True
    bare_a, bare_b = re.sub(r"\[\d+\]", "", a), re.sub(r"\[\d+\]", "", b)
    return bare_a == bare_b  # component.share: the rule over every component's share


def blame(error: InputError, overrides: list[Override], reader_keys: list[str]) -> InputError:
    """Return the reader's error after the override(s) it is about, as written.

    The override whose key the error names; when the error names none of them
    (a rule across keys, such as a residual party that now has a cap), every
    override applied.
    """
    named = [o for o, k in zip(overrides, reader_keys, strict=True)
             if error.key is not None and _related(error.key, k)]
    written = "; ".join(o.written for o in (named or overrides))
    out = InputError(f"{written}: {error}")
    out.file, out.key, out.sheet, out.cell = error.file, error.key, error.sheet, error.cell
    return out


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[Override],
                    validate: Callable[[dict[str, Any]], T],
                    earlier: Iterable[Applied] = ()) -> tuple[T, tuple[Applied, ...]]:
    """Apply overrides to a copy of a parsed document and validate it with the file's reader.

    Parameters
    ----------
    data : mapping
        The parsed document (as ``tomllib`` gives it); never changed.
    overrides : iterable of Override
        In order; a later override of the same key wins.
    validate : callable
        The file's reader: the changed document → the validated object.
    earlier : iterable of Applied
        Overrides already applied to ``data`` (what the file had is kept from them).

    Returns
    -------
    (object, tuple of Applied)
        What ``validate`` returned, and every override applied (``earlier`` first).

    Raises
    ------
    InputError
        An override that names no entry, or that the reader refuses: the
        override as written, then the reader's message.
    """
    changed = copy.deepcopy(dict(data))
    todo = list(overrides)
    reader_keys: list[str] = []
    applied = list(earlier)
    had = {a.key: a.file_had for a in applied}
    for override in todo:
        old, reader_key = _set(changed, override)
        reader_keys.append(reader_key)
        file_had = had.setdefault(override.key, old)
        applied = [a for a in applied if a.key != override.key]
        applied.append(Applied(key=override.key, value=copy.deepcopy(override.value),
                               file_had=file_had))
    try:
        result = validate(changed)
    except InputError as error:
        if not todo:
            raise
        raise blame(error, todo, reader_keys) from None
    return result, tuple(applied)


# ---------------------------------------------------------------------- model files


def override_model(spec: ModelSpec, values: Mapping[str, Any] | Iterable[Override]) -> ModelSpec:
    """Return a model specification with overrides applied, validated as the file is.

    Parameters
    ----------
    spec : ModelSpec
        A validated model (from a model file or a model workbook); unchanged.
    values : mapping of str to object, or iterable of Override
        Key → new value, keys addressed as the module docstring says.

    Returns
    -------
    ModelSpec
        The new specification; its ``overrides`` list every override applied
        with what the file had.

    Raises
    ------
    InputError
        The override as written, then the model file's own message.
    """
    from capitation.model_file import parse_model

    overrides = as_overrides(values)
    budget_changed = any(split_key(o.key)[0] == "service_budget" for o in overrides)

    def validate(data: dict[str, Any]) -> ModelSpec:
        new = parse_model(data, spec.path)
        if budget_changed and new.service_budget is not None:
            from capitation.service_budget.budget_file import read_service_budget

            read_service_budget(new.service_budget, spec.path.parent, spec.path)
        return new

    new, applied = apply_overrides(spec.raw, overrides, validate, spec.overrides)
    return replace(new, overrides=applied, base=spec)
