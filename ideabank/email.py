"""E-mail: every mail is written to the outbox with the change it tells about, in the
language of the person it goes to, and handed to the mail server by the task worker.

A request never waits for the mail server and never fails because of it; a change that
rolls back takes its mails with it; a mail the server refuses is tried again
(settings.MAIL_RETRY_DELAYS) and then shown to administrators as failed
(docs/task-queue.md).
"""

import logging
from collections.abc import Iterable
from datetime import timedelta
from email.utils import make_msgid
from smtplib import SMTPConnectError, SMTPException, SMTPHeloError, SMTPServerDisconnected
from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.utils import timezone, translation

from ideabank.models import OutgoingMail, language_of

logger = logging.getLogger(__name__)


class Recipient(NamedTuple):
    """An address that is not (or not known to be) a user's, with the language to use."""

    address: str
    language: str


def recipients_for(people: Iterable) -> list[Recipient]:
    """Each person once, with their language: users by their profile, Recipient as given,
    plain addresses by the profile of the active user with that address (one query for
    all of them) or else the site's language."""
    found: dict[str, Recipient] = {}
    plain: list[str] = []
    for person in people:
        if isinstance(person, Recipient):
            recipient = person
        elif isinstance(person, str):
            plain.append(person.strip())
            continue
        elif person is None or not person.is_active:
            continue
        else:
            recipient = Recipient(person.email, language_of(person))
        if recipient.address:
            found.setdefault(recipient.address.lower(), recipient)
    plain = [address for address in plain if address and address.lower() not in found]
    if plain:
        users = get_user_model().objects.annotate(address=Lower("email"))
        users = users.filter(is_active=True, address__in=[a.lower() for a in plain])
        by_address = {user.address: user for user in users.select_related("profile")}
        for address in plain:
            user = by_address.get(address.lower())
            language = language_of(user) if user else settings.LANGUAGE_CODE
            found.setdefault(address.lower(), Recipient(address, language))
    return list(found.values())


def send_to(
    template: str,
    context: dict,
    people: Iterable,
    *,
    reply_to: str = "",
    calendar: str = "",
) -> int:
    """Queue `<template>_subject.txt` and `<template>.txt` for each of `people` (users,
    Recipient tuples or addresses), rendered now in each one's language. Returns how many.

    Rendering happens at once so the mail describes the state being committed; the
    worker sends after the commit. Each person gets a message of their own (moderators
    and members do not see each other's addresses).
    """
    recipients = recipients_for(people)
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    rendered: dict[str, tuple[str, str]] = {}
    mails = []
    for recipient in recipients:
        if recipient.language not in rendered:
            with translation.override(recipient.language):
                subject = render_to_string(f"{template}_subject.txt", context)
                rendered[recipient.language] = (
                    subject,
                    render_to_string(f"{template}.txt", context),
                )
        subject, body = rendered[recipient.language]
        mails.append(
            queue_mail(
                recipient,
                subject,
                body,
                template=template,
                reply_to=reply_to,
                calendar=calendar,
                deliver=False,
            )
        )
    _deliver_after_commit([mail.pk for mail in mails])
    return len(mails)


def queue_mail(
    recipient: Recipient,
    subject: str,
    body: str,
    *,
    template: str,
    reply_to: str = "",
    calendar: str = "",
    unsubscribe_url: str = "",
    deliver: bool = True,
) -> OutgoingMail:
    """Write one already rendered mail to the outbox, to be sent after the commit.
    `unsubscribe_url` (follow mails) goes out as the List-Unsubscribe header."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    mail = OutgoingMail.objects.create(
        to=recipient.address,
        language=recipient.language,
        template=template,
        # Subjects are one line, whatever the template's line breaks.
        subject=" ".join(subject.split()),
        body=body,
        reply_to=reply_to,
        calendar=calendar,
        unsubscribe_url=unsubscribe_url,
        message_id=make_msgid(domain=domain),
    )
    if deliver:
        _deliver_after_commit([mail.pk])
    return mail


def _deliver_after_commit(mail_ids: list[int]) -> None:
    if not mail_ids:
        return

    def enqueue() -> None:
        from ideabank.tasks import deliver_mail

        # The commit has happened: whatever goes wrong now must not reach the person.
        # A mail whose task was never queued is picked up by retry_waiting_mail.
        try:
            deliver_mail.enqueue(mail_ids)
        except Exception:
            logger.exception(
                "Could not queue mails %s; the periodic retry will send them", mail_ids
            )

    transaction.on_commit(enqueue)


def deliver(mail_id: int) -> str:
    """Hand one waiting mail to the mail server; the mail's status afterwards.

    A worker first claims the mail with one conditional UPDATE, so two workers never
    send it at the same time, and a sent mail is never sent again. A worker that dies
    while sending leaves a claim that runs out after MAIL_CLAIM_SECONDS, and the
    periodic retry takes the mail up again.
    """
    return deliver_reporting_server(mail_id)[0]


def deliver_reporting_server(mail_id: int) -> tuple[str, bool]:
    """deliver(), and whether the mail server could not be reached at all (so a batch
    stops instead of waiting EMAIL_TIMEOUT for every mail in it)."""
    now = timezone.now()
    claimed = (
        OutgoingMail.objects.due(now)
        .filter(pk=mail_id)
        .update(
            claimed_until=now + timedelta(seconds=settings.MAIL_CLAIM_SECONDS),
            attempts=F("attempts") + 1,
        )
    )
    mail = OutgoingMail.objects.filter(pk=mail_id).first()
    if mail is None:
        return "missing", False
    if not claimed:
        return mail.status, False
    try:
        message(mail).send()
    except Exception as error:  # any failure to hand over: refused, unreachable, timeout
        return _failed(mail, error), server_unreachable(error)
    if mail.template in FORGOTTEN_TEMPLATES:
        OutgoingMail.objects.filter(pk=mail.pk).delete()
        return OutgoingMail.Status.SENT, False
    sent = {"status": OutgoingMail.Status.SENT, "sent_at": timezone.now(), "claimed_until": None}
    if mail.template in SECRET_TEMPLATES:
        # The link in it opens an account: once sent, the outbox need not keep it.
        sent["body"] = SECRET_REMOVED
    OutgoingMail.objects.filter(pk=mail.pk).update(last_error="", **sent)
    return OutgoingMail.Status.SENT, False


# Mails that carry a link that signs someone in or sets their password.
SECRET_TEMPLATES = {"password_reset", "email/account_confirm"}
SECRET_REMOVED = "(Removed once sent: it held a personal link.)"
# Mails whose row goes once sent (or finally failed): the receipt for a deleted account
# must not leave the address it went to behind (ideabank/personal_data.py).
FORGOTTEN_TEMPLATES = {"email/account_deleted"}


def server_unreachable(error: Exception) -> bool:
    """Whether `error` says the server is away (not that it refused this one mail)."""
    if isinstance(error, SMTPServerDisconnected | SMTPConnectError | SMTPHeloError):
        return True
    return isinstance(error, OSError) and not isinstance(error, SMTPException)


def message(mail: OutgoingMail) -> EmailMessage:
    email = EmailMessage(
        mail.subject,
        mail.body,
        settings.DEFAULT_FROM_EMAIL,
        [mail.to],
        reply_to=[mail.reply_to] if mail.reply_to else None,
        headers={"Message-ID": mail.message_id, "Auto-Submitted": "auto-generated"},
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
    )
    if mail.unsubscribe_url:
        # RFC 2369 and RFC 8058: mail programs offer "unsubscribe" and POST it in one click.
        email.extra_headers["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        email.extra_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if mail.calendar:
        method = "CANCEL" if "METHOD:CANCEL" in mail.calendar else "PUBLISH"
        email.attach("event.ics", mail.calendar, f"text/calendar; method={method}")
    return email


def _failed(mail: OutgoingMail, error: Exception) -> str:
    delays = settings.MAIL_RETRY_DELAYS
    text = f"{type(error).__name__}: {error}"[:2000]
    if mail.attempts > len(delays) and mail.template in FORGOTTEN_TEMPLATES:
        OutgoingMail.objects.filter(pk=mail.pk).delete()
        logger.error("Mail %s failed after %s attempts: %s", mail.pk, mail.attempts, text)
        return OutgoingMail.Status.FAILED
    if mail.attempts > len(delays):
        OutgoingMail.objects.filter(pk=mail.pk).update(
            status=OutgoingMail.Status.FAILED, claimed_until=None, last_error=text
        )
        logger.error(
            "Mail %s to %s failed after %s attempts: %s", mail.pk, mail.to, mail.attempts, text
        )
        return OutgoingMail.Status.FAILED
    wait = timedelta(seconds=delays[mail.attempts - 1])
    next_attempt = timezone.now() + wait
    OutgoingMail.objects.filter(pk=mail.pk).update(
        next_attempt_at=next_attempt, claimed_until=None, last_error=text
    )
    logger.warning("Mail %s to %s failed (%s), trying again in %s", mail.pk, mail.to, text, wait)
    _retry_at(mail.pk, next_attempt)
    return OutgoingMail.Status.WAITING


def _retry_at(mail_id: int, when) -> None:
    from ideabank.tasks import deliver_mail

    # Backends that cannot wait (the immediate one tests use) leave it to the
    # periodic retry, which finds every waiting mail whose time has come.
    if deliver_mail.get_backend().supports_defer:
        deliver_mail.using(run_after=when).enqueue([mail_id])


def send_again(mails) -> int:
    """Put failed mails back in the queue, to be sent now (the admin's action)."""
    ids = list(mails.filter(status=OutgoingMail.Status.FAILED).values_list("pk", flat=True))
    OutgoingMail.objects.filter(pk__in=ids).update(
        status=OutgoingMail.Status.WAITING, attempts=0, next_attempt_at=timezone.now()
    )
    _deliver_after_commit(ids)
    return len(ids)
