import contextlib

from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "credentials"
    verbose_name = "Credentials"

    def ready(self) -> None:
        import jwt

        from . import process_caches
        from .crypto import Ed25519Algorithm

        process_caches.connect_signals()

        with contextlib.suppress(ValueError):  # "already has a handler": registered before
            jwt.register_algorithm("Ed25519", Ed25519Algorithm())
