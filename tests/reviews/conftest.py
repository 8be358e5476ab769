"""Fixtures of the access review tests: two teams, their people, an agent with used and unused
access, and usage facts folded from audit entries shaped like the real endpoints' (the usage
tests check those shapes against the real endpoints)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from credentials.services import credential_issue
from tests import factories as f
from tests.usage.history import History
from trust.usage.fold import usage_fold


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def org(db):
    red = f.TeamFactory(slug="red", name="Red team")
    blue = f.TeamFactory(slug="blue", name="Blue team")
    ledger = f.ResourceFactory(slug="ledger", name="Ledger", sensitivity="high")
    bot = f.AgentFactory(slug="red-bot", owner_team=red)
    read = f.ScopeFactory(name="ledger:read", sensitivity="low")
    write = f.ScopeFactory(name="ledger:write", sensitivity="high")
    export = f.ScopeFactory(name="ledger:export", sensitivity="medium")
    grants = {s.name: f.ScopeGrantFactory(agent=bot, scope=s) for s in (read, write, export)}
    conn = f.ConnectionFactory(
        agent=bot, resource=ledger, allowed_actions=["export", "read", "write"]
    )
    cred = credential_issue(agent=bot, by="system").credential
    now = timezone.now()
    h = History()
    h.decision(bot, now - dt.timedelta(days=3), resource="ledger", action="read", times=4)
    h.token(bot, now - dt.timedelta(days=3), credential=cred.pk)
    h.write()
    usage_fold()
    return {
        "red": red,
        "blue": blue,
        "alice": f.team_member(red, username="alice"),
        "bob": f.team_member(blue, username="bob"),
        "rita": f.security_reviewer(username="rita"),
        "root": f.platform_admin(username="root"),
        "bot": bot,
        "ledger": ledger,
        "grants": grants,
        "connection": conn,
        "credential": cred,
        "idle": f.AgentFactory(slug="idle-bot", owner_team=blue),  # holds nothing
    }
