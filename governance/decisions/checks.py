"""System checks of the decision point (run by ``migrate`` and ``check --database default``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register
from django.db import DatabaseError, connections

from . import triggers
from .models import Epoch


@register(Tags.database)
def epoch_triggers_match_the_models(databases: Any = None, **kwargs: Any) -> list[Error]:
    """The installed revocation-epoch triggers watch exactly what the current models need."""
    errors: list[Error] = []
    for alias in databases or ():
        connection = connections[alias]
        try:
            tables = connection.introspection.table_names()
        except DatabaseError:
            continue  # no database to look at: nothing to compare
        if Epoch._meta.db_table not in tables:
            continue  # not migrated yet: migrate installs them
        for problem in triggers.drift(connection):
            errors.append(
                Error(
                    f"Revocation-epoch trigger drift ({alias}): {problem}.",
                    hint=(
                        "A cached token check or decision could outlive a change of this "
                        "table. Add a migration that runs "
                        "governance.decisions.triggers.install (see docs/decisions.md)."
                    ),
                    id="decisions.E001",
                )
            )
    return errors
