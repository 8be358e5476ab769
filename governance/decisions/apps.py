from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    name = "governance.decisions"
    label = "decisions"
    verbose_name = "Decisions"

    def ready(self) -> None:
        # The token endpoint trusts its per-process client cache only under this app's
        # revocation epoch; credentials cannot import us, so we plug the epoch in.
        from credentials import epoch

        from . import cache, checks  # noqa: F401  (checks registers the trigger check)

        epoch.use_source(cache)
