"""The audit log's ties to the rest of the project: signing key, visibility, API and portal page.

``audit`` imports no other app; what must read ``credentials`` or ``agents`` lives here.
"""
