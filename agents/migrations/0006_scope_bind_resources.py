"""Scopes become relations: existing rows are derived from their names (issue 11 item 2).

Existing rows are derived from their name (``<resource slug>:<action>``). A name whose prefix
matches no resource keeps ``resource`` empty: such a scope could never be decided before either
(the decision point only ever asked for ``<resource slug>:<action>``), so nothing that worked
stops working; it cannot be granted anew, and registering a resource with that slug adopts it
(``resource_create``). Nothing is deleted: existing grants keep pointing at it.
"""

from django.db import migrations


def bind_scopes(apps, schema_editor):
    Scope = apps.get_model("agents", "Scope")
    Resource = apps.get_model("agents", "Resource")
    resources = dict(Resource.objects.values_list("slug", "pk"))
    for scope in Scope.objects.all():
        prefix, _, action = scope.name.partition(":")
        scope.action = action
        scope.resource_id = resources.get(prefix)
        scope.save(update_fields=["action", "resource"])


class Migration(migrations.Migration):
    dependencies = [("agents", "0005_scope_resource_action")]

    operations = [migrations.RunPython(bind_scopes, migrations.RunPython.noop)]
