"""Admin pages of the project package itself: django-celery-beat's, audited and guarded."""

from .beat.admin import register

register()
