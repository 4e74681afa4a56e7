"""Site-wide data: what the portal keeps about a person's account besides Django's user."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def text_language_field() -> models.CharField:
    """The language the people who wrote an object's text wrote it in (nb unless they say
    otherwise): pages mark that text with `lang`, so an English page reads Norwegian text
    with a Norwegian voice (WCAG 3.1.2)."""
    return models.CharField(
        _("language of the text"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("The language the title and the texts are written in."),
    )


class Profile(models.Model):
    """One per user: their language and whether their e-mail address is confirmed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="profile",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("The language of the e-mails the portal sends you."),
    )
    email_confirmed_at = models.DateTimeField(_("e-mail confirmed at"), null=True, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return str(self.user)

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def confirm_email(self) -> None:
        if self.email_confirmed_at is None:
            self.email_confirmed_at = timezone.now()
            self.save(update_fields=["email_confirmed_at", "updated"])


def profile_for(user) -> Profile:
    """The user's profile, made on first use (accounts made in the admin start without one)."""
    try:
        return user.profile
    except Profile.DoesNotExist:
        profile, _created = Profile.objects.get_or_create(user=user)
        return profile


def language_of(user) -> str:
    """The language to write to this user in."""
    if user is None or not user.pk:
        return settings.LANGUAGE_CODE
    return profile_for(user).language


def email_confirmed(user) -> bool:
    """Whether this user has confirmed their e-mail address (anonymous users have not)."""
    if user is None or not user.is_authenticated:
        return False
    return profile_for(user).email_confirmed


# --- E-mail confirmation links -------------------------------------------------

CONFIRMATION_SALT = "ideabank.accounts.confirm-email"
# Long enough for a holiday weekend, short enough that an old mail is worth little.
CONFIRMATION_MAX_AGE = timedelta(days=3)


class ConfirmationLinkExpired(Exception):
    """The link was genuine but is older than CONFIRMATION_MAX_AGE."""


class ConfirmationLinkInvalid(Exception):
    """The link was not made by us, or no longer fits its account (e-mail changed, deleted)."""


def _email_digest(email: str) -> str:
    # The link names the address it confirms without showing it in the URL.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def confirmation_token(user) -> str:
    """A signed, time-stamped token for the link that confirms `user`'s current e-mail address.

    It is bound to the user and to the address: after the address changes, the
    token no longer confirms anything.
    """
    return signing.dumps([user.pk, _email_digest(user.email)], salt=CONFIRMATION_SALT)


def user_for_confirmation_token(token: str):
    """The user a confirmation token belongs to.

    Raises ConfirmationLinkExpired for a genuine but old token, ConfirmationLinkInvalid
    for anything else that is not a current token of an existing user.
    """
    try:
        payload = signing.loads(token, salt=CONFIRMATION_SALT, max_age=CONFIRMATION_MAX_AGE)
    except signing.SignatureExpired as error:
        raise ConfirmationLinkExpired from error
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise ConfirmationLinkInvalid from error
    if not (
        isinstance(payload, list)
        and len(payload) == 2
        and isinstance(payload[0], int)
        and isinstance(payload[1], str)
    ):
        raise ConfirmationLinkInvalid
    user = get_user_model().objects.filter(pk=payload[0], is_active=True).first()
    if user is None or _email_digest(user.email) != payload[1]:
        raise ConfirmationLinkInvalid
    return user


# --- Outgoing mail ------------------------------------------------------------------


class OutgoingMailQuerySet(models.QuerySet):
    def due(self, now=None):
        """Waiting mails whose wait is over and that no worker is handing to the server."""
        now = now or timezone.now()
        return self.filter(
            models.Q(claimed_until__isnull=True) | models.Q(claimed_until__lt=now),
            status=OutgoingMail.Status.WAITING,
            next_attempt_at__lte=now,
        )

    def failed(self):
        """Mails given up on after their last try: an administrator sends them again."""
        return self.filter(status=OutgoingMail.Status.FAILED)


class OutgoingMail(models.Model):
    """One e-mail to one person, written in the transaction of the change it tells about.

    The row is the promise that the mail will go: the task worker hands it to the mail
    server after the commit, tries again with growing waits when that fails, and marks
    it sent or, after its last try, failed (administrators see those and can send again).
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    to = models.EmailField(_("to"), max_length=254)
    language = models.CharField(_("language"), max_length=8)
    template = models.CharField(_("kind"), max_length=100)
    subject = models.TextField(_("subject"))
    body = models.TextField(_("body"))
    reply_to = models.EmailField(_("reply to"), max_length=254, blank=True)
    # An iCalendar text sent along (an event, or its cancellation).
    calendar = models.TextField(_("calendar"), blank=True)
    # Fixed when queued, so a mail sent twice (a worker died between the server's "OK"
    # and marking it sent) is recognisably one message to mail programs.
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True)
    created = models.DateTimeField(_("queued"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    objects = OutgoingMailQuerySet.as_manager()

    class Meta:
        verbose_name = _("outgoing mail")
        verbose_name_plural = _("outgoing mail")
        ordering = ["-created", "-id"]
        permissions = [("resend_outgoingmail", _("Can send failed mail again"))]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="mail_due")]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"


class PeriodicJob(models.Model):
    """When each periodic task (settings.PERIODIC_TASKS) is next due: the row every
    worker claims with one UPDATE, so a job is enqueued once however many workers run."""

    task_path = models.CharField(max_length=200, unique=True)
    next_run_at = models.DateTimeField()
    last_enqueued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.task_path
