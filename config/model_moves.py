"""For migrations that move a model to another app without touching its table.

The model keeps its ``db_table`` and the move happens in Django's migration state only
(``SeparateDatabaseAndState``), so no row is copied. What Django keeps *about* the model in
the database moves with it: its content type, and with it the permissions (and the groups
holding them) and the admin log entries that point to that content type.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

# The content types, permissions and admin log entries a move touches.
MOVE_DEPENDENCIES = [
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
    ("admin", "0003_logentry_add_action_flag_choices"),
]


def move_content_types(*, models: tuple[str, ...], from_app: str, to_app: str) -> Any:
    """A ``RunPython`` operation relabelling the content types of ``models`` (lower-case
    model names) from ``from_app`` to ``to_app``, and back when unapplied.

    A fresh database has no content types yet (Django creates them after migrating): then
    there is nothing to move. If Django already made one under ``to_app`` (a ``migrate``
    that stopped between the apps' migrations, or a move unapplied and applied again), the
    relabelled one wins, because the groups' permissions point to it: the other's admin
    log entries are moved over and its fresh permissions dropped.
    """

    def relabel(source: str, target: str) -> Any:
        def run(apps: Any, schema_editor: Any) -> None:
            content_type = apps.get_model("contenttypes", "ContentType")
            permission = apps.get_model("auth", "Permission")
            log_entry = apps.get_model("admin", "LogEntry")
            db = schema_editor.connection.alias
            for model in models:
                moving = content_type.objects.using(db).filter(app_label=source, model=model)
                kept = moving.first()
                if kept is None:
                    continue
                made = content_type.objects.using(db).filter(app_label=target, model=model)
                for duplicate in made:
                    log_entry.objects.using(db).filter(content_type=duplicate).update(
                        content_type=kept
                    )
                    permission.objects.using(db).filter(content_type=duplicate).delete()
                    duplicate.delete()
                kept.app_label = target
                kept.save(using=db, update_fields=["app_label"])
            content_type.objects.clear_cache()

        return run

    return migrations.RunPython(relabel(from_app, to_app), relabel(to_app, from_app))
