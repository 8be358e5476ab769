"""The permission model: team groups, guardian object permissions, roles, deny by default."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from guardian.shortcuts import assign_perm, remove_perm

from agents import permissions as p
from agents import services
from agents.models import Agent, Team
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_team_create_makes_a_group_holding_members_and_guardian_perms():
    alice = f.team_member(username="alice")
    team = services.team_create(slug="payments", name="Payments", members=[alice])
    assert team.group.name == "team:payments"
    assert list(team.members.all()) == [alice]
    assert alice.has_perm("agents.view_team", team)
    assert alice.has_perm("agents.manage_team", team)
    assert not alice.has_perm("agents.manage_team", f.TeamFactory())


def test_visibility_follows_guardian_not_a_membership_shortcut():
    team = f.TeamFactory()
    agent = f.AgentFactory(owner_team=team)
    alice = f.team_member(team)
    assert list(Agent.objects.visible_to(alice)) == [agent]
    # take the object permission away from the team's group: the member sees nothing
    remove_perm("agents.view_team", team.group, team)
    remove_perm("agents.manage_team", team.group, team)
    assert not Agent.objects.visible_to(alice).exists()
    assert not p.can_manage_agent(alice, agent)
    # a single user can be given one team's rights without joining it
    bob = f.team_member()
    assign_perm("agents.view_team", bob, team)
    assert list(p.agents_visible_to(bob)) == [agent]
    assert not p.agents_managed_by(bob).exists()


def test_the_role_is_needed_too():
    team = f.TeamFactory()
    f.AgentFactory(owner_team=team)
    carol = f.UserFactory()
    team.members.add(carol)  # in the team's group, but without the team-member role
    assert not Agent.objects.visible_to(carol).exists()


@pytest.mark.parametrize(
    ("who", "sees", "manages"),
    [
        ("anonymous", 0, 0),
        ("inactive", 0, 0),
        ("norole", 0, 0),
        ("member", 1, 1),
        ("reviewer", 2, 0),
        ("admin", 2, 2),
        ("superuser", 2, 2),
    ],
)
def test_matrix_of_querysets(who, sees, manages):
    team_a, team_b = f.TeamFactory(), f.TeamFactory()
    f.AgentFactory(owner_team=team_a)
    f.AgentFactory(owner_team=team_b)
    user = {
        "anonymous": lambda: AnonymousUser(),
        "inactive": lambda: f.team_member(team_a, is_active=False),
        "norole": lambda: f.UserFactory(),
        "member": lambda: f.team_member(team_a),
        "reviewer": lambda: f.security_reviewer(),
        "admin": lambda: f.platform_admin(),
        "superuser": lambda: f.UserFactory(is_superuser=True),
    }[who]()
    assert p.agents_visible_to(user).count() == sees
    assert Agent.objects.visible_to(user).count() == sees
    assert p.agents_managed_by(user).count() == manages


def test_restrict_is_one_query(django_assert_num_queries):
    team = f.TeamFactory()
    for _ in range(3):
        f.AgentFactory(owner_team=team)
    alice = f.team_member(team)
    p.has_role(alice, p.TEAM_MEMBER)  # the role cache: one query per user object
    with django_assert_num_queries(1):
        assert len(list(p.agents_visible_to(alice))) == 3


def test_helpers_for_other_apps():
    team = f.TeamFactory()
    agent = f.AgentFactory(owner_team=team)
    member, reviewer = f.team_member(team), f.security_reviewer()
    outsider = f.team_member(f.TeamFactory())
    assert p.can_manage_agent(member, agent) and p.can_view_agent(member, agent)
    assert not p.can_manage_agent(outsider, agent) and not p.can_view_agent(outsider, agent)
    assert p.can_contain_agent(reviewer, agent) and not p.can_manage_agent(reviewer, agent)
    assert p.team_id_of(f.ScopeGrantFactory(agent=agent), "agent__owner_team") == team.pk
    assert not p.can_manage_team(member, None)  # ownerless rows are for platform admins


def test_team_made_straight_through_the_orm_is_provisioned_by_the_service():
    team = Team.objects.create(slug="raw", name="Raw")
    assert not team.members.exists()  # reading the members writes nothing
    assert team.group_id is None
    alice = f.team_member()
    services.team_members_set(team=team, users=[alice])
    team.refresh_from_db()
    assert team.group.name == "team:raw"
    assert alice.has_perm("agents.manage_team", team)


def test_members_set_audits_who_joined_and_left():
    from audit.models import AuditEntry

    alice, bob = f.team_member(username="alice"), f.team_member(username="bob")
    team = services.team_create(slug="ops", name="Ops", members=[alice])
    services.team_members_set(team=team, users=[bob])
    assert list(team.members.all()) == [bob]
    entry = AuditEntry.objects.get(action="team.members")
    assert entry.changes == {"members": [["alice"], ["bob"]]}
    # One change, one entry: the group's membership signal does not record it again.
    assert not AuditEntry.objects.filter(action__startswith="group.members").exists()
