"""The task worker on the real database queue, for tests that run queued tasks as
`manage.py worker` does (conftest runs them at once with the immediate backend)."""

from django_tasks_db.management.commands import db_worker


def use_database_queue(settings, monkeypatch) -> None:
    """Queue tasks in the database, as the site does, for run_worker to take."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # The worker closes stale connections between tasks; inside the test's transaction
    # that would close the connection the test is using.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def run_worker() -> None:
    """The worker as `manage.py worker` runs it, until the queue has nothing ready."""
    db_worker.Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()
