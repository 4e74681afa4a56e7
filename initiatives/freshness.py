"""Freshness reminders: the owners of an initiative not updated for 12, then 18 months are
asked whether it is still current, with a one-click link that needs no login.

The rule for what is stale lives on the model (`Initiative.is_stale`,
`InitiativeQuerySet.stale`, `freshness_cutoff`); this module sends the reminders (the
worker's daily `initiatives.tasks.send_freshness_reminders`), signs their links and
answers them (`still_current`).

Each reminder is a `FreshnessReminder` row, unique per initiative, threshold and the
update it is about (`due_for`): however often the task runs, and however many workers run
it at once, a threshold is mailed once per update, and an update starts a new round.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ideabank.email import send_to
from initiatives.models import (
    LAST_OWNER_UPDATE,
    FreshnessReminder,
    IllegalTransition,
    Initiative,
    OrganisationMember,
    freshness_cutoff,
    moderators,
)

logger = logging.getLogger(__name__)

TOKEN_SALT = "initiatives.freshness.still-current"
TOKEN_MAX_LENGTH = 100  # a signed reminder id is some 30 characters


def due(now: datetime | None = None):
    """The published initiatives owed a reminder now, annotated `threshold` (the longest of
    FRESHNESS_REMINDER_MONTHS they have passed: one 20 months old gets the 18-month one
    only) and `last_update`, with their lead organisation."""
    thresholds = sorted(settings.FRESHNESS_REMINDER_MONTHS, reverse=True)
    if not thresholds:
        return Initiative.objects.none()
    cutoffs = {months: freshness_cutoff(months, now) for months in thresholds}
    sent = FreshnessReminder.objects.filter(
        initiative=OuterRef("pk"), months=OuterRef("threshold"), due_for=OuterRef("last_update")
    )
    return (
        Initiative.objects.published()
        .annotate(last_update=LAST_OWNER_UPDATE)
        .filter(last_update__lt=cutoffs[thresholds[-1]])
        .annotate(
            threshold=Case(
                *(When(last_update__lt=cutoffs[m], then=Value(m)) for m in thresholds),
                output_field=IntegerField(),
            )
        )
        .filter(~Exists(sent))
        .select_related("lead_organisation")
        .order_by("pk")
    )


def owners_by_organisation(organisation_ids) -> dict[int, list]:
    """The people who answer for an organisation's initiatives: its active members with a
    confirmed e-mail address (an unconfirmed one may not be theirs), one query for all."""
    found: dict[int, list] = {}
    members = (
        OrganisationMember.objects.active()
        .filter(
            organisation__in=set(organisation_ids),
            user__is_active=True,
            user__profile__email_confirmed_at__isnull=False,
        )
        .select_related("user__profile")
        .order_by("user__email")
    )
    for member in members:
        found.setdefault(member.organisation_id, []).append(member.user)
    return found


def send_reminders(now: datetime | None = None) -> dict[str, int]:
    """Record and mail every reminder due now; how many mails went to owners and to
    moderators.

    Owners are the lead organisation's confirmed active members, each mailed in their own
    language, a mail per initiative. An organisation with none of them cannot answer, so
    its reminders go to the moderators instead, all of a run in one mail (to reach the
    contact person, or archive the entry): an initiative nobody looks after is what the
    reminders exist to find, and a moderator should not get hundreds of mails for them.
    """
    initiatives = list(due(now))
    owners = owners_by_organisation(i.lead_organisation_id for i in initiatives)
    sent = {"owners": 0, "moderators": 0}
    orphans = [i for i in initiatives if not owners.get(i.lead_organisation_id)]
    for initiative in initiatives:
        people = owners.get(initiative.lead_organisation_id)
        if not people:
            continue
        try:
            with transaction.atomic():
                reminder = _record(initiative)
                sent["owners"] += send_to(
                    "email/freshness_reminder", _context(initiative, reminder), people
                )
        except IntegrityError:
            continue  # another worker sent this one
    if orphans:
        with transaction.atomic():
            reminders = []
            for initiative in orphans:
                try:
                    with transaction.atomic():
                        reminders.append(_context(initiative, _record(initiative)))
                except IntegrityError:
                    continue
            if reminders:
                sent["moderators"] = send_to(
                    "email/freshness_orphans",
                    {"reminders": reminders, "link_days": settings.FRESHNESS_LINK_DAYS},
                    moderators(),
                )
    if any(sent.values()):
        logger.info("Freshness reminders sent: %s", sent)
    return sent


def _record(initiative: Initiative) -> FreshnessReminder:
    # The unique constraint is the guard: a second worker's insert fails here.
    return FreshnessReminder.objects.create(
        initiative=initiative, months=initiative.threshold, due_for=initiative.last_update
    )


def _context(initiative: Initiative, reminder: FreshnessReminder) -> dict:
    return {
        "initiative": initiative,
        "reminder": reminder,
        "last_update": initiative.last_update,
        "token": token_for(reminder),
        "link_days": settings.FRESHNESS_LINK_DAYS,
        "stale_months": settings.FRESHNESS_STALE_MONTHS,
    }


# --- The "still current" link -----------------------------------------------------------


class LinkInvalid(Exception):
    """Not a link we made (mistyped, cut off, tampered with), or its reminder is gone."""


class LinkExpired(Exception):
    """A genuine link older than FRESHNESS_LINK_DAYS."""

    def __init__(self, reminder: FreshnessReminder) -> None:
        super().__init__(reminder.pk)
        self.reminder = reminder


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=TOKEN_SALT)


def token_for(reminder: FreshnessReminder) -> str:
    """The signed, time-stamped key of the "still current" link: the reminder's id."""
    return _signer().sign(str(reminder.pk))


def reminder_for_token(token: str) -> FreshnessReminder:
    """The reminder a link names, with its initiative. Raises LinkInvalid for anything we
    did not sign, LinkExpired (with the reminder) for a genuine one past
    FRESHNESS_LINK_DAYS; a used link is returned as it is (it says when it was used)."""
    if len(token) > TOKEN_MAX_LENGTH or "\x00" in token:
        raise LinkInvalid
    try:
        value = _signer().unsign(token)
    except signing.BadSignature as error:
        raise LinkInvalid from error
    if not value.isascii() or not value.isdigit():
        raise LinkInvalid
    reminder = (
        FreshnessReminder.objects.select_related("initiative")
        .defer("initiative__search_vector", "initiative__facet_keys")
        .filter(pk=int(value))
        .first()
    )
    if reminder is None:
        raise LinkInvalid
    if reminder.used_at is None:
        try:
            _signer().unsign(token, max_age=timedelta(days=settings.FRESHNESS_LINK_DAYS))
        except signing.SignatureExpired as error:
            raise LinkExpired(reminder) from error
    return reminder


@require_http_methods(["GET", "HEAD", "POST"])
def still_current(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the reminders: no login, the signed token is the key.

    GET shows the initiative and a button, POST confirms: mail scanners that open links
    only ever GET. Works once (then says when it was used), expires after
    FRESHNESS_LINK_DAYS (410), and a link we did not make is 404.
    """
    template = "initiatives/still_current.html"
    try:
        reminder = reminder_for_token(token)
    except LinkInvalid:
        return render(request, template, {"problem": "invalid"}, status=404)
    except LinkExpired as expired:
        context = {
            "problem": "expired",
            "initiative": _shown(expired.reminder.initiative),
            "link_days": settings.FRESHNESS_LINK_DAYS,
        }
        return render(request, template, context, status=410)
    initiative = reminder.initiative
    if reminder.used_at is None and initiative.status != Initiative.Status.PUBLISHED:
        return render(request, template, {"problem": "unpublished"}, status=410)
    if request.method == "POST" and reminder.used_at is None:
        try:
            confirmed = reminder.confirm_still_current()
        except IllegalTransition:
            return render(request, template, {"problem": "unpublished"}, status=410)
        if confirmed:
            messages.success(
                request,
                _("Thank you. “%(title)s” is marked as still current.")
                % {"title": initiative.title},
            )
        return redirect("initiatives:still_current", token=token)
    return render(
        request,
        template,
        {"reminder": reminder, "initiative": initiative, "token": token},
    )


def _shown(initiative: Initiative) -> Initiative | None:
    # Only a published initiative is named on a page anyone with the link may open.
    return initiative if initiative.status == Initiative.Status.PUBLISHED else None
