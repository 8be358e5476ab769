"""What client authentication produces: the authenticated client, and the failure that is
answered as ``invalid_client`` and recorded with its real reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from agents.models import Agent, Resource

from ..models import Credential
from ..sql import TokenContext

# A ``private_key_jwt`` assertion still to enter the replay cache: (client id, jti, expiry).
Assertion = tuple[str, str, dt.datetime]


@dataclass(frozen=True)
class ClientPrincipal:
    """An authenticated client: an agent or a resource server, and the credential it used.

    ``assertion`` is the (client id, jti, expiry) of a ``private_key_jwt`` assertion still to
    be entered in the replay cache when authentication was asked to defer it (see
    ``consume_assertion``); None otherwise. ``context`` is the agent's token context read in
    the same query as the credential, so issuing a token needs no further read.
    """

    credential: Credential
    method: str
    assertion: Assertion | None = None
    # The agent's grants, audiences and version, read with the credential (None: not read).
    context: TokenContext | None = None
    # Set when the client came from the cache: the epoch its one write must be guarded with.
    guard_epoch: int | None = None
    # The ``config_digest`` claim of a verified ``private_key_jwt`` assertion, as it was
    # (None: absent); checked by ``credentials.config_digest`` (drift).
    config_digest: object = None

    @property
    def agent(self) -> Agent | None:
        return self.credential.agent if self.credential.agent_id else None

    @property
    def resource(self) -> Resource | None:
        return self.credential.resource if self.credential.resource_id else None

    @property
    def client_id(self) -> str:
        return self.credential.client_id

    @property
    def principal(self) -> str:
        return self.credential.principal


@dataclass(frozen=True)
class Verified:
    """A credential that proved itself, before the status checks of the database path."""

    credential: Credential
    context: TokenContext
    assertion: Assertion | None = None
    guard_epoch: int | None = None
    config_digest: object = None  # the assertion's claim (see ClientPrincipal)


class Failure(Exception):
    """Authentication failed for ``reason`` (audited; the client only sees ``invalid_client``)."""

    def __init__(self, reason: str, client_id: str = "", credential_id: str = "") -> None:
        super().__init__(reason)
        self.reason, self.client_id, self.credential_id = reason, client_id, credential_id
