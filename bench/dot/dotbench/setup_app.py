"""Migrate and register one confidential client_credentials application with a plain-text
secret (``hash_client_secret=False``: django-oauth-toolkit's fastest configuration); print
its client id and secret as JSON."""

import json
import os
import secrets

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotbench.settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from oauth2_provider.models import AccessToken, Application  # noqa: E402

call_command("migrate", verbosity=0)
AccessToken.objects.all().delete()
Application.objects.all().delete()
client_id, client_secret = "bench-agent", secrets.token_urlsafe(32)
Application.objects.create(
    name="bench",
    client_id=client_id,
    client_secret=client_secret,
    hash_client_secret=False,
    client_type=Application.CLIENT_CONFIDENTIAL,
    authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
)
print(json.dumps({"client_id": client_id, "client_secret": client_secret}))
