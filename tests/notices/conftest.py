"""Two teams and their people, for the notices tests."""

from __future__ import annotations

import pytest
from celery import current_app

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


@pytest.fixture
def eager_celery():
    """Tasks run in this process when queued (the worker itself is tested in tests/platform)."""
    conf = current_app.conf
    before = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = before
