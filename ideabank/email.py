"""E-mail that goes out only once the database change behind it has committed."""

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation


def send_after_commit(
    template: str, context: dict, *, to: Iterable[str], language: str | None = None
) -> None:
    """Render `<template>_subject.txt` and `<template>.txt` now, send them after commit.

    Rendering happens at once so the message describes the state that was
    committed; sending waits for the commit so a rolled-back change never
    produces an e-mail. Each recipient gets a message of their own.
    """
    recipients = [address for address in to if address]
    if not recipients:
        return
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        body = render_to_string(f"{template}.txt", context)
    # One message per recipient: moderators and members do not see each other's addresses.
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in recipients]
    transaction.on_commit(lambda: send_mass_mail(messages))
