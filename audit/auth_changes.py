"""Audit of human changes to users, groups (roles) and their permissions, however they are made.

``django.contrib.auth`` belongs to no app of ours, so its writes have no service to call
``record()``: the admin's user and group forms, ``createsuperuser``, the shell and any API all
end up in ``Model.save``/``delete`` and in the many-to-many managers. The entries are written
*before* the change (``pre_save``/``pre_delete``) or inside the manager's own transaction
(``m2m_changed``), so a failed entry stops the change: adding someone to ``platform-admin``
cannot happen without its entry. ``last_login`` bumps are not human changes and are skipped.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, pre_delete, pre_save

from . import context
from .changes import diff, snapshot
from .services import record

USER_FIELDS = (
    "username",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "is_staff",
    "is_superuser",
    "password",  # redacted by record(); the entry still says that it changed
)
GROUP_FIELDS = ("name",)


def _user_resource(user: Any) -> str:
    return f"user:{user.get_username()}"


def _user_before_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    after = snapshot(instance, USER_FIELDS)
    before = {}
    if instance.pk is not None:
        old = sender._default_manager.filter(pk=instance.pk).first()
        before = snapshot(old, USER_FIELDS) if old is not None else {}
    changes = diff(before, after)
    if not changes:
        return
    record(
        actor=context.current_actor(),
        action="user.change" if before else "user.create",
        resource=_user_resource(instance),
        target_type="user",
        target_id=instance.pk or "",
        changes=changes,
    )


def _user_before_delete(sender, instance, **kwargs) -> None:
    record(
        actor=context.current_actor(),
        action="user.delete",
        resource=_user_resource(instance),
        target_type="user",
        target_id=instance.pk,
        changes=diff(snapshot(instance, USER_FIELDS[:-1]), {}),
    )


def _group_before_save(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    before = {}
    if instance.pk is not None:
        old = Group.objects.filter(pk=instance.pk).first()
        before = snapshot(old, GROUP_FIELDS) if old is not None else {}
    if not before:
        # A new group is empty: it grants nothing until permissions or members are added, and
        # those are audited. (Teams provision one group each; their service audits the team.)
        return
    changes = diff(before, snapshot(instance, GROUP_FIELDS))
    if changes:
        record(
            actor=context.current_actor(),
            action="group.change",
            resource=f"group:{instance.name}",
            target_type="group",
            target_id=instance.pk or "",
            changes=changes,
        )


def _group_before_delete(sender, instance, **kwargs) -> None:
    record(
        actor=context.current_actor(),
        action="group.delete",
        resource=f"group:{instance.name}",
        target_type="group",
        target_id=instance.pk,
    )


def _names(model, pks) -> list[str]:
    if model is Permission:
        rows = Permission.objects.filter(pk__in=pks).select_related("content_type")
        return sorted(f"{p.content_type.app_label}.{p.codename}" for p in rows)
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
    user_model = get_user_model()
    return sorted(
        user_model.objects.filter(pk__in=pks).values_list(user_model.USERNAME_FIELD, flat=True)
    )


def _membership_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    """Role and permission changes, from either side of the relation (``user.groups.add`` or
    ``group.user_set.add``). A service that audits the change itself (a team's members)
    makes it inside ``context.recorded_by_service``, and nothing is recorded here."""
    if context.service_records():
        return
    if action == "pre_clear":
        # After the clear the members are gone; name them now, record in post_clear.
        field = _relation_field(sender, instance, reverse)
        instance._audit_cleared = _names(
            model, getattr(instance, field).values_list("pk", flat=True)
        )
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    names = (
        getattr(instance, "_audit_cleared", [])
        if action == "post_clear"
        else _names(model, pk_set or ())
    )
    if not names:
        return
    verb = "add" if action == "post_add" else "remove"
    user_model = get_user_model()
    if isinstance(instance, user_model):
        what = "groups" if model is Group else "permissions"
        resource, target_type = _user_resource(instance), "user"
    else:  # a Group
        what = "members" if model is user_model else "permissions"
        resource, target_type = f"group:{instance.name}", "group"
    record(
        actor=context.current_actor(),
        action=f"{target_type}.{what}.{verb}",
        resource=resource,
        target_type=target_type,
        target_id=instance.pk,
        changes={what: {"added" if verb == "add" else "removed": names}},
    )


def _relation_field(sender, instance, reverse) -> str:
    user_model = get_user_model()
    if isinstance(instance, user_model):
        return "groups" if sender is user_model.groups.through else "user_permissions"
    if sender is user_model.groups.through:
        return "user_set"
    return "permissions"


def connect() -> None:
    """Hook the receivers up (from ``AuditConfig.ready``)."""
    user_model = get_user_model()
    uid = "audit.auth_changes"
    pre_save.connect(_user_before_save, sender=user_model, dispatch_uid=f"{uid}.user.save")
    pre_delete.connect(_user_before_delete, sender=user_model, dispatch_uid=f"{uid}.user.delete")
    pre_save.connect(_group_before_save, sender=Group, dispatch_uid=f"{uid}.group.save")
    pre_delete.connect(_group_before_delete, sender=Group, dispatch_uid=f"{uid}.group.delete")
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(
            _membership_changed, sender=through, dispatch_uid=f"{uid}.m2m.{through.__name__}"
        )
