"""What is new for the people who follow things (issue 15), mailed at once or weekly.

For one person, `news` collects what happened to what they follow between their
watermark (Profile.follow_notices_until; each follow counts from when it was made) and
`until`, in a constant number of queries however many follows and items there are.
`notify` claims that window with one conditional UPDATE of the watermark and queues the
mail in the same transaction: two workers at once make one mail, and a rollback takes
both back. The worker's tasks (ideabank.tasks.send_instant_notices every few minutes,
send_weekly_digests daily for those whose week is up) run it for everyone due; a
publication, edit, progress report, comment or network event wakes the instant run
after its commit.

Only what the public sees now is ever told: published initiatives (a follow of an
initiative that has since been withdrawn tells nothing), shown comments, events that are
not called off; and never a person's own comments, edits or reports.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.db.models.signals import post_save
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from ideabank.email import Recipient, queue_mail
from ideabank.follows import unsubscribe_url
from ideabank.models import Comment, Follow, FollowMail, Profile
from initiatives import engine
from initiatives.models import (
    Initiative,
    InitiativeStatusChange,
    Organisation,
    Participation,
    ProgressReport,
)
from initiatives.views import published_matching
from networks.models import Event, Membership

logger = logging.getLogger(__name__)

# A row written in a transaction that is still committing carries a time a little in the
# past: a window ends this long before now, so such a row falls in the next window.
MARGIN = timedelta(seconds=60)
# A weekly digest goes once the last one (the watermark) is this old.
WEEK = timedelta(days=7)
# People handled per query of a task run; each person has a transaction of their own.
BATCH = 200
# The most of a comment's text quoted in a mail.
EXCERPT = 300

PUBLISHED = Initiative.Status.PUBLISHED
# Groups come in this order; an item two follows reach is told once, in the first group.
KIND_ORDER = [
    Follow.Kind.INITIATIVE,
    Follow.Kind.ORGANISATION,
    Follow.Kind.NETWORK,
    Follow.Kind.GOAL,
    Follow.Kind.SEARCH,
]


@dataclass
class Item:
    """One new thing: `kind` is report, edit, comment, question, published or event."""

    kind: str
    key: tuple  # what it is, so that two follows reaching it tell it once
    when: datetime
    title: str  # of the initiative or event
    url: str  # absolute
    text: str = ""  # a comment's excerpt
    by: str = ""  # who wrote a comment
    starts: datetime | None = None  # an event's start


@dataclass
class Group:
    """What is new about one follow, with the link that stops just that follow."""

    follow: Follow
    items: list[Item] = field(default_factory=list)
    url: str = ""  # the followed thing's page (or the list with the saved search)
    unsubscribe_url: str = ""


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def news(user, since: datetime | None, until: datetime) -> list[Group]:
    """What is new for `user` after `since` (None: since each follow was made) up to and
    including `until`: a group per follow that has something, in a constant number of
    queries (a saved search with text adds the engine's text search, which it caches).
    Links are in the active language: call it inside translation.override."""
    follows = sorted(
        Follow.objects.filter(user=user).select_related(
            "initiative", "organisation", "network", "goal"
        ),
        key=lambda follow: (KIND_ORDER.index(follow.kind), follow.created, follow.pk),
    )
    if not follows:
        return []

    def start(follow: Follow) -> datetime:
        return max(since, follow.created) if since else follow.created

    # One query per kind of thing for all the follows at once, from the earliest start;
    # each follow then takes what is after its own start.
    window = {"created__gt": min(start(follow) for follow in follows), "created__lte": until}
    by_kind: dict[str, list[Follow]] = defaultdict(list)
    for follow in follows:
        by_kind[follow.kind].append(follow)

    about = _about_initiatives(user, {f.initiative_id for f in by_kind["initiative"]}, window)
    networks = {f.network_id for f in by_kind["network"]}
    published = {}
    if any(by_kind[kind] for kind in ("organisation", "network", "goal", "search")):
        published = _newly_published(user, window)
    organisations_of = _organisations_of(published) if by_kind["organisation"] or networks else {}
    goals_of = _goals_of(published) if by_kind["goal"] else {}
    members, events = _networks(networks, window) if networks else ({}, defaultdict(list))

    catalogue = engine.engine() if by_kind["search"] and published else None
    groups, told = [], set()
    for follow in follows:
        after = start(follow)
        if follow.kind == Follow.Kind.INITIATIVE:
            items = about.get(follow.initiative_id, [])
            url = follow.initiative.get_absolute_url()
        elif follow.kind == Follow.Kind.ORGANISATION:
            items = [
                item
                for pk, item in published.items()
                if follow.organisation_id in organisations_of.get(pk, ())
            ]
            url = follow.organisation.get_absolute_url()
        elif follow.kind == Follow.Kind.NETWORK:
            member_organisations = members.get(follow.network_id, set())
            items = events[follow.network_id] + [
                item
                for pk, item in published.items()
                if member_organisations & organisations_of.get(pk, set())
            ]
            url = follow.network.get_absolute_url()
        elif follow.kind == Follow.Kind.GOAL:
            items = [
                item for pk, item in published.items() if follow.goal_id in goals_of.get(pk, ())
            ]
            url = reverse("initiatives:goal", args=[follow.goal.number])
        else:
            recent = [pk for pk, item in published.items() if item.when > after]
            matching = published_matching(follow.search, recent, catalogue) if recent else set()
            items = [published[pk] for pk in recent if pk in matching]
            url = reverse("initiatives:list") + (f"?{follow.search}" if follow.search else "")
        items = sorted(
            (item for item in items if item.when > after and item.key not in told),
            key=lambda item: (item.when, item.key),
        )
        if items:
            told.update(item.key for item in items)
            groups.append(Group(follow, items, absolute(url), unsubscribe_url(user, follow)))
    return groups


def _about_initiatives(user, ids: set[int], window: dict) -> dict[int, list[Item]]:
    """New progress reports, edits and shown comments on the published initiatives `ids`,
    by others than `user`: three queries."""
    found: dict[int, list[Item]] = defaultdict(list)
    if not ids:
        return found
    scope = {"initiative__in": ids, "initiative__status": PUBLISHED, **window}
    initiative_only = ("initiative__slug", "initiative__title")
    reports = (
        ProgressReport.objects.filter(**scope)
        .exclude(written_by=user)
        .select_related("initiative")
        .only("created", "initiative", *initiative_only)
    )
    for report in reports:
        found[report.initiative_id].append(_item("report", report, report.initiative))
    # Edits while published (a row from published to published); several in one window
    # are told as one, at the latest.
    edits = (
        InitiativeStatusChange.objects.filter(from_status=PUBLISHED, to_status=PUBLISHED, **scope)
        .exclude(changed_by=user)
        .select_related("initiative")
        .only("created", "initiative", *initiative_only)
        .order_by("created", "pk")
    )
    latest = {edit.initiative_id: edit for edit in edits}
    for edit in latest.values():
        found[edit.initiative_id].append(
            _item("edit", edit, edit.initiative, key=("edit", edit.initiative_id, edit.pk))
        )
    comments = (
        Comment.objects.shown()
        .filter(deleted_at__isnull=True, **scope)
        .exclude(author=user)
        # Mailed to them at once already (ideabank.comments.notify): replies to their own
        # comments, and comments on initiatives their organisation leads.
        .exclude(parent__author=user)
        .exclude(initiative__lead_organisation__in=Organisation.objects.acting_for(user))
        .select_related("initiative", "author", "organisation")
    )
    for comment in comments:
        item = _item(comment.kind, comment, comment.initiative, key=("comment", comment.pk))
        item.text = _excerpt(comment.body)
        item.by = _writer(comment)
        found[comment.initiative_id].append(item)
    return found


def _newly_published(user, window: dict) -> dict[int, Item]:
    """The initiatives published in the window (not an edit while published) that are still
    published now, by id, but not those `user` wrote (they were told it was published):
    one query."""
    moves = (
        InitiativeStatusChange.objects.filter(
            to_status=PUBLISHED, initiative__status=PUBLISHED, **window
        )
        .exclude(from_status=PUBLISHED)
        .exclude(initiative__created_by=user)
        .select_related("initiative")
        .only("created", "initiative", "initiative__slug", "initiative__title")
        .order_by("created", "pk")
    )
    # Published, withdrawn and published again: told once, at the latest publication.
    return {
        move.initiative_id: _item(
            "published", move, move.initiative, key=("initiative", move.initiative_id)
        )  # fmt: skip
        for move in moves
    }


def _organisations_of(published: dict[int, Item]) -> dict[int, set[int]]:
    """The organisations that lead or take part in each of `published`: one query."""
    if not published:
        return {}
    found: dict[int, set[int]] = defaultdict(set)
    for pk, lead in Initiative.objects.filter(pk__in=published).values_list(
        "pk", "lead_organisation_id"
    ):
        found[pk].add(lead)
    for pk, organisation in Participation.objects.filter(initiative__in=published).values_list(
        "initiative_id", "organisation_id"
    ):
        found[pk].add(organisation)
    return found


def _goals_of(published: dict[int, Item]) -> dict[int, set[int]]:
    if not published:
        return {}
    found: dict[int, set[int]] = defaultdict(set)
    through = Initiative.goals.through.objects.filter(initiative__in=published)
    for pk, goal in through.values_list("initiative_id", "goal_id"):
        found[pk].add(goal)
    return found


def _networks(ids: set[int], window: dict) -> tuple[dict[int, set[int]], dict[int, list[Item]]]:
    """Each network's public member organisations (Membership.public) and its new events (not called off)."""
    members: dict[int, set[int]] = defaultdict(set)
    for network, organisation in (
        Membership.objects.public()
        .filter(network__in=ids)
        .values_list("network_id", "organisation_id")
    ):
        members[network].add(organisation)
    events: dict[int, list[Item]] = defaultdict(list)
    for event in Event.objects.filter(
        organiser_network__in=ids, cancelled_at__isnull=True, **window
    ).only("created", "slug", "title", "starts_at", "organiser_network"):
        item = _item("event", event, event, key=("event", event.pk))
        item.starts = event.starts_at
        events[event.organiser_network_id].append(item)
    return members, events


def _item(kind: str, row, thing, key: tuple | None = None) -> Item:
    return Item(
        kind=kind,
        key=key or (kind, row.pk),
        when=row.created,
        title=thing.title,
        url=absolute(thing.get_absolute_url()),
    )


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + "…"


def _writer(comment: Comment) -> str:
    # As the page shows a comment: the writer's name and whom they wrote for, never the
    # address.
    name = comment.author.get_full_name() if comment.author else ""
    organisation = comment.organisation.name if comment.organisation else ""
    return ", ".join(part for part in (name, organisation) if part)


# --- Sending: claim the window, then mail it ---------------------------------------------


def wants_mail(profile: Profile) -> bool:
    """Whether follow mails may go to this person at all (their watermark moves either way)."""
    user = profile.user
    return (
        profile.follow_mail != FollowMail.NEVER
        and user.is_active
        and bool(user.email)
        and profile.email_confirmed
    )


def notify(profile: Profile, until: datetime, *, instant: bool) -> bool:
    """Claim `profile`'s window, from its watermark as read (profile.follow_notices_until)
    up to `until`, and queue the mail telling what is new in it; whether a mail was queued.

    The claim is one conditional UPDATE: if another worker has moved the watermark since
    `profile` was read, nothing happens here. The mail is written in the same transaction,
    so a failure takes the claim back. Nothing new, or no mail wanted: the watermark moves
    all the same, so what happened meanwhile is never told later.
    """
    old = profile.follow_notices_until
    if old is not None and old >= until:
        return False
    with transaction.atomic():
        mine = Profile.objects.filter(pk=profile.pk)
        mine = mine.filter(follow_notices_until=old) if old else mine.filter(follow_notices_until__isnull=True)  # fmt: skip
        if not mine.update(follow_notices_until=until):
            return False  # another worker has this window
        profile.follow_notices_until = until
        if not wants_mail(profile):
            return False
        user = profile.user
        template = "email/follow_notice" if instant else "email/follow_digest"
        with translation.override(profile.language):
            groups = news(user, old, until)
            if not groups:
                return False
            stop_all = unsubscribe_url(user)
            context = {
                "site_name": settings.SITE_NAME,
                "site_url": settings.SITE_URL,
                "user": user,
                "groups": groups,
                "first": groups[0].items[0],
                "count": sum(len(group.items) for group in groups),
                "unsubscribe_all_url": stop_all,
                "profile_url": absolute(reverse("accounts:profile")),
            }
            subject = render_to_string(f"{template}_subject.txt", context)
            body = render_to_string(f"{template}.txt", context)
        queue_mail(
            Recipient(user.email, profile.language),
            subject,
            body,
            template=template,
            unsubscribe_url=stop_all,
        )
    return True


def _has_follows():
    return Exists(Follow.objects.filter(user=OuterRef("user")))


def send_instant(now: datetime | None = None) -> int:
    """The instant mails: everyone who chose them and follows something; how many mails."""
    until = (now or timezone.now()) - MARGIN
    people = Profile.objects.filter(_has_follows(), follow_mail=FollowMail.INSTANT).filter(
        Q(follow_notices_until__isnull=True) | Q(follow_notices_until__lt=until)
    )
    # This runs every few minutes: when nothing followable happened since the oldest
    # watermark, a few cheap queries spare looking at each person (their windows wait).
    oldest = people.aggregate(
        oldest=Min("follow_notices_until"), unset=Count("pk", filter=Q(follow_notices_until=None))
    )
    if oldest["oldest"] and not oldest["unset"] and not _anything_since(oldest["oldest"], until):
        return 0
    return _run(people, until, instant=True)


def _anything_since(after: datetime, until: datetime) -> bool:
    """Whether anything a follow could tell happened in the window (a rough, cheap check)."""
    window = {"created__gt": after, "created__lte": until}
    return any(
        rows.filter(**window).exists()
        for rows in (
            InitiativeStatusChange.objects.filter(to_status=PUBLISHED),
            ProgressReport.objects.all(),
            Comment.objects.filter(initiative__isnull=False),
            Event.objects.filter(organiser_network__isnull=False),
        )
    )


def send_weekly(now: datetime | None = None) -> int:
    """The weekly digests due: for everyone who chose them (or no mail: their watermark
    moves) and whose last one is a week old, or who never had one; how many mails."""
    until = (now or timezone.now()) - MARGIN
    people = Profile.objects.filter(
        _has_follows(), follow_mail__in=[FollowMail.WEEKLY, FollowMail.NEVER]
    ).filter(Q(follow_notices_until__isnull=True) | Q(follow_notices_until__lte=until - WEEK))
    return _run(people, until, instant=False)


def _run(people, until: datetime, *, instant: bool) -> int:
    """notify() each of `people`, a batch at a time; one person's failure is logged and
    the rest go on (their window stays unclaimed, so the next run tries again)."""
    sent, last = 0, 0
    while True:
        batch = list(people.filter(pk__gt=last).select_related("user").order_by("pk")[:BATCH])
        if not batch:
            return sent
        for profile in batch:
            try:
                sent += notify(profile, until, instant=instant)
            except Exception:
                logger.exception("Could not send follow mail to profile %s", profile.pk)
        last = batch[-1].pk


# --- Waking the instant run when something followable happens ------------------------


def wake_instant() -> None:
    """After the commit, ask the worker for an instant run (once per transaction)."""
    pending = getattr(connection, "run_on_commit", [])
    if any(callback is _enqueue_instant for _ids, callback, *_rest in pending):
        return
    transaction.on_commit(_enqueue_instant)


def _enqueue_instant() -> None:
    from ideabank.tasks import send_instant_notices

    # The commit has happened: a queue that is down must not fail the request (the
    # periodic run comes within minutes).
    try:
        task = send_instant_notices
        if task.get_backend().supports_defer:
            # A run now would stop at now - MARGIN, before what just happened.
            task = task.using(run_after=timezone.now() + MARGIN + timedelta(seconds=5))
        task.enqueue()
    except Exception:
        logger.exception("Could not queue the instant follow mails")


def _on_status_change(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw and instance.to_status == PUBLISHED:
        wake_instant()  # a publication, or an edit while published


def _on_created(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        wake_instant()


def _on_comment(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw and instance.initiative_id:
        wake_instant()


def _on_event(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw and instance.organiser_network_id:
        wake_instant()


def connect_signals() -> None:
    """Called from IdeabankConfig.ready()."""
    post_save.connect(_on_status_change, sender=InitiativeStatusChange, dispatch_uid="notices.status")  # fmt: skip
    post_save.connect(_on_created, sender=ProgressReport, dispatch_uid="notices.report")
    post_save.connect(_on_comment, sender=Comment, dispatch_uid="notices.comment")
    post_save.connect(_on_event, sender=Event, dispatch_uid="notices.event")
