"""Hand-written queries of the token hot path, loading model instances as the ORM would.

On this hardware the ORM spends about a millisecond compiling a query with joins, longer than
the database takes to answer it; the token endpoint and ``check_access_token`` run a few fixed
queries per request, so those are written out once here. Only table and column names from
model metadata and ``%s`` placeholders are ever put into the SQL text.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Model

from agents.models import Agent, AgentVersion, Connection, Resource, Scope, ScopeGrant
from audit.services import Row

from . import process_caches
from .epoch import timestamp
from .models import AssertionJti, Credential


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def literal(*values: str) -> str:
    """Constants of our enums as SQL literals, comma-separated (``Credential.USABLE``): the
    statuses a hand-written query compares, named once in the models, never hard-coded."""
    return ", ".join("'" + str(value).replace("'", "''") + "'" for value in values)


def table(model: type[Model]) -> str:
    return q(model._meta.db_table)


def columns(model: type[Model], alias: str) -> str:
    return ", ".join(f"{alias}.{q(f.column)}" for f in model._meta.concrete_fields)


@lru_cache(maxsize=16)
def _converters(model: type[Model], vendor: str) -> tuple[list[str], list[tuple[int, Any, list]]]:
    fields = list(model._meta.concrete_fields)
    out = []
    for i, fld in enumerate(fields):
        col = fld.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(col) + fld.get_db_converters(connection)
        if converters:
            out.append((i, col, converters))
    return [f.attname for f in fields], out


def load(model: type[Model], values: tuple | list) -> Model:
    """A model instance from a row slice in ``concrete_fields`` order (backend conversions)."""
    attnames, converters = _converters(model, connection.vendor)
    row = list(values)
    for i, expression, funcs in converters:
        for func in funcs:
            row[i] = func(row[i], expression, connection)
    return model.from_db(connection.alias, attnames, row)


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


@dataclass(frozen=True)
class TokenContext:
    """What a token for an agent says, read with its credential: grants, audiences, version."""

    scopes: frozenset[str]
    audiences: tuple[str, ...]
    version: str | None
    # When time alone changes it: the earliest expiry of a grant in ``scopes`` (a timestamp).
    valid_until: float = float("inf")


def json_agg(expression: str) -> str:
    # A JSON array of the values (NULL when there are none on PostgreSQL).
    return (
        f"json_agg({expression})"
        if connection.vendor == "postgresql"
        else (f"json_group_array({expression})")
    )


def _context_columns() -> str:
    """Four scalar subqueries on the credential's agent ``a``: its token context in the row.

    Read with the credential so authenticating and issuing cost one query, not two (on
    PostgreSQL every round trip counts). Harmless for a resource server's credential (NULLs).
    """
    grant, scope = table(ScopeGrant), table(Scope)
    conn, res, version = table(Connection), table(Resource), table(AgentVersion)
    return (
        f"(SELECT {json_agg('s.' + q('name'))} FROM {grant} g JOIN {scope} s "  # noqa: S608
        f"ON g.{q('scope_id')} = s.{q('id')} WHERE g.{q('agent_id')} = a.{q('id')} "
        f"AND g.{q('status')} = {literal(ScopeGrant.Status.ACTIVE)} "
        f"AND (g.{q('expires_at')} IS NULL OR g.{q('expires_at')} > %s)), "
        f"(SELECT {json_agg('r2.' + q('audience'))} FROM {conn} k JOIN {res} r2 "
        f"ON k.{q('resource_id')} = r2.{q('id')} WHERE k.{q('agent_id')} = a.{q('id')} "
        f"AND k.{q('status')} = {literal(Connection.Status.ACTIVE)}), "
        f"(SELECT v.{q('label')} FROM {version} v "
        f"WHERE v.{q('id')} = a.{q('current_version_id')}), "
        f"(SELECT MIN(g.{q('expires_at')}) FROM {grant} g WHERE g.{q('agent_id')} = a.{q('id')} "
        f"AND g.{q('status')} = {literal(ScopeGrant.Status.ACTIVE)} "
        f"AND g.{q('expires_at')} > %s)"
    )


def json_list(value: Any) -> list:
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str | bytes) else list(value)


def _token_context(row: tuple) -> TokenContext:
    scopes, audiences, version, first_grant_expiry = row[-4:]
    return TokenContext(
        scopes=frozenset(json_list(scopes)),
        audiences=tuple(sorted(json_list(audiences))),
        version=version,
        valid_until=timestamp(first_grant_expiry),
    )


def _principal_select() -> str:
    """Credentials ``c`` with their agent ``a`` or resource ``r`` and the agent's token context
    (its two ``%s``: the moment grants are judged at)."""
    return (
        f"SELECT {columns(Credential, 'c')}, {columns(Agent, 'a')}, {columns(Resource, 'r')}, "  # noqa: S608
        f"{_context_columns()} "
        f"FROM {table(Credential)} c "
        f"LEFT JOIN {table(Agent)} a ON c.{q('agent_id')} = a.{q('id')} "
        f"LEFT JOIN {table(Resource)} r ON c.{q('resource_id')} = r.{q('id')} "
    )


@lru_cache(maxsize=4)
def _credential_sql(vendor: str) -> str:
    return f"{_principal_select()}WHERE c.{q('id')} = %s AND c.{q('kind')} = %s"


def _attach(credential: Credential, row: tuple, start: int) -> Credential:
    a_end = start + width(Agent)
    if credential.agent_id is not None:
        credential.agent = load(Agent, row[start:a_end])
    if credential.resource_id is not None:
        credential.resource = load(Resource, row[a_end : a_end + width(Resource)])
    return credential


def credential_with_principal(
    credential_id: str, kind: str, now: dt.datetime | None = None
) -> tuple[Credential, TokenContext] | None:
    """The credential, its agent or resource server and the agent's token context: one query."""
    at = connection.ops.adapt_datetimefield_value(now or process_caches.now())
    with connection.cursor() as cursor:
        cursor.execute(_credential_sql(connection.vendor), [at, at, credential_id, kind])
        row = cursor.fetchone()
    if row is None:
        return None
    n = width(Credential)
    return _attach(load(Credential, row[:n]), row, n), _token_context(row)


@lru_cache(maxsize=4)
def _context_sql(vendor: str) -> str:
    return f"SELECT {_context_columns()} FROM {table(Agent)} a WHERE a.{q('id')} = %s"  # noqa: S608


def agent_token_context(agent_id: int, now: dt.datetime) -> TokenContext:
    """An agent's granted scopes, connected audiences and current version label: one query."""
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_context_sql(connection.vendor), [at, at, agent_id])
        return _token_context(cursor.fetchone())


@lru_cache(maxsize=4)
def _key_candidates_sql(vendor: str) -> str:
    return (
        f"{_principal_select()}"
        f"WHERE (a.{q('slug')} = %s OR r.{q('slug')} = %s) "
        f"AND c.{q('kind')} = {literal(Credential.Kind.PUBLIC_KEY)} "
        f"AND c.{q('algorithm')} = %s AND c.{q('status')} IN ({literal(*Credential.USABLE)}) "
        f"AND c.{q('not_before')} <= %s "
        f"AND (c.{q('expires_at')} IS NULL OR c.{q('expires_at')} > %s) "
        f"ORDER BY c.{q('created_at')} DESC LIMIT 20"
    )


def usable_key_credentials(
    client_id: str, algorithm: str, now: dt.datetime
) -> list[tuple[Credential, TokenContext]]:
    """The usable public-key credentials of a client for one algorithm, with principals."""
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            _key_candidates_sql(connection.vendor),
            [at, at, client_id, client_id, algorithm, at, at],
        )
        rows = cursor.fetchall()
    n = width(Credential)
    return [(_attach(load(Credential, row[:n]), row, n), _token_context(row)) for row in rows]


def _column(model: type[Model], name: str) -> str:
    return model._meta.get_field(name).column


def assertion_jti_row(client_id: str, jti: str, expires_at: dt.datetime) -> Row:
    """The replay-cache row of an assertion, for ``record_row(along_with=…)``: its INSERT
    fails with ``IntegrityError`` if the assertion is already there."""
    return Row(
        table=AssertionJti._meta.db_table,
        values={
            _column(AssertionJti, "client_id"): client_id,
            _column(AssertionJti, "jti"): jti,
            _column(AssertionJti, "expires_at"): connection.ops.adapt_datetimefield_value(
                expires_at
            ),
        },
    )


def insert_assertion_jti(client_id: str, jti: str, expires_at: dt.datetime) -> None:
    """Enter an assertion in the replay cache; ``IntegrityError`` if it is already there."""
    row = assertion_jti_row(client_id, jti, expires_at)
    columns = ", ".join(q(c) for c in row.values)
    marks = ", ".join(["%s"] * len(row.values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(row.table)} ({columns}) VALUES ({marks})",  # noqa: S608
            list(row.values.values()),
        )
