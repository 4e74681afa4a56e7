"""Networks, memberships, working groups, events, presentations and registrations."""

import logging
import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.db.models import CASCADE, Count, Exists, F, OuterRef, ProtectedError, Q, Subquery
from django.db.models.functions import Coalesce, ExtractYear, Lower
from django.db.models.lookups import Exact
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ideabank.email import Recipient, send_to
from ideabank.models import email_confirmed, text_language_field
from initiatives.models import (
    ASK_AGAIN_AFTER,
    ActorType,
    AskedTooSoon,
    County,
    FocusArea,
    Goal,
    IllegalTransition,
    Initiative,
    Organisation,
    OrganisationMember,
    Participation,
    Scope,
    TimeStampedModel,
    can_moderate,
    moderators,
)
from networks.ical import cancellation_calendar

logger = logging.getLogger(__name__)


class NetworkQuerySet(models.QuerySet):
    def with_counts(self) -> "NetworkQuerySet":
        """Annotate `member_count` (active memberships of approved organisations: the
        members the public sees) and `subgroup_count`, in the query that reads the networks.

        Subqueries rather than joins, so the two counts do not multiply each other.
        """
        members = (
            Membership.objects.public()
            .filter(network=OuterRef("pk"))
            .order_by()
            .values("network")
            .annotate(n=Count("pk"))
            .values("n")
        )
        subgroups = (
            Network.objects.filter(parent=OuterRef("pk"))
            .order_by()
            .values("parent")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return self.annotate(
            member_count=Coalesce(Subquery(members), 0),
            subgroup_count=Coalesce(Subquery(subgroups), 0),
        )

    def in_families(self) -> "NetworkQuerySet":
        """Each network followed by its sub-groups: by the top network's name, then the
        network itself before its sub-groups, then name."""
        return self.annotate(
            family_name=Coalesce("parent__name", "name"),
            family_id=Coalesce("parent_id", "id"),
        ).order_by("family_name", "family_id", F("parent_id").asc(nulls_first=True), "name")


class Network(TimeStampedModel):
    """A network of organisations; a network with a parent is a sub-group."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220, unique=True)
    language = text_language_field()
    parent = models.ForeignKey(
        "self",
        # A sub-group has members and events of its own: it is moved or deleted on its own.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subgroups",
        verbose_name=_("part of network"),
    )
    scope = models.CharField(_("scope"), max_length=20, choices=Scope.choices)
    county = models.ForeignKey(
        County,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="networks",
        verbose_name=_("county"),
    )
    coordinator = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="coordinated_networks",
        verbose_name=_("coordinating organisation"),
    )
    description = models.TextField(_("purpose and description"))
    membership_criteria = models.TextField(_("membership criteria"), blank=True)
    meeting_rhythm = models.CharField(
        _("meeting rhythm"), max_length=200, blank=True, help_text=_("For example “twice a year”.")
    )
    focus_areas = models.ManyToManyField(
        FocusArea, related_name="networks", blank=True, verbose_name=_("focus areas")
    )
    goals = models.ManyToManyField(
        Goal, related_name="networks", blank=True, verbose_name=_("SDG goals")
    )
    contact_name = models.CharField(_("contact person"), max_length=150, blank=True)
    contact_role = models.CharField(_("contact person's role"), max_length=150, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    members = models.ManyToManyField(
        Organisation,
        through="Membership",
        related_name="networks",
        verbose_name=_("members"),
    )

    objects = NetworkQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("network")
        verbose_name_plural = _("networks")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("networks:network", args=[self.slug])

    @property
    def coordinating_organisation(self) -> Organisation | None:
        """The network's coordinator; a sub-group without one of its own is coordinated by
        its parent's. Its active members decide on requests to join."""
        network, seen = self, set()
        while network is not None and network.pk not in seen:
            if network.coordinator_id is not None:
                return network.coordinator
            seen.add(network.pk)
            network = network.parent
        return None

    def is_managed_by(self, user) -> bool:
        """Moderators, and active members of the coordinating organisation: they decide on
        requests to join and run the network's campaigns."""
        if can_moderate(user):
            return True
        if not user.is_authenticated:
            return False
        coordinating = self.coordinating_organisation
        return (
            coordinating is not None
            and OrganisationMember.objects.active()
            .filter(user=user, organisation=coordinating)
            .exists()
        )

    def clean(self) -> None:
        ancestor, seen = self.parent, set()
        while ancestor is not None and ancestor.pk not in seen:
            if self.pk is not None and ancestor.pk == self.pk:
                raise ValidationError(
                    {
                        "parent": _(
                            "A network cannot be a sub-group of itself or of its own sub-groups."
                        )
                    }
                )
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
        # One level of sub-groups, as in the networks this serves; the pages show a network
        # with its sub-groups and count the sub-groups' coordinators from their parent.
        if self.parent is not None and self.parent.parent_id is not None:
            raise ValidationError(
                {
                    "parent": _(
                        "A sub-group cannot have sub-groups of its own: choose a main network."
                    )
                }
            )
        if self.parent is not None and self.pk is not None and self.subgroups.exists():
            raise ValidationError(
                {"parent": _("This network has sub-groups, so it cannot be a sub-group itself.")}
            )


def protect_live_memberships(collector, field, sub_objs, using) -> None:
    """on_delete for Membership.network: a network with active memberships or requests to
    join is not deleted (ProtectedError, which the admin shows as the reason): the members
    are told when their memberships end (Membership.end), the requesters when declined.
    Ended and declined memberships, already told, go with the network."""
    live = list(sub_objs.filter(status__in=[Membership.Status.REQUESTED, Membership.Status.ACTIVE]))
    if live:
        raise ProtectedError(
            f"Cannot delete the network: it has {len(live)} active memberships or requests "
            f"to join ('{field.model.__name__}.{field.name}'); end or decline them first.",
            live,
        )
    CASCADE(collector, field, sub_objs, using)


class MembershipQuerySet(models.QuerySet):
    def active(self) -> "MembershipQuerySet":
        return self.filter(status=Membership.Status.ACTIVE)

    def public(self) -> "MembershipQuerySet":
        """The members the public sees: active memberships of approved organisations."""
        return self.active().filter(organisation__status=Organisation.Status.APPROVED)

    def requested(self) -> "MembershipQuerySet":
        return self.filter(status=Membership.Status.REQUESTED)


class Membership(TimeStampedModel):
    """An organisation's place in a network; joining starts as a request the coordinating
    organisation (or a moderator) decides on."""

    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        COORDINATOR = "coordinator", _("Coordinator")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")
        DECLINED = "declined", _("Declined")

    network = models.ForeignKey(
        Network,
        on_delete=protect_live_memberships,
        related_name="memberships",
        verbose_name=_("network"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="network_memberships",
        verbose_name=_("organisation"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.MEMBER)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REQUESTED
    )
    since = models.DateField(_("member since"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    declined_at = models.DateTimeField(_("declined at"), null=True, blank=True)
    # Who asked on the organisation's behalf: they are told when the request is decided.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["network__name", "organisation__name"]
        verbose_name = _("network membership")
        verbose_name_plural = _("network memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["network", "organisation"],
                name="membership_unique",
                violation_error_message=_("This organisation is already listed in the network."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} – {self.network}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_requested(self) -> bool:
        return self.status == self.Status.REQUESTED

    def approve(self, *, by) -> None:
        """Let a requesting organisation in, a member from today; the requester is e-mailed.

        Approving an active membership does nothing; an ended one is not a request."""
        if self.is_active:
            return
        if not self.is_requested:
            raise IllegalTransition(_("Only a request to join can be approved."))
        with transaction.atomic():
            self.status = self.Status.ACTIVE
            self.since = timezone.localdate()
            self.approved_by = by
            self.ended_at = None
            self.save(update_fields=["status", "since", "approved_by", "ended_at", "updated"])
            self._tell_requester("email/network_membership_approved")

    def decline(self, *, by) -> None:
        """Refuse a request: the row stays, declined now, so the organisation may ask again
        only after ASK_AGAIN_AFTER; the requester is e-mailed. `by` is the coordinator or
        moderator deciding."""
        if not self.is_requested:
            raise IllegalTransition(
                _("Only a request to join can be declined; end a membership in the admin.")
            )
        with transaction.atomic():
            self.status = self.Status.DECLINED
            self.declined_at = timezone.now()
            self.save(update_fields=["status", "declined_at", "updated"])
            self._tell_requester("email/network_membership_declined")

    def end(self, *, by) -> None:
        """End an active membership (the organisation has left, or was taken off the list):
        the row stays, with when it ended, so the organisation may ask again later. The
        organisation's active members are e-mailed. Ending an ended membership does nothing;
        a request is declined instead. `by` is the moderator or coordinator ending it."""
        with transaction.atomic():
            current = Membership.objects.select_for_update().get(pk=self.pk)
            self.status = current.status
            if self.status == self.Status.ENDED:
                return
            if not self.is_active:
                raise IllegalTransition(
                    _("Only an active membership can be ended; decline a request instead.")
                )
            self.status = self.Status.ENDED
            self.ended_at = timezone.now()
            self.save(update_fields=["status", "ended_at", "updated"])
            send_to(
                "email/network_membership_ended",
                {"membership": self, "network": self.network, "organisation": self.organisation},
                _active_members(self.organisation_id),
            )

    def _tell_requester(self, template: str) -> None:
        """E-mail the person who asked, in their language; when they are gone (or the
        request was made in the admin), the organisation's active members instead."""
        context = {"membership": self, "network": self.network, "organisation": self.organisation}
        if not send_to(template, context, [self.requested_by]):
            send_to(template, context, _active_members(self.organisation_id))


def _active_members(organisation_id) -> list:
    """The users of an organisation's active memberships, ready for send_to."""
    members = OrganisationMember.objects.active().filter(organisation=organisation_id)
    return [member.user for member in members.select_related("user__profile")]


def request_network_membership(user, network: Network, organisation: Organisation) -> Membership:
    """Ask, for `organisation`, to join `network` (or sub-group). The active members of the
    coordinating organisation are e-mailed in their languages, or the moderators when it
    has none. A former member (ended) may ask again, and so may an organisation declined
    more than ASK_AGAIN_AFTER ago; declined more recently, AskedTooSoon is raised.

    Asking while a request or membership exists returns that row and tells nobody: the
    coordinators get one mail per request, however often the button is pressed.
    """
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            network=network,
            organisation=organisation,
            defaults={"status": Membership.Status.REQUESTED, "requested_by": user},
        )
        if not created:
            # Locked, so two clicks at once cannot both turn an old row into a new request.
            membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if (
            membership.status == Membership.Status.DECLINED
            and membership.declined_at is not None
            and timezone.now() < membership.declined_at + ASK_AGAIN_AFTER
        ):
            raise AskedTooSoon(membership.declined_at)
        if not created and membership.status in (
            Membership.Status.ENDED,
            Membership.Status.DECLINED,
        ):
            membership.status = Membership.Status.REQUESTED
            membership.requested_by = user
            membership.declined_at = None
            membership.save(update_fields=["status", "requested_by", "declined_at", "updated"])
            created = True
        if created:
            context = {
                "membership": membership,
                "network": network,
                "organisation": organisation,
                "requester": user.get_full_name() or user.email or user.get_username(),
            }
            coordinating = network.coordinating_organisation
            told = coordinating is not None and send_to(
                "email/network_membership_requested", context, _active_members(coordinating.pk)
            )
            if not told:
                send_to("email/network_membership_requested", context, moderators())
    return membership


# Working groups count their year, and events show their times, in Norwegian time.
OSLO = ZoneInfo("Europe/Oslo")


class WorkingGroupQuerySet(models.QuerySet):
    def with_progress(self, *, now: datetime | None = None) -> "WorkingGroupQuerySet":
        """Annotate `meetings_held` and `open_events_held`: the group's own events of that
        kind that have ended (before `now`) within the group's year, counted in Oslo time.

        One query for any number of groups; events of other kinds, other groups, other
        years, still to come or cancelled do not count.
        """
        now = now or timezone.now()

        def held(kind: str) -> Count:
            return Count(
                "events",
                filter=Q(
                    Exact(ExtractYear("events__ends_at", tzinfo=OSLO), F("year")),
                    events__kind=kind,
                    events__ends_at__lt=now,
                    events__cancelled_at__isnull=True,
                ),
            )

        return self.annotate(
            meetings_held=held(Event.Kind.MEETING),
            open_events_held=held(Event.Kind.OPEN_EVENT),
        )

    def with_next_event(self, *, now: datetime | None = None) -> "WorkingGroupQuerySet":
        """Prefetch each group's next event not called off (`next_event` reads it): one
        query for any number of groups. An event under way still counts as next."""
        upcoming = Event.objects.upcoming(now=now).filter(cancelled_at__isnull=True)
        return self.prefetch_related(
            models.Prefetch("events", queryset=upcoming[:1], to_attr="next_events")
        )


class WorkingGroup(TimeStampedModel):
    """A thematic group set up for one year at a time (seed 000)."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220, unique=True)
    language = text_language_field()
    focus_area = models.ForeignKey(
        FocusArea,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="working_groups",
        verbose_name=_("focus area"),
    )
    host_network = models.ForeignKey(
        Network,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="working_groups",
        verbose_name=_("host network"),
    )
    host_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hosted_working_groups",
        verbose_name=_("host organisation"),
    )
    mandate = models.TextField(_("mandate"))
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    required_meetings = models.PositiveSmallIntegerField(_("required meetings per year"), default=6)
    required_open_events = models.PositiveSmallIntegerField(
        _("required open events per year"), default=1
    )
    proposed_initiatives = models.ManyToManyField(
        Initiative,
        related_name="proposed_by_working_groups",
        blank=True,
        verbose_name=_("initiatives proposed by the group"),
    )

    objects = WorkingGroupQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "name"]
        verbose_name = _("working group")
        verbose_name_plural = _("working groups")
        constraints = [
            models.CheckConstraint(
                condition=Q(host_network__isnull=False) | Q(host_organisation__isnull=False),
                name="working_group_has_host",
                violation_error_message=_(
                    "A working group needs a host network or a host organisation."
                ),
            ),
            models.CheckConstraint(
                condition=Q(year__gte=2000, year__lte=2100),
                name="working_group_year_range",
                violation_error_message=_("The year must be between 2000 and 2100."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.year})"

    def get_absolute_url(self) -> str:
        return reverse("networks:working_group", args=[self.slug])

    @property
    def period_start(self) -> date:
        """A group is set up for one calendar year at a time: its period is that year."""
        return date(self.year, 1, 1)

    @property
    def period_end(self) -> date:
        return date(self.year, 12, 31)

    # The properties below read the counts that `WorkingGroup.objects.with_progress()` adds.

    @property
    def meetings_met(self) -> bool:
        return self.meetings_held >= self.required_meetings

    @property
    def open_events_met(self) -> bool:
        return self.open_events_held >= self.required_open_events

    @property
    def requirements_met(self) -> bool:
        """The year's mandate is fulfilled: enough meetings and enough open events held."""
        return self.meetings_met and self.open_events_met

    @property
    def next_event(self) -> "Event | None":
        """The group's next event, from `WorkingGroup.objects.with_next_event()`."""
        return self.next_events[0] if self.next_events else None


class WorkingGroupMember(TimeStampedModel):
    class Role(models.TextChoices):
        LEADER = "leader", _("Leader")
        MEMBER = "member", _("Member")

    working_group = models.ForeignKey(
        WorkingGroup,
        on_delete=models.CASCADE,
        related_name="members",
        verbose_name=_("working group"),
    )
    name = models.CharField(_("name"), max_length=150)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="working_group_seats",
        verbose_name=_("organisation"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="working_group_seats",
        verbose_name=_("user account"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        ordering = ["role", "name"]
        verbose_name = _("working-group member")
        verbose_name_plural = _("working-group members")
        constraints = [
            models.UniqueConstraint(
                fields=["working_group"],
                condition=Q(role="leader"),
                name="working_group_one_leader",
                violation_error_message=_("A working group has one leader."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class RegistrationRefused(Exception):
    """A registration the event does not take; the message says why, for the view to show."""


class EventQuerySet(models.QuerySet):
    def upcoming(self, *, now: datetime | None = None) -> "EventQuerySet":
        """Events not over yet (those under way included), soonest first."""
        now = now or timezone.now()
        return self.filter(ends_at__gt=now).order_by("starts_at", "pk")

    def past(self, *, now: datetime | None = None) -> "EventQuerySet":
        """Events that are over, the latest first."""
        now = now or timezone.now()
        return self.filter(ends_at__lte=now).order_by("-starts_at", "-pk")

    def with_places(self) -> "EventQuerySet":
        """Annotate `confirmed_count`, which `places_left` and `registration_state` read.

        A subquery rather than a join, so it stays right whatever else the list joins.
        """
        confirmed = (
            EventRegistration.objects.filter(
                event=OuterRef("pk"), status=EventRegistration.Status.CONFIRMED
            )
            .order_by()
            .values("event")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return self.annotate(confirmed_count=Coalesce(Subquery(confirmed), 0))


class Event(TimeStampedModel):
    class Kind(models.TextChoices):
        WEBINAR = "webinar", _("Webinar")
        MEETING = "meeting", _("Meeting")
        WORKSHOP = "workshop", _("Workshop")
        CONFERENCE = "conference", _("Conference")
        OPEN_EVENT = "open_event", _("Open event")

    class Registration(models.TextChoices):
        NONE = "none", _("No registration")
        OPEN = "open", _("Registration open")
        CLOSED = "closed", _("Registration closed")

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220, unique=True)
    language = text_language_field()
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    organiser_network = models.ForeignKey(
        Network,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("organising network"),
    )
    organiser_working_group = models.ForeignKey(
        WorkingGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("organising working group"),
    )
    organiser_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organised_events",
        verbose_name=_("organising organisation"),
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    venue = models.CharField(_("venue"), max_length=300, blank=True)
    online_url = models.URLField(_("online link"), max_length=500, blank=True)
    audience = models.ManyToManyField(
        ActorType,
        related_name="events",
        blank=True,
        verbose_name=_("audience"),
        help_text=_("The actor types the event is especially meant for."),
    )
    description = models.TextField(_("description"), blank=True)
    recording_url = models.URLField(_("recording"), max_length=500, blank=True)
    registration = models.CharField(
        _("registration"), max_length=10, choices=Registration.choices, default=Registration.NONE
    )
    capacity = models.PositiveIntegerField(
        _("capacity"), null=True, blank=True, help_text=_("Leave empty for no limit.")
    )
    # Set by Event.cancel only: a called-off event stays, marked, so nothing is lost.
    cancelled_at = models.DateTimeField(
        pgettext_lazy("event", "cancelled at"), null=True, blank=True
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
    )
    cancellation_reason = models.TextField(_("reason for cancelling"), blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [models.Index(fields=["starts_at"], name="event_starts_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gte=F("starts_at")),
                name="event_ends_after_start",
                violation_error_message=_("The event cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(capacity__gt=0),
                name="event_capacity_positive",
                violation_error_message=_(
                    "The capacity must be a positive number, or empty for no limit."
                ),
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        organiser_network__isnull=False,
                        organiser_working_group__isnull=True,
                        organiser_organisation__isnull=True,
                    )
                    | Q(
                        organiser_network__isnull=True,
                        organiser_working_group__isnull=False,
                        organiser_organisation__isnull=True,
                    )
                    | Q(
                        organiser_network__isnull=True,
                        organiser_working_group__isnull=True,
                        organiser_organisation__isnull=False,
                    )
                ),
                name="event_one_organiser",
                violation_error_message=_(
                    "Choose exactly one organiser: a network, a working group or an organisation."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("networks:event", kwargs={"slug": self.slug})

    @property
    def organiser(self) -> Network | WorkingGroup | Organisation | None:
        return self.organiser_network or self.organiser_working_group or self.organiser_organisation

    @property
    def is_over(self) -> bool:
        return self.ends_at <= timezone.now()

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def takes_registrations(self) -> bool:
        """Registration is open and the event is neither over nor cancelled: the page
        shows the form."""
        return (
            self.registration == self.Registration.OPEN
            and not self.is_over
            and not self.is_cancelled
        )

    # The two below read `confirmed_count` from `Event.objects.with_places()`.

    @property
    def places_left(self) -> int | None:
        """Free places; None when the event has no limit."""
        if self.capacity is None:
            return None
        return max(0, self.capacity - self.confirmed_count)

    @property
    def registration_state(self) -> str:
        """One of "cancelled", "none" (open to all), "open", "full" (new registrations
        wait), "closed"."""
        if self.is_cancelled:
            return "cancelled"
        if self.registration == self.Registration.NONE:
            return "none"
        if not self.takes_registrations:
            return "closed"
        return "full" if self.places_left == 0 else "open"

    def register(
        self, *, name: str, email: str, organisation: str = "", language: str | None = None
    ) -> "EventRegistration":
        """Register someone: confirmed while places are left, else on the waiting list.

        Raises RegistrationRefused when the event takes no registrations now, is over, or
        already has this e-mail address (in any case) among its live registrations. The
        registrant is e-mailed in `language` (by default the language active now: the one
        of the event page), which is kept for later e-mails.
        """
        language = language or translation.get_language()
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        email = email.strip()
        with transaction.atomic():
            # Lock the event row before counting: a second registration at the same moment
            # waits here until this one has committed, so it counts this place as taken and
            # the capacity is never exceeded. (SQLite has no row locks but serialises writes.)
            event = Event.objects.select_for_update().get(pk=self.pk)
            event.check_registration(email)
            status = (
                EventRegistration.Status.CONFIRMED
                if event._has_free_place()
                else EventRegistration.Status.WAITING
            )
            try:
                # A savepoint, so the database's own uniqueness check can refuse too
                # (letters SQLite does not fold) without breaking the outer transaction.
                with transaction.atomic():
                    registration = EventRegistration.objects.create(
                        event=event,
                        name=name.strip(),
                        email=email,
                        organisation_name=organisation.strip(),
                        status=status,
                        language=language,
                    )
            except IntegrityError as error:
                raise RegistrationRefused(
                    _("This e-mail address is already registered.")
                ) from error
            registration._send(
                "email/registration_confirmed"
                if status == EventRegistration.Status.CONFIRMED
                else "email/registration_waiting"
            )
        return registration

    def cancel(self, reason: str, *, by) -> int:
        """Call the event off: it is marked cancelled with `reason` (kept, shown on its page
        and in calendars as STATUS:CANCELLED), takes no more registrations, and everyone
        registered or waiting is e-mailed in their registration's language, with a
        METHOD:CANCEL calendar that removes it from their calendar. Returns how many were
        e-mailed. The registrations themselves stay as they were, as a record.

        Cancelling a cancelled event does nothing (and e-mails nobody); an event that is
        over cannot be cancelled (IllegalTransition).
        """
        with transaction.atomic():
            # The same lock Event.register takes: nobody registers while the mails are written.
            event = Event.objects.select_for_update().get(pk=self.pk)
            if event.is_cancelled:
                self.cancelled_at = event.cancelled_at
                return 0
            if event.is_over:
                raise IllegalTransition(
                    _("This event has already taken place, so it cannot be cancelled.")
                )
            self.cancelled_at = timezone.now()
            self.cancelled_by = by
            self.cancellation_reason = reason.strip()
            self.save(
                update_fields=["cancelled_at", "cancelled_by", "cancellation_reason", "updated"]
            )
            told = 0
            for registration in self.registrations.live().order_by("created", "pk"):
                registration.event = self
                with translation.override(registration.language):
                    calendar = cancellation_calendar(self, attendee=registration.email)
                told += send_to(
                    "email/event_cancelled",
                    {
                        "registration": registration,
                        "event": self,
                        "reason": self.cancellation_reason,
                    },
                    [Recipient(registration.email, registration.language)],
                    calendar=calendar,
                )
        return told

    def check_registration(self, email: str) -> None:
        """Raise RegistrationRefused, saying why, when `email` cannot register now: the
        event is cancelled, over, takes no registrations, or has the address already."""
        self._check_open_for_registration()
        if self.has_registration_for(email):
            raise RegistrationRefused(_("This e-mail address is already registered."))

    def has_registration_for(self, email: str, *, other_than=None) -> bool:
        """Whether `email` (in any case) is among the event's live registrations, leaving
        out `other_than` (a registration whose address is being changed)."""
        live = self.registrations.live().filter(email__iexact=email.strip())
        if other_than is not None and other_than.pk is not None:
            live = live.exclude(pk=other_than.pk)
        return live.exists()

    def _check_open_for_registration(self) -> None:
        if self.is_cancelled:
            raise RegistrationRefused(_("This event is cancelled, so it takes no registrations."))
        if self.registration == self.Registration.NONE:
            raise RegistrationRefused(_("This event does not take registrations."))
        if self.registration == self.Registration.CLOSED:
            raise RegistrationRefused(_("Registration for this event is closed."))
        if self.is_over:
            raise RegistrationRefused(_("This event has already taken place."))

    def _has_free_place(self) -> bool:
        if self.capacity is None:
            return True
        confirmed = self.registrations.filter(status=EventRegistration.Status.CONFIRMED)
        return confirmed.count() < self.capacity

    def fill_free_places(self) -> list["EventRegistration"]:
        """After the capacity was raised: move the waiting list up into the new places."""
        if self.is_over or self.is_cancelled:
            return []
        with transaction.atomic():
            Event.objects.select_for_update().filter(pk=self.pk).first()
            self.refresh_from_db(fields=["capacity"])
            return self._fill_free_places()

    def _fill_free_places(self) -> list["EventRegistration"]:
        """Move the oldest waiting registrations up while there is room; the caller holds
        the event's row lock. Each one moved up is told by e-mail."""
        moved = []
        waiting = self.registrations.filter(status=EventRegistration.Status.WAITING)
        for registration in waiting.select_for_update().order_by("created", "pk"):
            if not self._has_free_place():
                break
            registration.status = EventRegistration.Status.CONFIRMED
            registration.save(update_fields=["status", "updated"])
            registration._send("email/registration_moved_up")
            moved.append(registration)
        return moved


class Presentation(TimeStampedModel):
    """An initiative presented at an event."""

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="presentations", verbose_name=_("event")
    )
    initiative = models.ForeignKey(
        Initiative,
        # The programme is the organiser's record: an initiative on it is archived instead.
        on_delete=models.PROTECT,
        related_name="presentations",
        verbose_name=_("initiative"),
    )
    presenter = models.CharField(
        _("presenter"), max_length=200, help_text=_("A name or a role, such as “project leader”.")
    )
    presenter_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="presentations",
        verbose_name=_("presenter's organisation"),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=1)

    class Meta:
        ordering = ["event", "order", "pk"]
        verbose_name = _("presentation")
        verbose_name_plural = _("presentations")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "initiative"],
                name="presentation_once_per_event",
                violation_error_message=_("This initiative is already on the event's programme."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event}: {self.initiative}"


def new_cancel_token() -> str:
    return secrets.token_urlsafe(32)


# A live registration holds a place or waits for one: everything but a cancelled one. The
# database's once-per-address rule and EventRegistrationQuerySet.live() both read this.
LIVE_REGISTRATION = ~Q(status="cancelled")


class EventRegistrationQuerySet(models.QuerySet):
    def live(self) -> "EventRegistrationQuerySet":
        """Confirmed and waiting registrations: those an address may have once per event,
        and those told when the event is cancelled."""
        return self.filter(LIVE_REGISTRATION)


class EventRegistration(TimeStampedModel):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        WAITING = "waiting", _("On the waiting list")
        CANCELLED = "cancelled", _("Cancelled")

    # An event people registered for is cancelled (Event.cancel, which tells them), not deleted.
    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, related_name="registrations", verbose_name=_("event")
    )
    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("e-mail"))
    organisation_name = models.CharField(_("organisation"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.CONFIRMED
    )
    cancel_token = models.CharField(
        _("cancel token"), max_length=64, unique=True, default=new_cancel_token, editable=False
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        # Taken from the registration page, not chosen by whoever edits the row.
        editable=False,
        help_text=_("The language the registrant used; e-mails to them are written in it."),
    )
    cancelled_at = models.DateTimeField(
        pgettext_lazy("registration", "cancelled at"), null=True, blank=True
    )

    objects = EventRegistrationQuerySet.as_manager()

    class Meta:
        ordering = ["event", "created", "pk"]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "event",
                condition=LIVE_REGISTRATION,
                name="registration_once_per_email",
                violation_error_message=_(
                    "This e-mail address is already registered for the event."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} – {self.event}"

    def cancel(self) -> None:
        """Cancel the registration; a confirmed place that frees up goes to the oldest on
        the waiting list, who is e-mailed. Cancelling again does nothing. Once the event is
        over or cancelled nobody moves up: the e-mail would mislead."""
        with transaction.atomic():
            # The event's lock first, in the same order as Event.register, so a cancellation
            # and a registration at the same moment cannot both take the freed place.
            event = Event.objects.select_for_update().get(pk=self.event_id)
            current = EventRegistration.objects.select_for_update().get(pk=self.pk)
            self.status = current.status
            if self.status == self.Status.CANCELLED:
                return
            held_place = self.status == self.Status.CONFIRMED
            self.status = self.Status.CANCELLED
            self.cancelled_at = timezone.now()
            self.save(update_fields=["status", "cancelled_at", "updated"])
            if held_place and not event.is_over and not event.is_cancelled:
                event._fill_free_places()

    @property
    def cancel_url(self) -> str:
        """The link in the e-mails that cancels without signing in, in the registrant's language."""
        with translation.override(self.language):
            path = reverse("networks:registration_cancel", kwargs={"token": self.cancel_token})
        return f"{settings.SITE_URL}{path}"

    def _send(self, template: str) -> None:
        send_to(
            template,
            {"registration": self, "event": self.event, "cancel_url": self.cancel_url},
            [Recipient(self.email, self.language)],
        )


# --- Campaigns ------------------------------------------------------------------


class CampaignQuerySet(models.QuerySet):
    def open(self, *, today: date | None = None) -> "CampaignQuerySet":
        """Campaigns whose deadline has not passed (the deadline day is still open)."""
        return self.filter(deadline__gte=today or timezone.localdate())

    def open_first(self, *, today: date | None = None) -> "CampaignQuerySet":
        """Open campaigns first, the nearest deadline first; then closed ones, the latest
        first."""
        today = today or timezone.localdate()
        return self.annotate(is_closed=Q(deadline__lt=today)).order_by(
            "is_closed",
            models.Case(models.When(deadline__gte=today, then=F("deadline"))).asc(),
            F("deadline").desc(),
            "title",
            "pk",
        )

    def with_progress(self) -> "CampaignQuerySet":
        """Annotate `addressee_count` and `answered_count` (CampaignAddresseeQuerySet.
        with_answered), live from the database, in the query that reads the campaigns."""
        addressees = CampaignAddressee.objects.filter(campaign=OuterRef("pk")).order_by()
        answered = (
            addressees.with_answered()
            .filter(answered=True)
            .values("campaign")
            .annotate(n=Count("pk"))
            .values("n")
        )
        total = addressees.values("campaign").annotate(n=Count("pk")).values("n")
        return self.annotate(
            addressee_count=Coalesce(Subquery(total), 0),
            answered_count=Coalesce(Subquery(answered), 0),
        )


class Campaign(TimeStampedModel):
    """A call to share ("Del en suksesshistorie"): a network, or the moderators, ask the
    organisations it addresses for initiatives on some goals or focus areas by a deadline.
    Each addressed organisation has answered once it leads or partners a published
    initiative that answers the campaign."""

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220, unique=True)
    language = text_language_field()
    text = models.TextField(_("text"), max_length=10000)
    deadline = models.DateField(_("deadline"))
    # The network that runs it; none for a campaign the moderators run for the whole bank.
    network = models.ForeignKey(
        Network,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("network"),
    )
    goals = models.ManyToManyField(
        Goal, related_name="campaigns", blank=True, verbose_name=_("SDG goals")
    )
    focus_areas = models.ManyToManyField(
        FocusArea, related_name="campaigns", blank=True, verbose_name=_("focus areas")
    )
    organisations = models.ManyToManyField(
        Organisation,
        through="CampaignAddressee",
        related_name="addressed_by_campaigns",
        blank=True,
        verbose_name=_("addressed organisations"),
    )
    # The initiatives that answer it (Initiative.campaigns, through the reverse relation:
    # the initiatives app never imports this one).
    initiatives = models.ManyToManyField(
        Initiative, related_name="campaigns", blank=True, verbose_name=_("initiatives")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-deadline", "title"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("networks:campaign", args=[self.slug])

    @property
    def is_open(self) -> bool:
        """The deadline has not passed (CampaignQuerySet.open says the same)."""
        return self.deadline >= timezone.localdate()

    def is_managed_by(self, user) -> bool:
        """Who runs the campaign: edits it, adds addressees and sees who has not answered.
        A network's campaign: whoever manages the network (Network.is_managed_by), with a
        confirmed e-mail address (what they do reaches every organisation asked); the
        moderators' own campaign: moderators only."""
        if self.network is None or can_moderate(user):
            return can_moderate(user)
        return email_confirmed(user) and self.network.is_managed_by(user)

    def answered_initiatives(self) -> models.QuerySet:
        """The published initiatives that answer the campaign: the only ones anybody sees."""
        return self.initiatives.published()

    def invite_after_commit(self) -> None:
        """Once the change commits, mail the members of every addressed organisation not yet
        invited (networks.tasks.invite_campaign_addressees); the request never waits for it."""
        campaign_id = self.pk

        def enqueue() -> None:
            from networks.tasks import invite_campaign_addressees

            # After the commit: a queue that is down must not fail the request that saved
            # the campaign. Nobody is marked invited, so the admin's "send invitations"
            # (or the next save) sends them later.
            try:
                invite_campaign_addressees.enqueue(campaign_id)
            except Exception:
                logger.exception("Could not queue the invitations of campaign %s", campaign_id)

        transaction.on_commit(enqueue)


class CampaignAddresseeQuerySet(models.QuerySet):
    def with_answered(self) -> "CampaignAddresseeQuerySet":
        """Annotate `answered`: the organisation leads or is a partner in a published
        initiative that answers the campaign. Read live (Exists), so submitting, publishing
        and withdrawing are right at once, with no counter to keep in step."""
        answers = Initiative.objects.filter(
            status=Initiative.Status.PUBLISHED, campaigns=OuterRef("campaign")
        )
        partnered = Participation.objects.filter(
            organisation=OuterRef("organisation"),
            initiative__status=Initiative.Status.PUBLISHED,
            initiative__campaigns=OuterRef("campaign"),
        )
        return self.annotate(
            answered=Exists(answers.filter(lead_organisation=OuterRef("organisation")))
            | Exists(partnered)
        )


class CampaignAddressee(models.Model):
    """An organisation a campaign asks; `invited_at` once its members were mailed, so an
    organisation added later is invited without inviting the others twice."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="addressees", verbose_name=_("campaign")
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="campaign_addresses",
        verbose_name=_("organisation"),
    )
    invited_at = models.DateTimeField(_("invited at"), null=True, blank=True)

    objects = CampaignAddresseeQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name"]
        verbose_name = _("addressed organisation")
        verbose_name_plural = _("addressed organisations")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "organisation"], name="campaign_addressee_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.campaign})"
