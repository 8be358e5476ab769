"""Every route of the URL conf, walked from the resolver: what the route-wide tests iterate over.

A test that lists routes by hand misses the next one added; these tests take them from
``get_resolver()``, so a new route is in every such test the moment it exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

_PARAM = re.compile(r"<(?:[^>:]+:)?([^>]+)>")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its template (``api/v1/agents/<slug>/``), name and view."""

    template: str
    name: str
    callback: Any

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.template))

    def url(self, **values: Any) -> str:
        return "/" + _PARAM.sub(lambda m: str(values[m.group(1)]), self.template)

    @property
    def actions(self) -> dict[str, str]:
        """A DRF viewset route's ``{method: action}``; empty for other views."""
        return dict(getattr(self.callback, "actions", None) or {})

    @property
    def view_class(self) -> Any:
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)


def _regex_to_template(regex: str) -> str:
    """``^agents/(?P<slug>[^/.]+)/$`` → ``agents/<slug>/`` (named groups become parameters)."""
    out, i = [], 0
    regex = regex.lstrip("^").rstrip("$").replace("\\.", ".")
    while i < len(regex):
        if regex.startswith("(?P<", i):
            end = regex.index(">", i)
            name = regex[i + 4 : end]
            depth, j = 1, end + 1
            while depth:
                depth += {"(": 1, ")": -1}.get(regex[j], 0)
                j += 1
            out.append(f"<{name}>")
            i = j
        else:
            out.append(regex[i])
            i += 1
    return "".join(out)


def _template(pattern: Any) -> str:
    text = str(pattern.pattern)
    return _regex_to_template(text) if text.startswith("^") or "(?P<" in text else text


def all_routes() -> list[Route]:
    """Every route, with DRF's ``.<format>`` suffix variants left out (same views)."""
    routes: list[Route] = []

    def walk(patterns: list, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, prefix + _template(pattern), ns)
            elif isinstance(pattern, URLPattern):
                template = prefix + _template(pattern)
                if "format" in _PARAM.findall(template):
                    continue
                routes.append(Route(template, f"{namespace}{pattern.name or ''}", pattern.callback))

    walk(get_resolver().url_patterns, "", "")
    return routes
