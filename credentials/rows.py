"""Hand-written SQL that cannot drift from the models: names from model metadata, rows by name.

The fast paths (``credentials/sql.py``, ``credentials/token_check.py``, the decision point's
``selectors.py`` and ``cache.py``) write a few fixed queries by hand, because the ORM spends
longer compiling them than the database spends answering. What keeps them honest:

* table and column names come from ``Model._meta`` (``table``, ``column``), never typed;
* statuses come from the models' enums and travel as parameters, never as SQL literals;
* a query selects named expressions (``Select``): the SQL text and the decoding come from the
  same list, so a row is read by name (``Select.decode``), each value through its field's own
  converters (``decoded``), exactly as the ORM would convert it (JSON, decimals, SQLite's
  naive UTC datetimes);
* every such query has an oracle test against the ORM on generated data
  (``tests/credentials/test_sql_oracles.py``, ``tests/decisions/test_sql_oracles.py``).

Only names from model metadata and ``%s`` placeholders are ever put into the SQL text.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Model


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[Model]) -> str:
    return q(model._meta.db_table)


def column(model: type[Model], field: str, alias: str = "") -> str:
    """The quoted column of ``model.field`` (``alias.column`` with an alias)."""
    name = q(model._meta.get_field(field).column)
    return f"{alias}.{name}" if alias else name


def columns(model: type[Model], alias: str) -> str:
    """Every concrete column of ``model``, in ``concrete_fields`` order (what ``load`` reads)."""
    return ", ".join(f"{alias}.{q(f.column)}" for f in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


def _field_converters(model: type[Model], field: Any) -> tuple[Any, list]:
    col = field.get_col(model._meta.db_table)
    return col, connection.ops.get_db_converters(col) + field.get_db_converters(connection)


@lru_cache(maxsize=64)
def _model_converters(
    model: type[Model], vendor: str
) -> tuple[list[str], list[tuple[int, Any, list]]]:
    fields = list(model._meta.concrete_fields)
    out = []
    for i, fld in enumerate(fields):
        col, converters = _field_converters(model, fld)
        if converters:
            out.append((i, col, converters))
    return [f.attname for f in fields], out


def load(model: type[Model], values: Sequence[Any]) -> Model:
    """A model instance from a row slice in ``concrete_fields`` order (see ``columns``)."""
    attnames, converters = _model_converters(model, connection.vendor)
    row = list(values)
    for i, expression, funcs in converters:
        for func in funcs:
            row[i] = func(row[i], expression, connection)
    return model.from_db(connection.alias, attnames, row)


@lru_cache(maxsize=256)
def _converters_of(model: type[Model], field: str, vendor: str) -> tuple[Any, tuple]:
    col, converters = _field_converters(model, model._meta.get_field(field))
    return col, tuple(converters)


def decoded(model: type[Model], field: str, value: Any) -> Any:
    """``value`` as read from ``model.field``'s column, converted as the ORM converts it."""
    if value is None:
        return None
    col, converters = _converters_of(model, field, connection.vendor)
    for func in converters:
        value = func(value, col, connection)
    return value


class Select:
    """Named expressions of one hand-written SELECT: the SQL list and the decoding, from one
    list of ``(name, sql expression, (model, field) or None)``.

    ``sql()`` is ``expr AS "name", …``; ``decode(row)`` a named tuple, each value converted
    by its field's converters when a (model, field) is given (else as the driver gave it).
    """

    def __init__(self, name: str, items: Sequence[tuple[str, str, tuple[type, str] | None]]):
        self.items = tuple(items)
        self.row = namedtuple(name, [item[0] for item in self.items])

    def sql(self) -> str:
        return ", ".join(f"{expr} AS {q(name)}" for name, expr, _ in self.items)

    def decode(self, row: Sequence[Any]) -> Any:
        values = [
            decoded(source[0], source[1], value) if source is not None else value
            for (_, _, source), value in zip(self.items, row, strict=True)
        ]
        return self.row._make(values)
