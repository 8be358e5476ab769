"""Two teams and their people, for the notices tests."""

from __future__ import annotations

import pytest

from tests import factories as f


@pytest.fixture
def people():
    red = f.TeamFactory(slug="red", name="Red team")
    blue = f.TeamFactory(slug="blue", name="Blue team")
    return {
        "red": red,
        "blue": blue,
        "alice": f.team_member(red, username="alice"),
        "carol": f.team_member(red, username="carol"),
        "bob": f.team_member(blue, username="bob"),
        "rita": f.security_reviewer(username="rita"),
        "root": f.platform_admin(username="root"),
    }
