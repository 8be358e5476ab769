"""The credentials part of the management API (``/api/v1/credentials/``)."""

urlpatterns: list = []
