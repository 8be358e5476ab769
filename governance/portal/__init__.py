"""The human web UI at /portal/."""
