"""Tasks the worker runs (`manage.py worker`), and the schedule of the periodic ones."""

from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task

from ideabank import email, notices, personal_data
from ideabank.models import OutgoingMail, PeriodicJob

# One run of the periodic retry sends at most this many; the next run takes the rest.
RETRY_BATCH = 500


@task()
def deliver_mail(mail_ids: list[int]) -> dict[str, int]:
    """Send the outbox mails `mail_ids` (those still waiting and due); count by outcome."""
    outcomes: dict[str, int] = {}
    for mail_id in mail_ids:
        outcome, server_away = email.deliver_reporting_server(mail_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if server_away:
            # The rest would each wait EMAIL_TIMEOUT for nothing, holding up the worker;
            # they stay waiting, and the periodic retry tries again.
            break
    return outcomes


@task()
def retry_waiting_mail() -> dict[str, int]:
    """Send every waiting mail whose time has come: those whose retry wait is over, those
    whose worker died while sending, and those whose task was never queued."""
    ids = list(
        OutgoingMail.objects.due()
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:RETRY_BATCH]
    )
    return deliver_mail.call(ids)


@task()
def prune_finished_tasks() -> None:
    """Forget finished task records after TASK_RESULTS_KEEP_DAYS: the queue's own
    bookkeeping (the outbox keeps its mails by its own rule, forget_old_mail)."""
    call_command("prune_db_task_results", min_age_days=settings.TASK_RESULTS_KEEP_DAYS, verbosity=0)


@task()
def forget_old_mail() -> int:
    """Delete sent mails after MAIL_KEEP_DAYS and failed ones after FAILED_MAIL_KEEP_DAYS:
    the outbox holds what people wrote and links meant for them."""
    now = timezone.now()
    deleted, _ = OutgoingMail.objects.filter(
        Q(
            status=OutgoingMail.Status.SENT,
            sent_at__lt=now - timedelta(days=settings.MAIL_KEEP_DAYS),
        )
        | Q(
            status=OutgoingMail.Status.FAILED,
            next_attempt_at__lt=now - timedelta(days=settings.FAILED_MAIL_KEEP_DAYS),
        )
    ).delete()
    return deleted


@task()
def anonymise_old_registrations() -> int:
    """Anonymise registrations for events that ended more than REGISTRATION_KEEP_MONTHS ago."""
    return personal_data.anonymise_old_registrations()


@task()
def delete_unconfirmed_accounts() -> int:
    """Delete accounts whose address was not confirmed within UNCONFIRMED_ACCOUNT_KEEP_DAYS."""
    return personal_data.delete_unconfirmed_accounts()


@task()
def send_instant_notices() -> int:
    """Mail what is new about what they follow to those who chose instant mails."""
    return notices.send_instant()


@task()
def send_weekly_digests() -> int:
    """Mail the weekly digest to those whose week is up (ideabank/notices.py)."""
    return notices.send_weekly()


def enqueue_due_periodic_tasks(now=None) -> list[str]:
    """Enqueue each periodic task whose time has come; the paths enqueued.

    A job's row is claimed with one conditional UPDATE, so however many workers call
    this, each run of a job is enqueued once.
    """
    now = now or timezone.now()
    enqueued = []
    for path, seconds in settings.PERIODIC_TASKS.items():
        PeriodicJob.objects.get_or_create(task_path=path, defaults={"next_run_at": now})
        claimed = PeriodicJob.objects.filter(Q(next_run_at__lte=now), task_path=path).update(
            next_run_at=now + timedelta(seconds=seconds), last_enqueued_at=now
        )
        if claimed:
            import_string(path).enqueue()
            enqueued.append(path)
    return enqueued
