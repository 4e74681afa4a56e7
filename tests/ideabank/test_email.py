"""The outbox: one message per person in their language, sent after the commit, retried,
never sent twice, failures shown to administrators."""

import logging
from datetime import timedelta
from smtplib import SMTPRecipientsRefused, SMTPServerDisconnected

import pytest
from django.contrib.auth.models import Permission
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ideabank import email
from ideabank.email import Recipient, send_to
from ideabank.models import OutgoingMail, profile_for
from ideabank.tasks import deliver_mail, forget_old_mail, retry_waiting_mail
from tests.factories import (
    make_complete_initiative,
    make_confirmed_user,
    make_initiative,
    make_moderator,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db

REFUSING = "tests.ideabank.test_email.RefusingBackend"


class RefusingBackend(BaseEmailBackend):
    """A mail server that is not answering."""

    def send_messages(self, messages):
        raise SMTPServerDisconnected("Connection unexpectedly closed")


def user_in(language: str, **fields):
    user = make_user(**fields)
    profile = profile_for(user)
    profile.language = language
    profile.save()
    return user


def test_each_person_gets_a_message_of_their_own_in_their_language(
    mailoutbox, django_capture_on_commit_callbacks
):
    initiative = make_initiative(title="Matsvinn")
    norwegian = user_in("nb", username="kari", email="kari@example.org")
    english = user_in("en", username="john", email="john@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        count = send_to(
            "email/initiative_submitted",
            {"initiative": initiative},
            [norwegian, english, "", "KARI@example.org", Recipient("guest@example.org", "en")],
        )

    assert count == 3
    by_address = {mail.to[0]: mail for mail in mailoutbox}
    assert set(by_address) == {"kari@example.org", "john@example.org", "guest@example.org"}
    assert "Nytt tiltak" in by_address["kari@example.org"].subject
    assert "New initiative" in by_address["john@example.org"].subject
    assert by_address["john@example.org"].subject == by_address["guest@example.org"].subject
    assert all(mail.extra_headers["Message-ID"] for mail in mailoutbox)


def test_a_plain_address_of_a_known_user_gets_that_users_language(
    mailoutbox, django_capture_on_commit_callbacks
):
    user_in("en", username="john", email="john@example.org")
    initiative = make_initiative(title="Matsvinn")

    with django_capture_on_commit_callbacks(execute=True):
        send_to(
            "email/initiative_submitted",
            {"initiative": initiative},
            ["John@Example.org", "stranger@example.org"],
        )

    languages = dict(OutgoingMail.objects.values_list("to", "language"))
    assert languages == {"John@Example.org": "en", "stranger@example.org": "nb"}


def test_inactive_users_and_users_without_address_get_nothing(
    mailoutbox, django_capture_on_commit_callbacks
):
    gone = make_user(username="gone", email="gone@example.org", is_active=False)
    silent = make_user(username="silent", email="")

    with django_capture_on_commit_callbacks(execute=True):
        count = send_to(
            "email/initiative_submitted", {"initiative": make_initiative()}, [gone, silent, None]
        )

    assert count == 0
    assert mailoutbox == []


def test_a_rolled_back_change_takes_its_mails_with_it(
    mailoutbox, django_capture_on_commit_callbacks
):
    initiative = make_initiative()

    def change_that_fails():
        with transaction.atomic():
            send_to("email/initiative_submitted", {"initiative": initiative}, ["a@example.org"])
            raise RuntimeError("the change failed")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        pytest.raises(RuntimeError, change_that_fails)

    assert callbacks == []
    assert not OutgoingMail.objects.exists()
    assert mailoutbox == []


def test_the_mail_waits_in_the_outbox_until_the_commit(django_capture_on_commit_callbacks):
    initiative = make_initiative()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send_to("email/initiative_submitted", {"initiative": initiative}, ["a@example.org"])

    mail = OutgoingMail.objects.get()
    assert (mail.status, mail.attempts, mail.to) == ("waiting", 0, "a@example.org")
    assert len(callbacks) == 1


def queued(address="a@example.org") -> OutgoingMail:
    return email.queue_mail(
        Recipient(address, "nb"), "Emne", "Tekst", template="test", deliver=False
    )


def test_a_sent_mail_is_never_sent_again(mailoutbox):
    mail = queued()

    assert email.deliver(mail.pk) == "sent"
    assert email.deliver(mail.pk) == "sent"
    retry_waiting_mail.call()

    assert len(mailoutbox) == 1
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == ("sent", 1)
    assert mail.sent_at is not None


def test_a_mail_another_worker_is_sending_is_left_alone(mailoutbox):
    mail = queued()
    OutgoingMail.objects.filter(pk=mail.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=5)
    )

    assert email.deliver(mail.pk) == "waiting"
    retry_waiting_mail.call()

    assert mailoutbox == []


def test_a_mail_whose_worker_died_is_sent_once_when_its_claim_runs_out(mailoutbox):
    mail = queued()
    # A worker claimed it and died before the server answered.
    OutgoingMail.objects.filter(pk=mail.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1), attempts=1
    )

    retry_waiting_mail.call()
    retry_waiting_mail.call()

    assert [m.to for m in mailoutbox] == [["a@example.org"]]
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == ("sent", 2)


def test_a_refused_mail_waits_longer_after_each_try_then_fails_and_is_logged(
    settings, caplog, mailoutbox
):
    settings.EMAIL_BACKEND = REFUSING
    settings.MAIL_RETRY_DELAYS = [60, 300]
    mail = queued()

    assert email.deliver(mail.pk) == "waiting"
    mail.refresh_from_db()
    assert mail.attempts == 1
    assert "SMTPServerDisconnected" in mail.last_error
    first_wait = mail.next_attempt_at - timezone.now()
    assert timedelta(seconds=50) < first_wait <= timedelta(seconds=60)
    # Not due yet: the periodic retry leaves it.
    retry_waiting_mail.call()
    mail.refresh_from_db()
    assert mail.attempts == 1

    OutgoingMail.objects.filter(pk=mail.pk).update(next_attempt_at=timezone.now())
    assert email.deliver(mail.pk) == "waiting"
    mail.refresh_from_db()
    assert timedelta(seconds=290) < mail.next_attempt_at - timezone.now() <= timedelta(seconds=300)

    OutgoingMail.objects.filter(pk=mail.pk).update(next_attempt_at=timezone.now())
    with caplog.at_level(logging.ERROR, logger="ideabank.email"):
        assert email.deliver(mail.pk) == "failed"
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == ("failed", 3)
    assert "failed after 3 attempts" in caplog.text
    assert mailoutbox == []


def test_administrators_see_failed_mails_and_send_them_again(
    admin_client, client, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.MAIL_RETRY_DELAYS = []
    mail = queued("lost@example.org")
    # Staff who may read the outbox but not send again are not offered the action.
    reader = make_user(username="reader", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_outgoingmail"))
    client.force_login(reader)
    changelist = client.get(reverse("admin:ideabank_outgoingmail_changelist"))
    assert changelist.status_code == 200
    assert "send_again" not in changelist.text
    settings.EMAIL_BACKEND = REFUSING
    email.deliver(mail.pk)
    sent = queued("fine@example.org")
    OutgoingMail.objects.filter(pk=sent.pk).update(status="sent")

    listing = admin_client.get(
        reverse("admin:ideabank_outgoingmail_changelist"), {"status__exact": "failed"}
    )
    assert listing.status_code == 200
    assert "lost@example.org" in listing.text
    assert "fine@example.org" not in listing.text
    assert (
        "SMTPServerDisconnected"
        in admin_client.get(reverse("admin:ideabank_outgoingmail_change", args=[mail.pk])).text
    )

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:ideabank_outgoingmail_changelist"),
            {"action": "send_again", "_selected_action": [mail.pk, sent.pk]},
            follow=True,
        )

    assert "1 failed mail is queued to be sent again." in response.text
    assert [m.to for m in mailoutbox] == [["lost@example.org"]]
    mail.refresh_from_db()
    assert mail.status == "sent"


def test_mails_with_a_calendar_carry_it_with_its_method(mailoutbox):
    mail = email.queue_mail(
        Recipient("a@example.org", "en"),
        "Cancelled",
        "Text",
        template="test",
        calendar="BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n",
        deliver=False,
    )

    email.deliver(mail.pk)

    (name, content, mimetype) = mailoutbox[0].attachments[0]
    assert (name, mimetype) == ("event.ics", "text/calendar; method=CANCEL")
    assert "METHOD:CANCEL" in content


def test_moderators_are_told_of_a_submission_each_in_their_language(
    mailoutbox, django_capture_on_commit_callbacks
):
    norwegian = make_moderator(username="mod-nb", email="mod-nb@example.org")
    english = make_moderator(username="mod-en", email="mod-en@example.org")
    profile = profile_for(english)
    profile.language = "en"
    profile.save()
    initiative = make_complete_initiative(title="Matsvinn", lead_organisation=make_organisation())

    with django_capture_on_commit_callbacks(execute=True):
        initiative.submit(by=make_confirmed_user())

    subjects = {mail.to[0]: mail.subject for mail in mailoutbox}
    assert subjects[norwegian.email].startswith("Nytt tiltak")
    assert subjects[english.email].startswith("New initiative")


class UnreachableBackend(BaseEmailBackend):
    """A mail server whose address does not answer."""

    def send_messages(self, messages):
        raise ConnectionRefusedError(111, "Connection refused")


class RefusingOneBackend(BaseEmailBackend):
    """A server that answers but refuses one recipient."""

    def send_messages(self, messages):
        if messages[0].to == ["refused@example.org"]:
            raise SMTPRecipientsRefused({"refused@example.org": (550, b"No such user")})
        return len(messages)


def test_a_batch_stops_at_an_unreachable_server_and_goes_on_past_a_refused_mail(settings):
    mails = [queued(f"person{number}@example.org") for number in range(3)]
    settings.EMAIL_BACKEND = "tests.ideabank.test_email.UnreachableBackend"

    outcomes = deliver_mail.call([mail.pk for mail in mails])

    assert outcomes == {"waiting": 1}
    assert list(OutgoingMail.objects.order_by("pk").values_list("attempts", flat=True)) == [1, 0, 0]

    refused = queued("refused@example.org")
    fine = queued("fine@example.org")
    settings.EMAIL_BACKEND = "tests.ideabank.test_email.RefusingOneBackend"
    assert deliver_mail.call([refused.pk, fine.pk]) == {"waiting": 1, "sent": 1}


def test_a_sent_mail_with_a_personal_link_keeps_no_copy_of_it(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    make_user(username="kari", email="kari@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset"), {"email": "kari@example.org"})

    (mail,) = mailoutbox
    assert "/konto/" in mail.body
    stored = OutgoingMail.objects.get()
    assert stored.status == "sent"
    assert stored.body == email.SECRET_REMOVED


def test_old_mail_is_forgotten(settings):
    settings.MAIL_KEEP_DAYS = 30
    long_ago = timezone.now() - timedelta(days=31)
    old_sent, new_sent, waiting, old_failed, new_failed = (queued() for _ in range(5))
    OutgoingMail.objects.filter(pk=old_sent.pk).update(status="sent", sent_at=long_ago)
    OutgoingMail.objects.filter(pk=new_sent.pk).update(status="sent", sent_at=timezone.now())
    OutgoingMail.objects.filter(pk=waiting.pk).update(next_attempt_at=long_ago)
    OutgoingMail.objects.filter(pk=old_failed.pk).update(
        status="failed", next_attempt_at=timezone.now() - timedelta(days=91)
    )
    OutgoingMail.objects.filter(pk=new_failed.pk).update(status="failed", next_attempt_at=long_ago)

    assert forget_old_mail.call() == 2

    assert set(OutgoingMail.objects.values_list("pk", flat=True)) == {
        new_sent.pk,
        waiting.pk,
        new_failed.pk,
    }
