"""A person's own data (GDPR articles 15, 17 and 20): what the site holds about them, taken
out as one JSON file, erased on request, and the retention rules the task worker applies.

Two kinds of data belong to a person: rows tied to their account (foreign keys to the
user) and rows that only carry their e-mail address (event registrations, contact fields
of initiatives, mails in the outbox). The second kind is theirs only once they have
proved the address is theirs (a confirmed address): otherwise anyone could sign up with
someone else's address and read, or erase, that person's registrations and mails.
"""

import json
import re
from datetime import timedelta

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from reversion.models import Revision, Version

from ideabank.email import SECRET_REMOVED, SECRET_TEMPLATES, Recipient, send_to
from ideabank.models import Comment, CommentReport, Follow, OutgoingMail, Profile
from initiatives.models import (
    Adoption,
    Initiative,
    InitiativeStatusChange,
    Organisation,
    OrganisationMember,
)
from networks.models import EventRegistration, Membership, Network, WorkingGroupMember

EXPORT_FORMAT = "idebanken-personal-data/1"
# What replaces a person's address in free text (admin log, history, notes) once erased.
REMOVED = "[removed]"
# Registrations keep their row (organisers count who came) but not who it was. The
# reserved .invalid domain (RFC 2606) never receives mail, and the row's id keeps the
# placeholder unique under the once-per-address constraint.
ANONYMOUS_REGISTRATION_DOMAIN = "anonymised.invalid"
CONTACT_FIELDS = ("contact_name", "contact_role", "contact_email", "contact_phone")


# --- Whose data is it ----------------------------------------------------------------


def addresses_of(user) -> list[str]:
    """The lower-cased addresses that name `user`: the e-mail and, for accounts made at
    sign-up, the username (the same address; an admin-made account may differ)."""
    found = {user.email.strip().lower()} if user.email.strip() else set()
    if "@" in user.username:
        found.add(user.username.strip().lower())
    return sorted(found)


def _matching(field: str, addresses: list[str]) -> Q:
    """`field` equals one of `addresses`, in any case; never matches when there are none."""
    query = Q(pk__in=[])
    for address in addresses:
        query |= Q(**{f"{field}__iexact": address})
    return query


def _mentioning(fields: tuple[str, ...], addresses: list[str]) -> Q:
    query = Q(pk__in=[])
    for address in addresses:
        for field in fields:
            query |= Q(**{f"{field}__icontains": address})
    return query


def _address_is_theirs(user) -> bool:
    profile = Profile.objects.filter(user=user).first()
    return profile is not None and profile.email_confirmed


# --- Export (articles 15 and 20) ---------------------------------------------------------


def collect(user) -> dict:
    """Everything the site holds about `user`, as plain JSON-ready data.

    A fixed number of queries whatever the number of rows (one per kind of data), so a
    person with years of history is exported as fast as a new one. Address-bound data is
    included only when the address is confirmed (module docstring).
    """
    profile = Profile.objects.filter(user=user).first()
    confirmed = profile is not None and profile.email_confirmed
    addresses = addresses_of(user) if confirmed else []

    memberships = OrganisationMember.objects.filter(user=user).select_related("organisation")
    network_requests = Membership.objects.filter(
        Q(requested_by=user) | Q(approved_by=user)
    ).select_related("network", "organisation")
    initiatives = (
        Initiative.objects.filter(
            Q(created_by=user) | Q(submitted_by=user) | _matching("contact_email", addresses)
        )
        .select_related("lead_organisation")
        .order_by("created", "pk")
    )
    adoptions = Adoption.objects.filter(reported_by=user).select_related(
        "initiative", "organisation"
    )
    registrations = (
        EventRegistration.objects.filter(_matching("email", addresses))
        .select_related("event")
        .order_by("created", "pk")
    )
    status_changes = InitiativeStatusChange.objects.filter(changed_by=user).select_related(
        "initiative"
    )
    revisions = (
        Revision.objects.filter(user=user)
        .prefetch_related("version_set__content_type")
        .order_by("date_created", "pk")
    )
    mails = OutgoingMail.objects.filter(_matching("to", addresses)).order_by("created", "pk")
    seats = WorkingGroupMember.objects.filter(user=user).select_related("working_group")
    proposed = Organisation.objects.filter(proposed_by=user)
    follows = Follow.objects.filter(user=user).select_related(
        "initiative", "organisation", "network", "goal"
    )
    comments = (
        Comment.objects.filter(author=user)
        .select_related("initiative", "network", "organisation")
        .order_by("created", "pk")
    )
    comment_reports = CommentReport.objects.filter(reporter=user).order_by("created", "pk")

    return {
        "format": EXPORT_FORMAT,
        "site": settings.SITE_URL,
        "exported_at": timezone.now(),
        "account": {
            "username": user.username,
            "name": user.get_full_name(),
            "email": user.email,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "is_active": user.is_active,
        },
        "profile": {
            "language": profile.language if profile else settings.LANGUAGE_CODE,
            "email_confirmed": confirmed,
            "email_confirmed_at": profile.email_confirmed_at if profile else None,
            "created": profile.created if profile else None,
            "follow_mail": profile.follow_mail if profile else Profile().follow_mail,
        },
        "follows": [{"kind": f.kind, "what": _followed(f), "created": f.created} for f in follows],
        "comments": [
            {
                "id": c.pk,
                "where": f"{settings.SITE_URL}{(c.initiative or c.network).get_absolute_url()}",
                "on": str(c.initiative or c.network),
                "kind": c.kind,
                "reply_to": c.parent_id,
                "organisation": c.organisation.name if c.organisation else "",
                "text": c.body,
                "created": c.created,
                "edited": c.edited_at,
                "deleted": c.deleted_at,
                "hidden": c.hidden_at,
                "hidden_reason": c.hidden_reason,
            }
            for c in comments
        ],
        "comment_reports": [
            {"comment": r.comment_id, "reason": r.reason, "created": r.created}
            for r in comment_reports
        ],
        "organisation_memberships": [
            {
                "organisation": m.organisation.name,
                "role": m.role,
                "status": m.status,
                "approved_at": m.approved_at,
                "created": m.created,
            }
            for m in memberships
        ],
        "organisations_proposed": [
            {"name": o.name, "status": o.status, "created": o.created} for o in proposed
        ],
        "network_membership_requests": [
            {
                "network": m.network.name,
                "organisation": m.organisation.name,
                "status": m.status,
                "you": "requested" if m.requested_by_id == user.pk else "approved",
                "since": m.since,
                "created": m.created,
            }
            for m in network_requests
        ],
        "working_group_seats": [
            {"working_group": s.working_group.name, "name": s.name, "role": s.role} for s in seats
        ],
        "initiatives": [
            {
                "title": i.title,
                "url": f"{settings.SITE_URL}{i.get_absolute_url()}",
                "status": i.status,
                "lead_organisation": i.lead_organisation.name if i.lead_organisation else "",
                "created_by_you": i.created_by_id == user.pk,
                "submitted_by_you": i.submitted_by_id == user.pk,
                "you_are_contact": i.contact_email.strip().lower() in addresses,
                **{name: getattr(i, name) for name in CONTACT_FIELDS},
                "created": i.created,
            }
            for i in initiatives
        ],
        "adoptions": [
            {
                "initiative": a.initiative.title,
                "organisation": a.organisation.name,
                "note": a.note,
                "created": a.created,
            }
            for a in adoptions
        ],
        "event_registrations": [
            {
                "event": r.event.title,
                "event_starts_at": r.event.starts_at,
                "name": r.name,
                "email": r.email,
                "organisation": r.organisation_name,
                "status": r.status,
                "language": r.language,
                "created": r.created,
            }
            for r in registrations
        ],
        "status_changes": [
            {
                "initiative": c.initiative.title,
                "from": c.from_status,
                "to": c.to_status,
                "note": c.note,
                "when": c.created,
            }
            for c in status_changes
        ],
        "edits": [
            {
                "when": r.date_created,
                "comment": r.comment,
                "objects": [
                    {"type": v.content_type.model, "id": v.object_id, "name": v.object_repr}
                    for v in r.version_set.all()
                ],
            }
            for r in revisions
        ],
        "mails_to_you": [
            {
                "to": m.to,
                "subject": m.subject,
                # A link that signs in or sets a password is not handed out again.
                "body": SECRET_REMOVED if m.template in SECRET_TEMPLATES else m.body,
                "status": m.status,
                "queued": m.created,
                "sent": m.sent_at,
            }
            for m in mails
        ],
    }


def _followed(follow: Follow) -> str:
    """What a follow is about, in words: the followed thing's name, or the saved search."""
    return str(follow.target)


def export_json(user) -> str:
    return json.dumps(collect(user), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)


# --- Erasure (article 17) --------------------------------------------------------------------


class CannotErase(Exception):
    """The account may not be erased by its owner (staff: their admin log is the audit trail)."""


def may_erase_self(user) -> bool:
    """Staff accounts are removed by another administrator, who decides what happens to
    the admin log they wrote; everyone else may delete their own account."""
    return not (user.is_staff or user.is_superuser)


def erase_account(user, *, receipt: bool = True) -> None:
    """Delete `user` and erase or anonymise their personal data everywhere, in one
    transaction: nothing is half-done. Initiatives, adoptions and memberships of their
    organisations stay (they are the organisations' content); only who did it goes.
    Their follows go; their comments are emptied and lose their name (_erase_comments);
    reports they made on comments stay for the moderators, without the reporter.

    With a confirmed address, data bound to the address goes too: contact fields of
    initiatives and networks are emptied (the lead organisation then answers), event
    registrations are cancelled (future events) and anonymised, mails that name it are
    deleted, and the admin log and edit history are scrubbed of it. A receipt goes to the
    address in the person's language; the outbox forgets it once sent (ideabank.email).
    """
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        profile = Profile.objects.filter(user=user).first()
        language = profile.language if profile else settings.LANGUAGE_CODE
        confirmed = profile is not None and profile.email_confirmed
        addresses = addresses_of(user)
        email = user.email

        if confirmed:
            _erase_address(addresses)
        # Mails naming the address, and the admin log naming it, go whether or not the
        # address was confirmed; but a mail still waiting to go to an unconfirmed address
        # may be for its real owner (a registration), so it is left to go.
        mails = OutgoingMail.objects.filter(
            _matching("to", addresses)
            | _matching("reply_to", addresses)
            | _mentioning(("subject", "body", "calendar"), addresses)
        )
        if not confirmed:
            mails = mails.exclude(status=OutgoingMail.Status.WAITING)
        mails.delete()
        _scrub_admin_log(user, addresses)
        WorkingGroupMember.objects.filter(user=user).delete()
        _erase_comments(user)
        _end_sessions(user)
        # Every other foreign key to the user is SET_NULL or CASCADE (profile, organisation
        # memberships, follows, the reports they made, their own admin log entries).
        user.delete()

        if receipt and email:
            send_to(
                "email/account_deleted",
                {"contact_email": settings.CONTACT_EMAIL},
                [Recipient(email, language)],
            )


def _erase_comments(user) -> None:
    """Their comments stay as rows, emptied: deleting them would take the replies of
    others with them (and the thread would stop making sense), and a hidden one's
    moderation history must stay. What goes is the person: the text, their name and the
    organisation they wrote for; the page shows "deleted" in its place, as when they
    delete a comment themselves."""
    now = timezone.now()
    Comment.objects.filter(author=user).update(
        body="",
        author=None,
        organisation=None,
        edited_at=None,
        deleted_at=Coalesce("deleted_at", Value(now)),
    )


def _erase_address(addresses: list[str]) -> None:
    """Erase what carries the address, though it is not tied to the account."""
    blank = dict.fromkeys(CONTACT_FIELDS, "")
    Initiative.objects.filter(_matching("contact_email", addresses)).update(
        **blank, updated=timezone.now()
    )
    Network.objects.filter(_matching("contact_email", addresses)).update(
        contact_name="", contact_role="", contact_email="", updated=timezone.now()
    )
    registrations = EventRegistration.objects.filter(_matching("email", addresses))
    for registration in registrations.live().filter(event__ends_at__gt=timezone.now()):
        # Frees the place for the waiting list, as cancelling by the link would.
        registration.cancel()
    anonymise_registrations(registrations)
    _scrub_text(InitiativeStatusChange.objects.all(), ("note",), addresses)
    _scrub_text(Initiative.objects.all(), ("rejection_reason",), addresses)
    _scrub_history(addresses)


def anonymise_registrations(registrations: QuerySet) -> int:
    """Keep the rows (how many came, from which organisations) without who they were."""
    return registrations.exclude(email__endswith=f"@{ANONYMOUS_REGISTRATION_DOMAIN}").update(
        name="",
        email=Concat(
            Value("registration-"),
            Cast("pk", CharField()),
            Value(f"@{ANONYMOUS_REGISTRATION_DOMAIN}"),
        ),
        updated=timezone.now(),
    )


def _pattern(addresses: list[str]) -> re.Pattern:
    return re.compile("|".join(re.escape(a) for a in addresses), re.IGNORECASE)


def _scrub_text(queryset: QuerySet, fields: tuple[str, ...], addresses: list[str]) -> None:
    if not addresses:
        return
    pattern = _pattern(addresses)
    for row in queryset.filter(_mentioning(fields, addresses)).values("pk", *fields):
        # An UPDATE, not save(): scrubbing is not an edit to record or announce.
        queryset.filter(pk=row["pk"]).update(
            **{field: pattern.sub(REMOVED, row[field]) for field in fields}
        )


def _scrub_admin_log(user, addresses: list[str]) -> None:
    """The admin log keeps what moderators did, not whom it named: their address goes from
    the object names and change messages. (Entries the person wrote themselves go with
    the account: LogEntry.user cascades.)"""
    _scrub_text(LogEntry.objects.exclude(user=user), ("object_repr", "change_message"), addresses)


def _scrub_history(addresses: list[str]) -> None:
    """Edit-history versions (django-reversion) hold an initiative's fields as they were:
    a version naming the person as contact loses the contact fields, and any other
    mention of the address is replaced."""
    pattern = _pattern(addresses)
    for version in Version.objects.filter(_mentioning(("serialized_data",), addresses)):
        data = json.loads(version.serialized_data)
        for item in data:
            fields = item.get("fields", {})
            if str(fields.get("contact_email", "")).strip().lower() in addresses:
                fields.update({name: "" for name in CONTACT_FIELDS if name in fields})
        version.serialized_data = pattern.sub(REMOVED, json.dumps(data, cls=DjangoJSONEncoder))
        version.object_repr = pattern.sub(REMOVED, version.object_repr)
        version.save(update_fields=["serialized_data", "object_repr"])


def _end_sessions(user) -> None:
    """Log the person out everywhere (a deleted user's session is worthless, but its row
    would stay until clearsessions)."""
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return
    key = str(user.pk)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == key:
            session.delete()


# --- Retention (run daily by the task worker) ---------------------------------------------


def anonymise_old_registrations(now=None) -> int:
    """Registrations for events that ended more than REGISTRATION_KEEP_MONTHS ago: the
    organiser no longer needs to know who came."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.REGISTRATION_KEEP_MONTHS * 365 // 12)
    return anonymise_registrations(EventRegistration.objects.filter(event__ends_at__lt=cutoff))


def unconfirmed_accounts(now=None) -> QuerySet:
    """Accounts made at sign-up whose address was not confirmed within
    UNCONFIRMED_ACCOUNT_KEEP_DAYS, and that hold nothing others depend on.

    Sign-up makes the profile; an account without one was made in the admin and is
    left alone, as are staff. An account that created an initiative, reported an
    adoption or was let into an organisation (someone vouched for it) is kept for a
    moderator to look at; a mere request to join goes with the account.
    """
    now = now or timezone.now()
    User = get_user_model()
    return User.objects.filter(
        Exists(Profile.objects.filter(user=OuterRef("pk"), email_confirmed_at__isnull=True)),
        ~Exists(Initiative.objects.filter(created_by=OuterRef("pk"))),
        ~Exists(Adoption.objects.filter(reported_by=OuterRef("pk"))),
        ~Exists(OrganisationMember.objects.active().filter(user=OuterRef("pk"))),
        date_joined__lt=now - timedelta(days=settings.UNCONFIRMED_ACCOUNT_KEEP_DAYS),
        is_staff=False,
        is_superuser=False,
    )


def delete_unconfirmed_accounts(now=None) -> int:
    """Delete accounts never confirmed (unconfirmed_accounts). No receipt: the address
    was never shown to be the person's. Each in its own transaction: an error stops the
    run but keeps those already done, and tomorrow's run goes on."""
    deleted = 0
    for user in unconfirmed_accounts(now):
        erase_account(user, receipt=False)
        deleted += 1
    return deleted
