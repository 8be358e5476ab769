"""The Django project and the human and policy layer of the agent governance portal."""

from .celery import app as celery_app

__all__ = ["celery_app"]
