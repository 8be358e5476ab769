"""Portal pages, one module per group: agents, lifecycle, access, credentials."""
