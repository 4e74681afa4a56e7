from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django_tasks_db import apps as tasks_db_apps


class IdeabankConfig(AppConfig):
    name = "ideabank"
    verbose_name = _("Idébanken")

    def ready(self) -> None:
        from ideabank import (
            checks,  # noqa: F401  (registers the checks)
            notices,
        )

        # Something followable happened: wake the instant follow mails after the commit.
        notices.connect_signals()


class TaskQueueConfig(tasks_db_apps.TasksAppConfig):
    """django-tasks-db under a name the admin can translate (its own is a plain string)."""

    default = False  # never picked for "ideabank"; INSTALLED_APPS names it
    verbose_name = _("Task queue")
