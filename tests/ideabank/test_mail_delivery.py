"""End to end: the pages that send mail, the database task queue, its worker and a real
SMTP server (aiosmtpd) in the test process, first unreachable and then started."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as site_settings
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from ideabank.email import Recipient, send_to
from ideabank.models import OutgoingMail, PeriodicJob, Profile
from ideabank.tasks import enqueue_due_periodic_tasks
from initiatives.models import Initiative
from networks.models import Event
from tests.factories import (
    confirmed,
    make_event,
    make_initiative,
    make_moderator,
    make_org_member,
    make_organisation,
    make_user,
)
from tests.worker import run_worker, use_database_queue

pytestmark = pytest.mark.django_db


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings, monkeypatch):
    """Mail goes by SMTP to 127.0.0.1:<port>, where nothing listens until `start()`."""
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.SITE_URL = "https://idebanken.example"
    use_database_queue(settings, monkeypatch)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    inbox.start = controller.start
    yield inbox
    if controller._thread is not None:
        controller.stop()


def user_in(language: str, **fields):
    user = make_user(**fields)
    Profile.objects.update_or_create(user=user, defaults={"language": language})
    return user


def path(name: str, language: str, *args) -> str:
    with translation.override(language):
        return reverse(name, args=args)


def test_mail_server_down_then_up_nothing_lost_nothing_doubled(
    client, smtp, settings, django_capture_on_commit_callbacks
):
    settings.MAIL_RETRY_DELAYS = [1] * 7
    organisation = make_organisation(name="Asker kommune")
    make_org_member(organisation=organisation, user=user_in("en", email="anne@asker.no"))
    make_org_member(organisation=organisation, user=user_in("nb", email="per@asker.no"))
    submitter = user_in("en", email="sam@asker.no")
    submitted = make_initiative(
        status=Initiative.Status.SUBMITTED, created_by=submitter, lead_organisation=organisation
    )
    event = make_event(title="Frokostwebinar", registration=Event.Registration.OPEN, capacity=5)
    moderator = make_moderator(email="moderator@example.org")
    # Asking to join reaches other people: only a confirmed account may.
    joiner = confirmed(user_in("nb", email="joiner@example.org"))

    answers = []
    with django_capture_on_commit_callbacks(execute=True):
        answers.append(
            client.post(
                path("accounts:signup", "en"),
                {"name": "Eve", "email": "eve@example.org", "password": "a long fine phrase 42"},
            )
        )
        client.logout()
        answers.append(
            client.post(
                path("networks:event_register", "nb", event.slug),
                {"name": "Kari", "email": "kari@example.org", "organisation": "Bærum"},
            )
        )
        client.force_login(joiner)
        answers.append(
            client.post(
                path("initiatives:organisation_join", "nb"), {"organisation": organisation.pk}
            )
        )
        client.force_login(moderator)
        answers.append(
            client.post(reverse("admin:initiatives_initiative_review_publish", args=[submitted.pk]))
        )
    # Every page answered as if the mail will go, and the mails wait for the server.
    assert [answer.status_code for answer in answers] == [302, 302, 302, 302]
    run_worker()
    waiting = OutgoingMail.objects.filter(status="waiting")
    assert waiting.count() == 5
    # Each task stopped at its first failure (the server is away); the rest of a task's
    # mails wait, untried, for the periodic retry.
    assert sorted(waiting.values_list("attempts", flat=True)) == [0, 1, 1, 1, 1]
    assert waiting.filter(last_error__contains="Connection refused").count() == 4
    assert smtp.messages == []

    smtp.start()
    time.sleep(1.1)  # the retry wait
    run_worker()
    # A periodic retry finds nothing more to do: nothing is sent twice.
    PeriodicJob.objects.update(next_run_at="2000-01-01T00:00Z")
    enqueue_due_periodic_tasks()
    run_worker()

    assert len(smtp.messages) == 5
    assert not OutgoingMail.objects.exclude(status="sent").exists()
    (confirm,) = smtp.to("eve@example.org")
    assert confirm["Subject"].startswith("Confirm your e-mail address")
    assert "https://idebanken.example/en/konto/bekreft/" in confirm.get_content()
    (registration,) = smtp.to("kari@example.org")
    assert "Frokostwebinar" in registration["Subject"]
    assert "Du har plass på" in registration.get_content()
    assert "https://idebanken.example/arrangementer/avmeld/" in registration.get_content()
    (english_member,) = smtp.to("anne@asker.no")
    (norwegian_member,) = smtp.to("per@asker.no")
    assert english_member["Subject"] == "Request to join Asker kommune"
    assert norwegian_member["Subject"] == "Forespørsel om medlemskap i Asker kommune"
    (published,) = smtp.to("sam@asker.no")
    assert published["Subject"].startswith("Your initiative is published")
    assert f"https://idebanken.example/en/tiltak/{submitted.slug}/" in published.get_content()
    assert len({m["Message-ID"] for m in smtp.messages}) == 5


class DyingBackend(SMTPBackend):
    """SMTP, but the worker process dies after handing over two messages (as if killed:
    nothing after the server's answer runs)."""

    delivered = 0

    def send_messages(self, email_messages):
        if DyingBackend.delivered == 2:
            raise SystemExit("killed")
        DyingBackend.delivered += 1
        return super().send_messages(email_messages)


def test_a_worker_killed_mid_batch_leaves_nothing_unsent_and_nothing_doubled(
    smtp, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.ideabank.test_mail_delivery.DyingBackend"
    settings.MAIL_CLAIM_SECONDS = 1
    DyingBackend.delivered = 0
    smtp.start()
    addresses = [f"person{number}@example.org" for number in range(6)]
    initiative = make_initiative(title="Matsvinn")
    with django_capture_on_commit_callbacks(execute=True):
        send_to(
            "email/initiative_submitted",
            {"initiative": initiative},
            [Recipient(address, "nb") for address in addresses],
        )

    run_worker()  # one task for the six: the worker dies while sending the third
    assert len(smtp.messages) == 2
    waiting = OutgoingMail.objects.filter(status="waiting")
    assert waiting.count() == 4
    assert waiting.filter(claimed_until__isnull=False).count() == 1

    time.sleep(1.1)  # the dead worker's claim runs out
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    PeriodicJob.objects.update(next_run_at="2000-01-01T00:00Z")
    enqueue_due_periodic_tasks()
    run_worker()
    enqueue_due_periodic_tasks()
    run_worker()

    assert sorted(m["To"] for m in smtp.messages) == addresses
    assert OutgoingMail.objects.filter(status="sent").count() == 6


def test_the_periodic_schedule_enqueues_each_job_once_however_many_workers_ask(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.PERIODIC_TASKS = {"ideabank.tasks.retry_waiting_mail": 300}

    first = enqueue_due_periodic_tasks()
    second = enqueue_due_periodic_tasks()

    assert first == ["ideabank.tasks.retry_waiting_mail"]
    assert second == []
    job = PeriodicJob.objects.get()
    assert 290 < (job.next_run_at - job.last_enqueued_at).total_seconds() <= 300


class StallingInbox(Inbox):
    """Accepts mail, but holds the third message's DATA until released, then refuses it:
    the worker sending it waits for an answer that never comes before it is killed."""

    def __init__(self) -> None:
        super().__init__()
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.seen = 0

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        if self.seen == 3:
            self.stalled.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
            return "451 Try again later"
        return await super().handle_DATA(server, session, envelope)


def worker_process(port: int) -> subprocess.Popen:
    """`manage.py worker` in a process of its own, on the test database."""
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
        f"/{database['NAME']}",
        "PGPASSWORD": database["PASSWORD"] or "",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--interval", "0.1", "--schedule-every", "0.5"],
        cwd=site_settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="another process cannot open the in-memory SQLite test database",
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_while_sending_loses_nothing_and_doubles_nothing(settings):
    # Transactional tests run last, after others have emptied the tables.
    call_command("load_reference_data", verbosity=0)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    port = free_port()
    inbox = StallingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    addresses = [f"person{number}@example.org" for number in range(6)]
    first = second = None
    try:
        with transaction.atomic():
            send_to(
                "email/initiative_submitted",
                {"initiative": make_initiative(title="Matsvinn")},
                [Recipient(address, "nb") for address in addresses],
            )
        first = worker_process(port)
        assert inbox.stalled.wait(30), "the worker never reached the third mail"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        inbox.release.set()

        assert len(inbox.messages) == 2
        waiting = OutgoingMail.objects.filter(status="waiting")
        assert waiting.count() == 4
        # The third is still claimed by the dead worker; time passes and the claim runs out.
        assert waiting.filter(claimed_until__isnull=False).update(claimed_until=timezone.now()) == 1

        second = worker_process(port)
        wait_for(lambda: not OutgoingMail.objects.exclude(status="sent").exists())
        time.sleep(1)  # a second round of the periodic retry finds nothing to send
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
        inbox.release.set()
        controller.stop()

    assert sorted(m["To"] for m in inbox.messages) == addresses
