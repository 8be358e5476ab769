"""The agent registry: teams, agents, versions, scopes, grants, resources, connections, runs."""
