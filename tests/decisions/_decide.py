"""Run as a separate process by the multi-process tests: ask the decision point in-process.

    python -m tests.decisions._decide hammer <resource-id> <token> <attempts> <start-at>
    python -m tests.decisions._decide stepwise <resource-id> <token>

``hammer`` prints how many of its decisions (a warm-up plus the attempts) were allowed.
``stepwise`` decides once per line read on stdin and prints each decision with its reasons,
so the parent can change state in between while this process stays warm (a line ``cached``
answers whether its decision cache holds the token at the current epoch).
"""

from __future__ import annotations

import os
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.RATE_LIMIT_PREFIX = os.environ.get("TEST_RATE_LIMIT_PREFIX", "gov:ctr")
    from agents.models import Resource
    from governance.decisions.services import decision_make

    mode, resource_id, token = sys.argv[1:4]
    caller = Resource.objects.get(pk=int(resource_id))

    def decide():
        return decision_make(caller=caller, token=token, action="read", resource=caller.slug)

    if mode == "hammer":
        attempts, start_at = int(sys.argv[4]), float(sys.argv[5])
        # Warm up imports, connections and key caches before the start line; it counts too.
        allowed = decide().decision == "allow"
        time.sleep(max(0.0, start_at - time.time()))
        print(allowed + sum(decide().decision == "allow" for _ in range(attempts)))
        return
    from governance.decisions import cache

    for line in sys.stdin:
        if line.strip() == "cached":  # is this warm process really answering from its cache?
            hit = cache.token_checks.get((token, caller.audience), cache.current_epoch(), 0)
            print("yes" if hit is not None else "no", flush=True)
            continue
        result = decide()
        print(result.decision, ",".join(result.reasons), flush=True)


if __name__ == "__main__":
    main()
