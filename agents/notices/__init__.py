"""Notices: one notification service for every "a human should look" event.

A notice goes to a team (its members) or to one person. It is written in the same transaction
as the change that causes it, together with an outbox row; the outbox row is delivered by email
through Django's email backend by a Celery task queued on commit, and swept by beat if that
task never ran. Read state is per user. ``services.notify`` is the one entry point.
"""
