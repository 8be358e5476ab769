"""The registry's admin: every model, writes through services, rows limited by permission."""

from agents.drift import admin as drift  # noqa: F401
from agents.notices import admin as notices  # noqa: F401

from . import access, policy, registry, resources  # noqa: F401  (registers the ModelAdmins)
