"""Tell the trust engine that an agent's signals changed: its task, queued by name on commit.

``agents`` and ``credentials`` cannot import ``trust`` (it is to their left), so they send its
Celery task by name (``trust.recompute_agent``). On commit: a rolled-back change queues nothing,
and the worker reads the committed state.
"""

from __future__ import annotations

from django.db import transaction

RECOMPUTE_TASK = "trust.recompute_agent"


def trust_signals_changed(agent_id: int) -> None:
    """Queue the agent's trust recomputation once the current transaction commits."""

    def send() -> None:
        from celery import current_app

        current_app.send_task(RECOMPUTE_TASK, args=[agent_id])

    transaction.on_commit(send)
