"""Error reports that cannot carry a secret held in a local variable.

Django's ``SafeExceptionReporterFilter`` hides frame variables only in functions decorated with
``sensitive_variables``; one forgotten decorator and a traceback mailed to the admins (or the
DEBUG page) shows a client secret. This filter also hides every frame variable whose *name*
says secret, in every frame — by the same rule Django applies to settings — so new code is
covered without remembering anything, and the hot paths carry no decorator.
"""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class SecretNamesReporterFilter(SafeExceptionReporterFilter):
    """``SafeExceptionReporterFilter`` plus name-based hiding of frame variables."""

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|ASSERTION|PEPPER|PRIVATE|JWK",
        flags=re.I,
    )

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if not self.is_active(request):
            return variables
        return [(name, self.cleanse_setting(name, value)) for name, value in variables]
