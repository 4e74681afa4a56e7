"""The task worker: runs queued tasks (e-mail first) and enqueues the periodic ones."""

import logging
import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from ideabank.tasks import enqueue_due_periodic_tasks

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the task worker: queued tasks one by one, and every minute the periodic "
        "tasks that are due (settings.PERIODIC_TASKS). Stop with Ctrl-C or SIGTERM; the "
        "task being run finishes first."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=1, help="Seconds between looks at an empty queue."
        )
        parser.add_argument(
            "--schedule-every",
            type=float,
            default=60,
            help="Seconds between looks at the periodic schedule.",
        )

    def handle(self, *args, **options):
        stop = threading.Event()
        scheduler = threading.Thread(
            target=self.schedule, args=(stop, options["schedule_every"]), daemon=True
        )
        scheduler.start()
        try:
            call_command(
                "db_worker",
                interval=options["interval"],
                reload=False,
                verbosity=options["verbosity"],
            )
        finally:
            stop.set()

    @staticmethod
    def schedule(stop: threading.Event, every: float) -> None:
        while not stop.is_set():
            try:
                enqueue_due_periodic_tasks()
            except Exception:
                # A database that is away for a moment must not end the schedule.
                logger.exception("Could not enqueue the periodic tasks; trying again")
            finally:
                close_old_connections()
            stop.wait(every)
        connection.close()
