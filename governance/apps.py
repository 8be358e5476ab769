"""The project package as an app: its commands, static files, and the beat schedule's audit."""

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        from .beat import changes

        changes.connect()
