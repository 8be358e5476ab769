"""Human approval of actions that an agent's trust level does not cover."""
