"""The decision point: may this agent do this action on this resource, now? Audited, always.

``decision_make`` (``decide.py``) is the one entry point (the HTTP view and the bench call it).
A decision goes through these modules, in this order, each one job:

1. ``inputs.py`` — what was asked: the action, token, cost and resource, checked (400 / 403).
2. ``plans.py`` — a warm process's shortcuts: the evaluated request kept per (token, caller,
   resource, action, connection) ("plan"), and *speculation* — deciding from the cached token
   check and context at the epoch this process saw last, before reading the epoch.
3. ``request.py`` — what the rules read: the token check and the registry context, from the
   epoch caches (``governance/decisions/cache.py``) or from the database.
4. ``evaluation.py`` — both layers short of the counters (``policy.py``'s pure rules, then
   trust and any human's answer on an identical request).
5. ``decide.py`` — the service: counts (only what everything else allows), opens an approval,
   writes the audit entry — guarded by the epoch when anything came from a cache — and fails
   closed without charging the agent.

``answer.py`` is what comes back (``Decision``). Why the caches are safe, and what they save,
is in ``docs/decisions.md`` ("Caches and the revocation epoch").
"""

from .answer import Decision
from .decide import decision_make
from .inputs import parse_cost

__all__ = ["Decision", "decision_make", "parse_cost"]
