"""Authenticating the calling OAuth client of a request, one job per module.

* ``methods``: what a request presents and how each method verifies it
  (``client_secret_basic``, ``client_secret_post``, ``private_key_jwt``);
* ``throttle``: failed attempts counted per claimed client id and per address (Redis in
  production) and recorded in the audit log;
* ``remembered``: clients that authenticated from the database, kept per process at the
  revocation epoch, so a warm request needs no read (``docs/oauth.md``, "Remembered clients");
* ``replay``: each ``private_key_jwt`` assertion's ``jti`` is used once;
* ``authenticate``: the order of all that, and the entry points below.

Unknown client, unknown credential, wrong secret and revoked credential all fail the same way
(``invalid_client``); the specific reason goes to the audit log only. Only success comes from
what a process remembers; anything else is decided again from the database, which also records
it.
"""

from .authenticate import authenticate_client, authenticate_resource_server
from .methods import ASSERTION_ALGORITHMS, token_endpoint_url
from .principal import ClientPrincipal
from .replay import ReplayedAssertion, consume_assertion, record_replay

__all__ = [
    "ASSERTION_ALGORITHMS",
    "ClientPrincipal",
    "ReplayedAssertion",
    "authenticate_client",
    "authenticate_resource_server",
    "consume_assertion",
    "record_replay",
    "token_endpoint_url",
]
