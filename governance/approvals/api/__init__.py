"""The approvals API: agents poll their request, humans list and decide."""
