"""API fields every app's serializers share."""

from __future__ import annotations

from rest_framework import serializers


class SlugRelatedField(serializers.SlugRelatedField):
    """DRF's field, refusing a NUL character with a field error before the lookup: PostgreSQL
    refuses NUL in text, and the lookup's DataError would otherwise be a 500 (found by the
    schema fuzz on PostgreSQL: ``owner_team=a%00b``). Use this one, never DRF's, in our APIs."""

    default_error_messages = {"null_characters": "Null characters are not allowed."}

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("null_characters")
        return super().to_internal_value(data)
