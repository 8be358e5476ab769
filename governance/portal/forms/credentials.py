"""Forms for an agent's credentials: issue, rotate (also in an emergency) and revoke."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError

from credentials.models import Credential

from .fields import FutureDateTimeField

JWK_HELP = (
    "The public half only, as a JSON Web Key: an Ed25519 key "
    '({"kty": "OKP", "crv": "Ed25519", "x": "…"}) or a P-256 key '
    '({"kty": "EC", "crv": "P-256", "x": "…", "y": "…"}). Never paste a private key.'
)


class JWKField(forms.CharField):
    """A pasted public JWK, parsed as a JSON object; the credential service checks the key."""

    widget = forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "mono"})

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 4000)
        kwargs.setdefault("label", "Public key (JWK)")
        kwargs.setdefault("help_text", JWK_HELP)
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise ValidationError("This is not valid JSON.", code="invalid") from exc
        if not isinstance(parsed, dict):
            raise ValidationError("A JWK is a JSON object ({…}).", code="invalid")
        if "d" in parsed:
            raise ValidationError(
                'This is a private key (it has a "d" member): paste only the public key, '
                "and treat the private key as leaked.",
                code="private",
            )
        return parsed


class CredentialIssueForm(forms.Form):
    """A new client secret (generated here, shown once) or a public key the agent holds."""

    kind = forms.ChoiceField(
        choices=[
            (Credential.Kind.CLIENT_SECRET, "Client secret, generated here and shown once"),
            (Credential.Kind.PUBLIC_KEY, "Public key (private_key_jwt): paste the public JWK"),
        ],
        initial=Credential.Kind.CLIENT_SECRET,
        widget=forms.RadioSelect,
        label="Kind",
    )
    label = forms.CharField(
        max_length=200,
        required=False,
        help_text="Where it is used, such as “production worker”.",
    )
    public_jwk = JWKField(required=False)
    expires_at = FutureDateTimeField(label="Expires (UTC)", help_text="Leave empty for policy's.")

    def clean(self):
        cleaned = super().clean()
        kind, jwk = cleaned.get("kind"), cleaned.get("public_jwk")
        if "public_jwk" in self.errors:
            return cleaned
        if kind == Credential.Kind.PUBLIC_KEY and not jwk:
            self.add_error("public_jwk", "Paste the public key for a key credential.")
        if kind == Credential.Kind.CLIENT_SECRET and jwk:
            self.add_error("public_jwk", "A client secret takes no public key: clear this field.")
        return cleaned


class CredentialRotateForm(forms.Form):
    """A successor for a credential; for a key credential the new public key."""

    public_jwk = JWKField(required=False, label="New public key (JWK)")
    reason = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the audit log.",
    )

    def __init__(self, *args, credential: Credential, emergency: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.credential = credential
        if credential.kind != Credential.Kind.PUBLIC_KEY:
            del self.fields["public_jwk"]
        else:
            self.fields["public_jwk"].required = True
        if emergency:
            self.fields["reason"].required = True
            self.fields["reason"].help_text = "What happened. Recorded in the audit log."


class CredentialRevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the audit log.",
    )
