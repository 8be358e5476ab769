"""The approvals tests reuse the decision fixtures (resource server, agent, token, backends)."""

from tests.decisions.conftest import _fresh_process_state, backend  # noqa: F401
