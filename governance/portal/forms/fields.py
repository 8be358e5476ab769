"""Form fields the portal's forms share: future dates, action lists, configuration digests."""

from __future__ import annotations

import hashlib
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from agents.models import AgentVersion, Scope
from audit.datetimes import UtcDateTimeField

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
ACTION_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
DIGEST_RE = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")
MAX_CONFIG_BYTES = 1024 * 1024


class FutureDateTimeField(UtcDateTimeField):
    """A date and time picker (``datetime-local``, read as UTC) that must lie in the future."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)
    # A value already stored (shown to the minute) may be kept even once it has passed.
    kept = None

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("input_formats", [DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"])
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if value is not None and same_minute(value, self.kept):
            return
        if value is not None and value <= timezone.now():
            raise ValidationError("Choose a moment in the future.", code="past")


def same_minute(a, b) -> bool:
    return (
        a is not None
        and b is not None
        and a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)
    )


class ActionListField(forms.CharField):
    """Action names separated by commas or spaces (``read, write``), returned sorted."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault("help_text", "Action names separated by commas, such as read, write.")
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        return sorted({part for part in re.split(r"[\s,]+", text) if part})

    def validate(self, value):
        if not value and self.required:
            raise ValidationError(self.error_messages["required"], code="required")
        bad = [name for name in value if not ACTION_RE.match(name)]
        if bad:
            raise ValidationError(
                "Not an action name: %(names)s. Use lowercase letters, digits, '.', '_' and '-'.",
                code="invalid",
                params={"names": ", ".join(bad)},
            )

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value


class ScopeChoiceField(forms.ModelChoiceField):
    """A scope, labelled with its sensitivity so the person sees what they ask for."""

    def label_from_instance(self, obj: Scope) -> str:
        return f"{obj.name} — {obj.get_sensitivity_display().lower()} sensitivity"


class ScopesField(forms.ModelMultipleChoiceField):
    """Scopes as checkboxes, each labelled with its sensitivity."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Scope.objects.order_by("name"))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Scope) -> str:
        return f"{obj.name} ({obj.get_sensitivity_display().lower()})"


class VersionFieldsMixin(forms.Form):
    """A version label and its configuration digest, typed in or computed from the file.

    The file never leaves this request: its SHA-256 is taken and the bytes are dropped.
    """

    version_label = forms.CharField(
        max_length=64, label="Version", help_text="Such as 1.4.0 or 2026-03-release."
    )
    config_digest = forms.CharField(
        max_length=71,
        required=False,
        label="Configuration digest",
        help_text="sha256: and 64 hexadecimal digits. Leave empty to compute it from the file.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    config_file = forms.FileField(
        required=False,
        label="…or the configuration file",
        help_text="Only its SHA-256 is kept; the file itself is not stored. At most 1 MB.",
    )
    requested_scopes = ScopesField(
        label="Requested scopes",
        help_text="The access this version asks for. Asking grants nothing by itself.",
    )

    def clean_config_digest(self) -> str:
        value = self.cleaned_data["config_digest"].strip().lower()
        if not value:
            return ""
        match = DIGEST_RE.match(value)
        if not match:
            raise ValidationError("Use sha256: followed by 64 hexadecimal digits.")
        return f"sha256:{match.group(1)}"

    def clean_config_file(self):
        upload = self.cleaned_data.get("config_file")
        if upload is None:
            return None
        if upload.size > MAX_CONFIG_BYTES:
            raise ValidationError("The file is larger than 1 MB.")
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        return f"sha256:{digest.hexdigest()}"

    def clean(self):
        cleaned = super().clean()
        typed, computed = cleaned.get("config_digest"), cleaned.get("config_file")
        if "config_digest" in self.errors or "config_file" in self.errors:
            return cleaned
        if typed and computed and typed != computed:
            self.add_error("config_file", "The file's digest differs from the digest typed in.")
        elif not (typed or computed):
            self.add_error("config_digest", "Give the digest or choose the configuration file.")
        else:
            cleaned["config_digest"] = typed or computed
        return cleaned


def version_label_taken(agent, label: str) -> bool:
    return AgentVersion.objects.filter(agent=agent, label=label).exists()
