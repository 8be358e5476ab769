"""Typed factories for every model the tests build. One place, shared by every test module."""

from __future__ import annotations

import hashlib

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from agents import models as m
from agents.permissions import PLATFORM_ADMIN, SECURITY_REVIEWER, TEAM_MEMBER


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("correct horse battery staple")


def user_with_role(role: str, **kwargs):
    user = UserFactory(**kwargs)
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    return user


def platform_admin(**kwargs):
    return user_with_role(PLATFORM_ADMIN, is_staff=True, **kwargs)


def security_reviewer(**kwargs):
    return user_with_role(SECURITY_REVIEWER, is_staff=True, **kwargs)


def team_member(team: m.Team | None = None, **kwargs):
    user = user_with_role(TEAM_MEMBER, is_staff=True, **kwargs)
    if team is not None:
        team.members.add(user)
    return user


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Team
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda t: t.slug.replace("-", " ").title())

    @factory.post_generation
    def group(team, create, extracted, **kwargs):
        # The team's auth group holds its members and its guardian object permissions.
        if create:
            from agents.permissions import team_group

            team_group(team)


AUTO_AUDIENCE = ".scopes.example.test"


def resource_named(slug: str) -> m.Resource:
    """The resource with this slug, registered on the fly for a scope named after it."""
    audience = f"https://{slug.replace('_', '-')}{AUTO_AUDIENCE}"
    resource, _ = m.Resource.objects.get_or_create(
        slug=slug, defaults={"name": slug.title(), "audience": audience}
    )
    return resource


class ScopeFactory(factory.django.DjangoModelFactory):
    """A scope; ``name="ledger:read"`` binds it to the resource ``ledger`` (made if missing)."""

    class Meta:
        model = m.Scope
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"catalogue{n}:read")
    resource = factory.LazyAttribute(lambda s: resource_named(s.name.split(":", 1)[0]))
    action = factory.LazyAttribute(lambda s: s.name.split(":", 1)[1])
    description = "A scope made by a test."


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Agent

    slug = factory.Sequence(lambda n: f"agent-{n}")
    display_name = factory.LazyAttribute(lambda a: a.slug.replace("-", " ").title())
    purpose = "Reconciles invoices against the ledger."
    owner_team = factory.SubFactory(TeamFactory)
    # A working agent: PENDING gets tokens (UNTRUSTED is quarantined at the token endpoint
    # too) and needs approvals at the decision point. Tests of quarantine say untrusted.
    trust_level = m.TrustLevel.PENDING


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class AgentVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.AgentVersion

    agent = factory.SubFactory(AgentFactory)
    label = factory.Sequence(lambda n: f"1.{n}.0")
    config_digest = factory.LazyAttribute(lambda v: digest(v.label))


class ScopeGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ScopeGrant

    agent = factory.SubFactory(AgentFactory)
    scope = factory.SubFactory(ScopeFactory)
    justification = "Needed for the monthly close."


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Resource

    slug = factory.Sequence(lambda n: f"resource{n}")
    name = factory.LazyAttribute(lambda r: r.slug.title())
    audience = factory.LazyAttribute(lambda r: f"https://{r.slug}.example.test")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # A resource a ScopeFactory made on the fly for its name is the one a test means.
        made = model_class.objects.filter(
            slug=kwargs.get("slug"), audience__endswith=AUTO_AUDIENCE
        ).first()
        if made is None:
            return super()._create(model_class, *args, **kwargs)
        for name, value in kwargs.items():
            setattr(made, name, value)
        made.save()
        return made


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Connection

    agent = factory.SubFactory(AgentFactory)
    resource = factory.SubFactory(ResourceFactory)
    allowed_actions = factory.LazyFunction(lambda: ["read"])


class WorkflowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Workflow

    slug = factory.Sequence(lambda n: f"workflow-{n}")
    name = factory.LazyAttribute(lambda w: w.slug.title())
    owner_team = factory.SubFactory(TeamFactory)


class WorkflowRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.WorkflowRun
        skip_postgeneration_save = True

    workflow = factory.SubFactory(WorkflowFactory)
    run_id = factory.Sequence(lambda n: f"run-{n}")
    triggered_by = "user:alice"

    @factory.post_generation
    def participants(run, create, extracted, **kwargs):
        # The agents that may bind tokens to the run: ``WorkflowRunFactory(participants=[a])``.
        if create and extracted:
            run.participants.set(extracted)
