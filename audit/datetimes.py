"""Date-times typed by people and clients, normalised to UTC as soon as they are read.

A form or filter value may carry any offset Python accepts (up to ±23:59), but PostgreSQL
refuses offsets beyond ±15:59 and the query fails with a 500. Converting to UTC at parse time
(as DRF's serializer fields do) removes the problem for every database; a value that has no UTC
equivalent (the year 1 with a positive offset) is a field error, not a crash. Every app's
forms and filters use these, which is why they live in ``audit``, the app all others import.
"""

from __future__ import annotations

import datetime as dt

import django_filters as df
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


def to_utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` in UTC; a ValidationError when it falls outside the representable range."""
    if value is None or value.tzinfo is None:
        return value
    try:
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError) as exc:
        raise ValidationError("This date and time is out of range.", code="out_of_range") from exc


class UtcDateTimeField(forms.DateTimeField):
    """A form date-time field whose value is always in UTC."""

    def to_python(self, value):
        return to_utc(super().to_python(value))


class UtcIsoDateTimeField(IsoDateTimeField):
    """django-filter's ISO 8601 field, in UTC."""

    def to_python(self, value):
        return to_utc(super().to_python(value))


class UtcIsoDateTimeFilter(df.IsoDateTimeFilter):
    """An ISO 8601 date-time filter (``?since=2026-01-01T00:00:00+02:00``), compared in UTC."""

    field_class = UtcIsoDateTimeField
