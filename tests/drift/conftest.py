"""An agent with a reviewed version, its team, a reviewer and an admin, for the drift tests."""

from __future__ import annotations

import pytest

from tests import factories as f


def digest(n: int) -> str:
    return "sha256:" + f"{n:x}".rjust(64, "0")


REVIEWED, UNKNOWN, OTHER = digest(1), digest(2), digest(3)


def _reviewer_in(team):
    user = f.team_member(team, username="rex")
    f.security_reviewer(username="rex")
    return user


@pytest.fixture
def org():
    red = f.TeamFactory(slug="red", name="Red team")
    blue = f.TeamFactory(slug="blue", name="Blue team")
    bot = f.AgentFactory(slug="red-bot", owner_team=red)
    f.AgentVersionFactory(agent=bot, label="1.0", config_digest=REVIEWED, reviewed=True)
    f.AgentVersionFactory(agent=bot, label="1.1", config_digest=OTHER, reviewed=False)
    return {
        "red": red,
        "blue": blue,
        "bot": bot,
        "theirs": f.AgentFactory(slug="blue-bot", owner_team=blue),
        "alice": f.team_member(red, username="alice"),
        "bob": f.team_member(blue, username="bob"),
        "rita": f.security_reviewer(username="rita"),
        "root": f.platform_admin(username="root"),
        # A reviewer who is also on the red team: separation of duties says no.
        "rex": _reviewer_in(red),
    }
