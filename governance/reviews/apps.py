from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "governance.reviews"
    label = "reviews"
    verbose_name = "Access reviews"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (micro-reviews on a critical grant)
