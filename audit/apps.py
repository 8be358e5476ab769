"""The append-only audit log. Imports no other app of this project."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from . import auth_changes, auth_logins, checks  # noqa: F401  (checks register themselves)

        auth_changes.connect()
        auth_logins.connect()
