"""The audit search filters as the portal page shows them: labelled in words, dates as pickers.

The filtering is the audit app's ``AuditEntryFilter`` (the API uses the same); only the form's
labels, placeholders and widgets differ.
"""

from __future__ import annotations

from django import forms

from audit.filters import AuditEntryFilter
from audit.models import AuditEntry

# name → (label, placeholder); the first group is always shown, the rest under "More filters".
MAIN = {
    "agent": ("Agent", "invoice-reconciler"),
    "user": ("Person", "username"),
    "action": ("Action", "agent.suspend or token.*"),
    "outcome": ("Outcome", ""),
    "since": ("From (UTC)", ""),
    "until": ("Before (UTC)", ""),
}
MORE = {
    "actor": ("Actor", "agent:…, user:…, system"),
    "resource": ("Resource", "agent:…, workflow:…"),
    "workflow_run": ("Workflow run", "run id"),
    "token": ("Token id (jti)", ""),
    "credential": ("Credential id", ""),
    "request_id": ("Request id", ""),
}
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class PortalAuditFilter(AuditEntryFilter):
    """``AuditEntryFilter`` with a form a person can read."""

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form = super().form
            for name, (label, placeholder) in {**MAIN, **MORE}.items():
                field = form.fields[name]
                field.label = label
                if placeholder:
                    field.widget.attrs["placeholder"] = placeholder
            # Rebuilt on this form's own field: the filter's field may be a cached copy.
            outcome = form.fields["outcome"]
            outcome.empty_label = "Any outcome"
            outcome.choices = AuditEntry.Outcome.choices
            for name in ("since", "until"):
                form.fields[name].widget = forms.DateTimeInput(
                    attrs={"type": "datetime-local", "step": 60}, format=DATETIME_LOCAL
                )
        return self._form

    def main_fields(self):
        return [self.form[name] for name in MAIN]

    def more_fields(self):
        return [self.form[name] for name in MORE]

    def more_used(self) -> bool:
        return any(self.data.get(name) for name in MORE)
