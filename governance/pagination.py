"""The one pagination of the management API: limit/offset, bounded, strict about its input.

DRF's ``LimitOffsetPagination`` has no maximum page size by default (one request could dump
the whole audit log) and passes an offset of any size to the database, where
``?offset=9223372036854775808`` overflows a 64-bit integer into a 500. Here ``limit`` is
clamped to ``API_MAX_PAGE_SIZE`` (as DRF's own ``max_limit`` does, so a client asking for
"everything" gets the largest page and a ``next`` link), and anything that is not a plain
non-negative number, a zero limit, or an offset beyond ``MAX_OFFSET`` is a 400 field error
naming the parameter. The bounds are in the OpenAPI schema too.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 10**12  # far beyond any table here, far below a 64-bit column
_DIGITS = re.compile(r"[0-9]{1,30}")


def _number(request, name: str, *, minimum: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not _DIGITS.fullmatch(raw) or int(raw) < minimum:
        raise ValidationError({name: [f"{name} must be a whole number of at least {minimum}."]})
    return int(raw)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=`` clamped to the maximum page size, ``?offset=`` bounded; bad values are 400."""

    @property
    def max_limit(self) -> int:  # type: ignore[override]
        return settings.API_MAX_PAGE_SIZE

    def get_limit(self, request) -> int:
        limit = _number(request, self.limit_query_param, minimum=1)
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def get_offset(self, request) -> int:
        offset = _number(request, self.offset_query_param, minimum=0)
        if offset is not None and offset > MAX_OFFSET:
            raise ValidationError({"offset": [f"offset must be at most {MAX_OFFSET}."]})
        return offset or 0

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit},
            self.offset_query_param: {"minimum": 0, "maximum": MAX_OFFSET},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
