"""Decision-point models: the database-backed shared counters of the embedded default."""

from django.db import models


class Counter(models.Model):
    """One shared counter (a rate window or a budget period of one connection).

    Keys carry their window or period, so a new window is a new row; ``expires_at`` lets a sweep
    delete rows nobody will read again. Budget values are stored in ten-thousandths of a cost
    unit, so that every backend does exact integer arithmetic.
    """

    key = models.CharField(max_length=200, unique=True)
    value = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class Epoch(models.Model):
    """The revocation epoch: a value changed by database triggers whenever a row the decision
    point may cache (agents, credentials, revoked tokens, runs, scopes, grants, connections,
    resources, the organisation policy) is inserted, updated or deleted.

    A server process may reuse what it read for a decision only while this value is unchanged
    (``governance/decisions/cache.py``). Values are random, never a counter, so a rolled-back or
    truncated table cannot bring back a value an old cache entry was filed under.
    """

    id = models.PositiveSmallIntegerField(primary_key=True)
    value = models.BigIntegerField()

    def __str__(self) -> str:
        return str(self.value)
