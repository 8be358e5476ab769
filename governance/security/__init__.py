"""Cross-cutting protections of the human UI: session lifetime (sign-in throttling is django-axes,
audited by ``audit/auth_logins.py``; the Content-Security-Policy is django-csp's, in settings,
its header built once per process by ``csp.py``)."""
