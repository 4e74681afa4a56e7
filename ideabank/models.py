"""Site-wide data: what the portal keeps about a person's account besides Django's user."""

import hashlib
import operator
from datetime import timedelta
from functools import reduce

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import models, transaction
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


class FollowMail(models.TextChoices):
    """How a person hears what is new about what they follow."""

    INSTANT = "instant", _("At once, as soon as something is new")
    WEEKLY = "weekly", _("Once a week, in one e-mail")
    NEVER = "never", _("No e-mail")


class Profile(models.Model):
    """One per user: their language, whether their e-mail address is confirmed and how
    they hear about what they follow."""

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
    follow_mail = models.CharField(
        _("news about what you follow"),
        max_length=10,
        choices=FollowMail.choices,
        default=FollowMail.WEEKLY,
    )
    # What is new for this person's follows has been mailed up to here (ideabank.notices
    # claims the next stretch with one conditional UPDATE, so nothing goes twice).
    follow_notices_until = models.DateTimeField(null=True, blank=True, editable=False)
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
    # Mails about follows: the signed link that stops them, sent as List-Unsubscribe
    # (with List-Unsubscribe-Post, one click, RFC 8058).
    unsubscribe_url = models.URLField(_("unsubscribe link"), max_length=1000, blank=True)
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


# --- Following: what a person asked to be told about ----------------------------------

# The kinds of thing a Follow points at by foreign key (a search is its query string).
FOLLOW_TARGETS = ("initiative", "organisation", "network", "goal")


class FollowQuerySet(models.QuerySet):
    def of(self, user) -> "FollowQuerySet":
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(user=user)


class Follow(models.Model):
    """A person follows one thing: an initiative (its progress reports, edits and comments),
    an organisation (its new initiatives), a network (its new events and its members' new
    initiatives), an SDG goal (new initiatives on it) or a state of the initiative list (a
    saved search: new initiatives that match it). What is new reaches them by e-mail, at
    once or in the weekly digest (Profile.follow_mail; ideabank.notices)."""

    class Kind(models.TextChoices):
        INITIATIVE = "initiative", _("Initiative")
        ORGANISATION = "organisation", _("Organisation")
        NETWORK = "network", _("Network")
        GOAL = "goal", _("SDG goal")
        SEARCH = "search", _("Search")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="follows",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    initiative = models.ForeignKey(
        "initiatives.Initiative",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follows",
        verbose_name=_("initiative"),
    )
    organisation = models.ForeignKey(
        "initiatives.Organisation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follows",
        verbose_name=_("organisation"),
    )
    network = models.ForeignKey(
        "networks.Network",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follows",
        verbose_name=_("network"),
    )
    goal = models.ForeignKey(
        "initiatives.Goal",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follows",
        verbose_name=_("SDG goal"),
    )
    # A saved search: the initiative list's query string (choices and text, no sort or
    # page), as initiatives.views.feed_query writes it.
    search = models.CharField(_("search"), max_length=2000, blank=True)
    created = models.DateTimeField(_("since"), default=timezone.now)

    objects = FollowQuerySet.as_manager()

    class Meta:
        verbose_name = _("follow")
        verbose_name_plural = _("follows")
        ordering = ["-created", "-pk"]
        constraints = [
            # Each kind names its own target and nothing else (a search: its query string).
            models.CheckConstraint(
                name="follow_has_its_target",
                condition=reduce(
                    operator.or_,
                    (
                        models.Q(
                            kind=kind,
                            **{f"{target}__isnull": target != kind for target in FOLLOW_TARGETS},
                            **({} if kind == "search" else {"search": ""}),
                        )
                        for kind in (*FOLLOW_TARGETS, "search")
                    ),
                ),
            ),
            # Following a thing twice is following it once.
            *(
                models.UniqueConstraint(
                    fields=["user", kind],
                    condition=models.Q(kind=kind),
                    name=f"follow_{kind}_once",
                )
                for kind in (*FOLLOW_TARGETS, "search")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_kind_display()} {self.target}"

    @property
    def target(self):
        """What is followed: the initiative, organisation, network or goal, or the saved
        search's query string."""
        return self.search if self.kind == self.Kind.SEARCH else getattr(self, self.kind)


# Signed links in follow mails: stop one follow, or all follow mails, without logging in.
UNSUBSCRIBE_SALT = "ideabank.follows.unsubscribe"


def unsubscribe_token(user, follow: "Follow | None" = None) -> str:
    """A signed token that stops `follow` (or, without one, every follow mail to `user`).
    It does not expire: an unsubscribe link must work in an old mail too (RFC 8058)."""
    return signing.dumps([user.pk, follow.pk if follow else None], salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> tuple[int, int | None] | None:
    """(user id, follow id or None) of a token made by unsubscribe_token, else None."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not (
        isinstance(payload, list)
        and len(payload) == 2
        and isinstance(payload[0], int)
        and (payload[1] is None or isinstance(payload[1], int))
    ):
        return None
    return payload[0], payload[1]


# --- Comments and questions on initiatives and networks -------------------------------

# The longest comment (characters); the form says so and the model refuses longer.
COMMENT_MAX_LENGTH = 4000
# How long after writing it the author may still change a comment.
COMMENT_EDIT_MINUTES = 15


# Shown to the public: not hidden, and not under a hidden question (the LEFT JOIN to the
# parent matches a comment without one too).
SHOWN = models.Q(hidden_at__isnull=True, parent__hidden_at__isnull=True)


class CommentQuerySet(models.QuerySet):
    def shown(self) -> "CommentQuerySet":
        """Comments the public sees: not hidden by a moderator, nor replies under a hidden
        one (the page shows a reply only under its question)."""
        return self.filter(SHOWN)

    def visible_to(self, user) -> "CommentQuerySet":
        """Comments on public pages (a published initiative's, a network's) that `user` sees:
        the shown ones, and their own hidden ones (with the moderator's reason)."""
        from initiatives.models import Initiative  # initiatives.models imports this module

        on_public_page = models.Q(network__isnull=False) | models.Q(
            initiative__status=Initiative.Status.PUBLISHED
        )
        seen = SHOWN
        if user is not None and user.is_authenticated:
            seen |= models.Q(author=user)
        return self.filter(on_public_page, seen)

    def with_open_reports(self) -> "CommentQuerySet":
        """Comments someone reported that no moderator has dealt with yet: the queue."""
        # Exists, not reports__handled_at__isnull: across the reverse join that also
        # matches comments nobody reported (the LEFT JOIN's empty row).
        return self.filter(
            models.Exists(
                CommentReport.objects.filter(comment=models.OuterRef("pk"), handled_at__isnull=True)
            )
        )

    def with_open_report_count(self) -> "CommentQuerySet":
        """Each comment with `open_reports`: how many of its reports wait for a moderator
        (the rule of with_open_reports, counted in the same query)."""
        return self.annotate(
            open_reports=models.Count(
                "reports", filter=models.Q(reports__handled_at__isnull=True), distinct=True
            )
        )


class Comment(models.Model):
    """A question or comment on a published initiative or on a network; a reply to one
    (one level deep) has it as parent. Plain text; links are made clickable when shown.
    Nothing is ever deleted by a moderator: a hidden comment keeps its row, its text and
    the reason, which its author sees (CommentModeration is the history)."""

    class Kind(models.TextChoices):
        QUESTION = "question", _("Question")
        COMMENT = "comment", _("Comment")

    initiative = models.ForeignKey(
        "initiatives.Initiative",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="comments",
        verbose_name=_("initiative"),
    )
    network = models.ForeignKey(
        "networks.Network",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="comments",
        verbose_name=_("network"),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("reply to"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.COMMENT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comments",
        verbose_name=_("written by"),
    )
    # Whom the author wrote for, shown beside their name (one of their organisations).
    organisation = models.ForeignKey(
        "initiatives.Organisation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation"),
    )
    body = models.TextField(_("text"), max_length=COMMENT_MAX_LENGTH)
    language = text_language_field()
    created = models.DateTimeField(_("written"), default=timezone.now)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)
    # Deleted by its author: the text is gone, the row stays while replies hang on it.
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    # A reply the initiative's owners marked as the answer to the question it replies to.
    answer_marked_at = models.DateTimeField(_("marked as the answer"), null=True, blank=True)
    answer_marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("marked as the answer by"),
    )
    hidden_at = models.DateTimeField(_("hidden"), null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("hidden by"),
    )
    hidden_reason = models.TextField(_("why it is hidden"), blank=True, max_length=2000)

    objects = CommentQuerySet.as_manager()

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created", "pk"]
        constraints = [
            models.CheckConstraint(
                name="comment_on_one_thing",
                condition=models.Q(initiative__isnull=False, network__isnull=True)
                | models.Q(initiative__isnull=True, network__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["initiative", "created"], name="comment_initiative_created"),
            models.Index(fields=["network", "created"], name="comment_network_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} ({self.author})"

    @property
    def page(self):
        """The initiative or network whose page it is on."""
        return self.initiative if self.initiative_id else self.network

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_answer(self) -> bool:
        return self.answer_marked_at is not None

    def editable_until(self):
        return self.created + timedelta(minutes=COMMENT_EDIT_MINUTES)

    def may_edit(self, user, now=None) -> bool:
        """The author, within COMMENT_EDIT_MINUTES, of a comment that is neither deleted
        nor hidden."""
        return (
            user is not None
            and user.is_authenticated
            and self.author_id == user.pk
            and not self.is_deleted
            and not self.is_hidden
            and (now or timezone.now()) < self.editable_until()
        )

    def may_delete(self, user) -> bool:
        return (
            user is not None
            and user.is_authenticated
            and self.author_id == user.pk
            and not self.is_deleted
        )

    def may_mark_answer(self, user, *, owner: bool | None = None) -> bool:
        """The owners of the page (Comment.is_owner) mark a shown reply to a question as
        its answer, and unmark it. `owner`: what is_owner already said for this page (a
        thread asks once, not once per reply)."""
        if (
            self.parent_id is None
            or self.is_deleted
            or self.is_hidden
            or self.parent.kind != Comment.Kind.QUESTION
        ):
            return False
        if owner is None:
            owner = Comment.is_owner(user, initiative=self.initiative, network=self.network)
        return owner

    @staticmethod
    def is_owner(user, *, initiative=None, network=None) -> bool:
        """Who answers for the page a comment is on: for an initiative those who may edit
        it (InitiativeQuerySet.editable_by), for a network those who manage it
        (Network.is_managed_by)."""
        if user is None or not user.is_authenticated:
            return False
        if initiative is not None:
            from initiatives.models import Initiative  # initiatives.models imports this module

            return Initiative.objects.editable_by(user).filter(pk=initiative.pk).exists()
        return network is not None and network.is_managed_by(user)

    def delete_by_author(self) -> bool:
        """The writer deletes it: the text goes, the row stays while others' replies hang
        on it. A hidden comment keeps its text, which the moderators' decision is about
        (hidden comments stay in the history). False if it was deleted already."""
        return bool(
            Comment.objects.filter(pk=self.pk, deleted_at__isnull=True).update(
                deleted_at=timezone.now(),
                body=models.Case(
                    models.When(hidden_at__isnull=True, then=models.Value("")),
                    default=models.F("body"),
                    output_field=models.TextField(),
                ),
            )
        )

    def hide(self, *, by, reason: str) -> bool:
        """A moderator hides the comment from the public; its author still sees it, with
        `reason`. Every open report on it counts as handled. False if it was hidden."""
        return self._moderate(CommentModeration.Action.HIDE, by=by, reason=reason)

    def restore(self, *, by, reason: str) -> bool:
        """A moderator shows a hidden comment again. False if it was not hidden."""
        return self._moderate(CommentModeration.Action.RESTORE, by=by, reason=reason)

    def _moderate(self, action: str, *, by, reason: str) -> bool:
        reason = (reason or "").strip()
        if not reason:
            raise ValueError("A moderator's decision on a comment needs a reason.")
        hide = action == CommentModeration.Action.HIDE
        now = timezone.now()
        with transaction.atomic():
            # Conditional: two moderators deciding at once make one decision, not two.
            moved = Comment.objects.filter(pk=self.pk, hidden_at__isnull=hide).update(
                hidden_at=now if hide else None,
                hidden_by=by if hide else None,
                hidden_reason=reason if hide else "",
            )
            if not moved:
                return False
            CommentModeration.objects.create(comment=self, action=action, reason=reason, by=by)
            self.reports.filter(handled_at__isnull=True).update(handled_at=now, handled_by=by)
        self.hidden_at, self.hidden_by = (now, by) if hide else (None, None)
        self.hidden_reason = reason if hide else ""
        return True


class CommentModeration(models.Model):
    """One moderator decision on a comment (hide or restore, with the reason): the history."""

    class Action(models.TextChoices):
        HIDE = "hide", _("Hidden")
        RESTORE = "restore", _("Restored")

    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="moderations", verbose_name=_("comment")
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    reason = models.TextField(_("reason"), max_length=2000)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("comment moderation")
        verbose_name_plural = _("comment moderations")
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"{self.comment_id}: {self.get_action_display()}"


class CommentReport(models.Model):
    """Someone (logged in or not) tells the moderators a comment breaks the rules."""

    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="reports", verbose_name=_("comment")
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comment_reports",
        verbose_name=_("reported by"),
    )
    reason = models.TextField(_("what is wrong"), max_length=2000)
    created = models.DateTimeField(_("reported"), default=timezone.now)
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )

    class Meta:
        verbose_name = _("comment report")
        verbose_name_plural = _("comment reports")
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"{self.comment_id}: {self.reason[:40]}"
