"""A critical scope granted opens a micro-review of the agent, once the grant commits.

A receiver rather than a call from ``agents.services``: the registry may not import
governance. ``post_save`` fires for every grant the registry makes (``ScopeGrant.objects.create``
in ``scope_grant``); the review itself is opened by the service, audited, after commit.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from agents.models import ScopeGrant, Sensitivity


@receiver(post_save, sender=ScopeGrant, dispatch_uid="reviews.critical_grant")
def critical_grant(sender, instance: ScopeGrant, created: bool, **kwargs) -> None:
    if not created or kwargs.get("raw"):
        return
    if instance.scope.sensitivity != Sensitivity.CRITICAL:
        return
    agent_id = instance.agent_id

    def open_review() -> None:
        from agents.models import Agent

        from .services import review_micro_open

        agent = Agent.objects.filter(pk=agent_id).first()
        if agent is not None:
            review_micro_open(agent=agent, trigger="critical_grant")

    # robust: a failure is logged; the grant, already committed, stands either way.
    transaction.on_commit(open_review, robust=True)
