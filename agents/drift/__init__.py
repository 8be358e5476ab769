"""Configuration drift: digests an agent presented that match no reviewed version of it.

An agent may present the digest of its running configuration when it asks for a token. A
digest that no reviewed ``AgentVersion`` of the agent carries is recorded once here (an
``ObservedConfiguration``), audited, told to the owning team, and keeps the agent at most
PENDING (the trust engine reads ``selectors.unreviewed_configurations``) until a person reviews
that configuration (``services.configuration_review``).
"""

DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
