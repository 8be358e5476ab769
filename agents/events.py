"""Tell the trust engine that an agent's signals changed: its task, queued by name on commit.

``agents`` and ``credentials`` cannot import ``trust`` (it is to their left), so they send its
Celery task by name (``trust.recompute_agent``). On commit: a rolled-back change queues nothing,
and the worker reads the committed state. A broker that is down does not fail the change that
was already committed: the beat's recomputation of every agent catches up.
"""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)

RECOMPUTE_TASK = "trust.recompute_agent"


def trust_signals_changed(agent_id: int) -> None:
    """Queue the agent's trust recomputation once the current transaction commits."""

    def send() -> None:
        from celery import current_app

        try:
            current_app.send_task(RECOMPUTE_TASK, args=[agent_id])
        except Exception:  # broker unavailable: the change is committed, beat recomputes
            logger.warning("trust recompute of agent %s not queued", agent_id)

    transaction.on_commit(send)
