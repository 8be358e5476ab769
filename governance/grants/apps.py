from django.apps import AppConfig


class GrantsConfig(AppConfig):
    name = "governance.grants"
    label = "grants"
    verbose_name = "Grant requests"

    def ready(self) -> None:
        # agents cannot import governance: hand its grant service the check of a request.
        from agents.services.grants import set_request_check

        from .services import request_approves

        set_request_check(request_approves)
