"""The bank: taxonomy, places, organisations, initiatives, moderation and adoption."""

import calendar
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import PurePath

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, router, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Cast, Coalesce
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from reversion.models import Version
from taggit.managers import TaggableManager

from ideabank.email import send_to
from ideabank.models import email_confirmed, text_language_field


def in_active_language(nb: str, en: str) -> str:
    """The English text when English is active and the text exists, otherwise Bokmål."""
    if (get_language() or "").startswith("en") and en:
        return en
    return nb


class FacetKeysField(ArrayField):
    """PostgreSQL's integer array; elsewhere an unused, always empty column.

    The array's SQL cast would break SQLite's statements, so it is left out there.
    """

    def get_placeholder(self, value, compiler, connection) -> str:
        if connection.vendor != "postgresql":
            return "%s"
        return super().get_placeholder(value, compiler, connection)


class TimeStampedModel(models.Model):
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class Scope(models.TextChoices):
    """How far an initiative or a network reaches."""

    LOCAL = "local", _("Local")
    REGIONAL = "regional", _("Regional")
    NATIONAL = "national", _("National")
    NORDIC = "nordic", _("Nordic")


# --- Taxonomy ---------------------------------------------------------------


class Goal(TimeStampedModel):
    """One of the 17 UN Sustainable Development Goals."""

    number = models.PositiveSmallIntegerField(
        _("number"), unique=True, validators=[MinValueValidator(1), MaxValueValidator(17)]
    )
    short_nb = models.CharField(_("short title (Bokmål)"), max_length=100)
    short_en = models.CharField(_("short title (English)"), max_length=100)
    title_nb = models.CharField(_("title (Bokmål)"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300)
    colour = models.CharField(
        _("colour"), max_length=7, validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}$")]
    )

    class Meta:
        ordering = ["number"]
        verbose_name = _("SDG goal")
        verbose_name_plural = _("SDG goals")
        constraints = [
            models.CheckConstraint(
                condition=Q(number__gte=1, number__lte=17), name="goal_number_1_to_17"
            )
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.short}"

    @property
    def short(self) -> str:
        return in_active_language(self.short_nb, self.short_en)

    @property
    def title(self) -> str:
        return in_active_language(self.title_nb, self.title_en)


class Target(TimeStampedModel):
    """A target under a goal, with its public code such as "12.3" or "14.a"."""

    goal = models.ForeignKey(
        Goal, on_delete=models.CASCADE, related_name="targets", verbose_name=_("goal")
    )
    code = models.CharField(_("code"), max_length=6, unique=True)
    position = models.PositiveSmallIntegerField(
        _("position"), help_text=_("Orders 12.2 before 12.10 and numbers before letters.")
    )
    text_nb = models.TextField(_("text (Bokmål)"))
    text_en = models.TextField(_("text (English)"))

    class Meta:
        ordering = ["goal__number", "position"]
        verbose_name = _("SDG target")
        verbose_name_plural = _("SDG targets")

    def __str__(self) -> str:
        return self.code

    @property
    def text(self) -> str:
        return in_active_language(self.text_nb, self.text_en)


class NamedTerm(TimeStampedModel):
    """A small editable list entry with a name in both languages."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name_nb = models.CharField(_("name (Bokmål)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        abstract = True
        ordering = ["position", "name_nb"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return in_active_language(self.name_nb, self.name_en)


class Purpose(NamedTerm):
    """A purpose of collaboration (seed 003's table)."""

    description_nb = models.TextField(_("examples (Bokmål)"), blank=True)
    description_en = models.TextField(_("examples (English)"), blank=True)

    class Meta(NamedTerm.Meta):
        verbose_name = _("purpose of collaboration")
        verbose_name_plural = _("purposes of collaboration")

    @property
    def description(self) -> str:
        return in_active_language(self.description_nb, self.description_en)


class FocusArea(NamedTerm):
    class Meta(NamedTerm.Meta):
        verbose_name = _("focus area")
        verbose_name_plural = _("focus areas")


class ActorType(NamedTerm):
    """A kind of organisation (kindergarten, library, county council ...)."""

    class Group(models.TextChoices):
        """Stakeholder groups of seed 003's stakeholder map."""

        AUTHORITIES = "authorities", _("Authorities")
        SOCIETY = "society", _("Society")
        OWN_UNITS = "own_units", _("Own operating units")
        PRIVATE_SECTOR = "private_sector", _("Private sector")

    group = models.CharField(_("stakeholder group"), max_length=20, choices=Group.choices)

    class Meta(NamedTerm.Meta):
        ordering = ["group", "position", "name_nb"]
        verbose_name = _("actor type")
        verbose_name_plural = _("actor types")


# --- Places -------------------------------------------------------------------


class County(TimeStampedModel):
    number = models.CharField(_("number"), max_length=2, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("county")
        verbose_name_plural = _("counties")

    def __str__(self) -> str:
        return self.name


class Municipality(TimeStampedModel):
    number = models.CharField(_("number"), max_length=4, unique=True)
    name = models.CharField(_("name"), max_length=100)
    county = models.ForeignKey(
        County, on_delete=models.PROTECT, related_name="municipalities", verbose_name=_("county")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")

    def __str__(self) -> str:
        return self.name


# --- Organisations --------------------------------------------------------------


ORGANISATION_NUMBER_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def organisation_number_is_valid(number: str) -> bool:
    """A Norwegian organisation number: nine digits, the last a modulus-11 check digit."""
    if len(number) != 9 or not number.isascii() or not number.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:8], ORGANISATION_NUMBER_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    # A remainder that gives 10 means no valid number has these eight digits.
    return check != 10 and check == int(number[8])


def validate_organisation_number(value: str) -> None:
    from django.core.exceptions import ValidationError

    if not organisation_number_is_valid(value):
        raise ValidationError(
            _(
                "%(value)s is not a valid organisation number: it must be nine digits with a correct check digit."
            ),
            code="invalid_organisation_number",
            params={"value": value},
        )


class OrganisationQuerySet(models.QuerySet):
    def approved(self) -> "OrganisationQuerySet":
        """Organisations a moderator has accepted: the only ones shown to the public."""
        return self.filter(status=Organisation.Status.APPROVED)

    def proposed(self) -> "OrganisationQuerySet":
        """Organisations users proposed that wait for a moderator (the moderators' desk)."""
        return self.filter(status=Organisation.Status.PROPOSED)

    def acting_for(self, user) -> "OrganisationQuerySet":
        """Approved organisations `user` is an active member of: those they may act for in
        public (adopt, join a network, write to a contact in their name)."""
        return self.approved().filter(
            memberships__user=user, memberships__status=OrganisationMember.Status.ACTIVE
        )


class Organisation(TimeStampedModel):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220, unique=True)
    actor_type = models.ForeignKey(
        ActorType,
        on_delete=models.PROTECT,
        related_name="organisations",
        verbose_name=_("actor type"),
    )
    organisation_number = models.CharField(
        _("organisation number"),
        max_length=9,
        blank=True,
        validators=[validate_organisation_number],
        help_text=_("Nine digits, from the Brønnøysund Register Centre. Optional."),
    )
    language = text_language_field()
    municipality = models.ForeignKey(
        Municipality,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        verbose_name=_("municipality"),
    )
    website = models.URLField(_("website"), blank=True)
    description = models.TextField(_("description"), blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="OrganisationMember",
        through_fields=("organisation", "user"),
        related_name="organisations",
        verbose_name=_("members"),
    )
    # Organisations proposed by users wait for a moderator before the public sees them.
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.APPROVED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
    )

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation_number"],
                condition=~Q(organisation_number=""),
                name="organisation_number_unique",
                violation_error_message=_(
                    "Another organisation is already registered with this organisation number."
                ),
            ),
            models.CheckConstraint(
                condition=Q(organisation_number="") | Q(organisation_number__regex=r"^[0-9]{9}$"),
                name="organisation_number_nine_digits",
                violation_error_message=_("The organisation number must be nine digits."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("initiatives:organisation", args=[self.slug])

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED

    def approve(self, *, by) -> None:
        """Accept a proposed organisation: the public may now see it, and initiatives it
        leads may be published; whoever proposed it is told by e-mail in their language.
        `by` is the moderator (kept for the admin's log)."""
        if self.is_approved:
            return
        self.status = self.Status.APPROVED
        self.save(update_fields=["status", "updated"])
        send_to("email/organisation_approved", {"organisation": self}, [self.proposed_by])


# A declined request to join (an organisation or a network) may be made again after this
# long: asking again at once would only mail the deciders the same request, while a month
# lets a changed situation be heard.
ASK_AGAIN_AFTER = timedelta(days=30)


class AskedTooSoon(Exception):
    """A request to join was declined less than ASK_AGAIN_AFTER ago."""

    def __init__(self, declined_at: datetime) -> None:
        self.declined_at = declined_at
        self.ask_again_from = declined_at + ASK_AGAIN_AFTER
        super().__init__(declined_at)


class OrganisationMemberQuerySet(models.QuerySet):
    def active(self) -> "OrganisationMemberQuerySet":
        return self.filter(status=OrganisationMember.Status.ACTIVE)

    def requested(self) -> "OrganisationMemberQuerySet":
        return self.filter(status=OrganisationMember.Status.REQUESTED)

    def without_decider(self) -> "OrganisationMemberQuerySet":
        """Requests to join an organisation that has no active member to decide them: the
        moderators decide these (request_membership e-mails them instead)."""
        deciders = OrganisationMember.objects.active().filter(organisation=OuterRef("organisation"))
        return self.requested().filter(~Exists(deciders))


class OrganisationMember(TimeStampedModel):
    """A user's place in an organisation; joining starts as a request a member approves."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        MEMBER = "member", _("Member")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        ACTIVE = "active", _("Active")
        DECLINED = "declined", _("Declined")

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="memberships",
        verbose_name=_("organisation"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="organisation_memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.MEMBER)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    declined_at = models.DateTimeField(_("declined at"), null=True, blank=True)

    objects = OrganisationMemberQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "user__username"]
        verbose_name = _("organisation member")
        verbose_name_plural = _("organisation members")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "user"],
                name="organisation_member_unique",
                violation_error_message=_("This user is already a member of the organisation."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.organisation})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def approve(self, *, by) -> None:
        """Let a requested member in; they are told by e-mail in their language."""
        if self.is_active:
            return
        if self.status != self.Status.REQUESTED:
            raise IllegalTransition(_("Only a request to join can be approved."))
        self.status = self.Status.ACTIVE
        self.approved_by = by
        self.approved_at = timezone.now()
        self.save(update_fields=["status", "approved_by", "approved_at", "updated"])
        send_to("email/membership_approved", {"membership": self}, [self.user])

    def decline(self, *, by) -> None:
        """Refuse a request: the row stays, declined now, so the person may ask again only
        after ASK_AGAIN_AFTER; they are told by e-mail in their language. Declining a
        declined request does nothing."""
        if self.is_active:
            raise IllegalTransition(_("An active member cannot be declined; remove them instead."))
        if self.status == self.Status.DECLINED:
            return
        self.status = self.Status.DECLINED
        self.declined_at = timezone.now()
        self.save(update_fields=["status", "declined_at", "updated"])
        send_to("email/membership_declined", {"membership": self}, [self.user])


def request_membership(user, organisation: "Organisation") -> OrganisationMember:
    """Ask to join `organisation`; its active members (or, if none, the moderators) are told.

    Asking again while a request or membership exists returns the existing row and tells
    nobody: one mail per request, however often the button is pressed. Declined less than
    ASK_AGAIN_AFTER ago, AskedTooSoon is raised; declined longer ago, it is a new request.
    """
    with transaction.atomic():
        membership, created = OrganisationMember.objects.get_or_create(
            organisation=organisation,
            user=user,
            defaults={"status": OrganisationMember.Status.REQUESTED},
        )
        if not created:
            # Locked, so two clicks at once cannot both turn a declined row into a request.
            membership = OrganisationMember.objects.select_for_update().get(pk=membership.pk)
        if membership.status == OrganisationMember.Status.DECLINED:
            if (
                membership.declined_at is not None
                and timezone.now() < membership.declined_at + ASK_AGAIN_AFTER
            ):
                raise AskedTooSoon(membership.declined_at)
            membership.status = OrganisationMember.Status.REQUESTED
            membership.declined_at = None
            membership.save(update_fields=["status", "declined_at", "updated"])
            created = True
        if created:
            members = organisation.memberships.active().select_related("user__profile")
            context = {"membership": membership}
            if not send_to("email/membership_requested", context, [m.user for m in members]):
                send_to("email/membership_requested", context, moderators())
    return membership


# --- Initiatives ----------------------------------------------------------------


class IllegalTransition(Exception):
    """An initiative was asked to move to a status its current one does not allow."""


# Sent by every status move (Initiative._move) inside its transaction, once the row is
# locked and the move allowed, with `initiative`, `move` (a key of TRANSITIONS) and `by`:
# `status_moving` before anything is written, `status_moved` after. The edit history
# (initiatives.history, connected at start-up) records each move through them, so this
# module need not import it. A receiver that raises undoes the move.
status_moving = Signal()
status_moved = Signal()


# --- Freshness: how long since the owners last showed an initiative is alive ----------


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier, or that month's last day when it has
    no such day (31 August minus 6 months is 28 or 29 February)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def freshness_cutoff(months: int, now: datetime | None = None) -> datetime:
    """An initiative last updated before this moment has gone `months` calendar months
    without an update: the start of the day, in the site's time zone (Europe/Oslo),
    `months` months before today. By whole days, so what is stale or "updated in the last
    year" changes only at midnight (the facet engine keeps that set per day)."""
    zone = timezone.get_default_timezone()
    day = months_before(timezone.localdate(now or timezone.now(), zone), months)
    return datetime.combine(day, time.min, tzinfo=zone)


# "Updated in the last year": the list's facet (initiatives.facets, URL updated=year).
RECENT_MONTHS = 12
# Coalesce: an initiative published before the owners' updates were recorded counts from
# its publication (the migration that added owner_updated_at filled it in the same way).
LAST_OWNER_UPDATE = Coalesce("owner_updated_at", "published_at")


class InitiativeQuerySet(models.QuerySet):
    def published(self) -> "InitiativeQuerySet":
        """Only what the public may see (without the search indexes, which pages never show)."""
        return self.filter(status=Initiative.Status.PUBLISHED).defer("search_vector", "facet_keys")

    def awaiting_review(self) -> "InitiativeQuerySet":
        return self.filter(status=Initiative.Status.SUBMITTED)

    def stale(self, now: datetime | None = None) -> "InitiativeQuerySet":
        """Not updated by their owners for more than FRESHNESS_STALE_MONTHS (Initiative.is_stale)."""
        cutoff = freshness_cutoff(settings.FRESHNESS_STALE_MONTHS, now)
        return self.alias(last_owner_update=LAST_OWNER_UPDATE).filter(last_owner_update__lt=cutoff)

    def updated_recently(self, now: datetime | None = None) -> "InitiativeQuerySet":
        """Updated by their owners in the last RECENT_MONTHS (the list's "updated in the last
        year"; the facet engine holds the same set, initiatives.engine)."""
        cutoff = freshness_cutoff(RECENT_MONTHS, now)
        return self.alias(last_owner_update=LAST_OWNER_UPDATE).filter(last_owner_update__gte=cutoff)

    def with_review_state(self) -> "InitiativeQuerySet":
        """Annotated `changed_since_review`: published, with a recorded version
        (initiatives.history) newer than the one last reviewed, in the same query.

        Newer by the version's id, not its date: a revision is dated when its change
        began, and a change that began before a review but was saved after it is still
        to be reviewed. Ids follow the order the changes were saved in: every version of
        an initiative is written while its row is locked (initiatives.history). An
        initiative published before the history began has no reviewed version; its first
        version (the state it was in then) counts as reviewed.
        """
        versions = Version.objects.filter(
            content_type__app_label="initiatives",
            content_type__model="initiative",
            db=router.db_for_write(Initiative),
            object_id=Cast(OuterRef("pk"), models.CharField()),
        )
        first = models.Subquery(versions.order_by("pk").values("pk")[:1])
        newer = versions.filter(pk__gt=OuterRef("review_version"))
        return self.alias(review_version=Coalesce("reviewed_version", first)).annotate(
            changed_since_review=Q(status=Initiative.Status.PUBLISHED) & Exists(newer)
        )

    def changed_since_review(self) -> "InitiativeQuerySet":
        """The moderators' queue: published initiatives changed since their last review."""
        return self.with_review_state().filter(changed_since_review=True)

    def with_details(self) -> "InitiativeQuerySet":
        """Everything an initiative's page shows of it (the public page, the preview, the
        admin review), read in a fixed number of queries however much there is."""
        return self.select_related(
            "lead_organisation__actor_type", "municipality__county", "county"
        ).prefetch_related(
            models.Prefetch(
                "participations", queryset=Participation.objects.select_related("organisation")
            ),
            models.Prefetch("goals", queryset=Goal.objects.order_by("number")),
            "targets",
            "purposes",
            "actor_types",
            "focus_areas",
            "tags",
            "links",
            "attachments",
        )

    def with_adoptions(self) -> "InitiativeQuerySet":
        return self.prefetch_related(
            models.Prefetch("adoptions", queryset=Adoption.objects.select_related("organisation"))
        )

    def editable_by(self, user) -> "InitiativeQuerySet":
        """What `user` may edit, preview, submit and withdraw on the member pages: what an
        organisation they are an active member of leads, and what they created while it is
        not public (someone who has left the organisation may not change what the public
        reads in its name). Nothing for an account whose e-mail address is not confirmed:
        its work reaches the organisation's colleagues, the moderators and the public.

        Moderators get no more here than anyone: they review in the admin (with Django's
        permissions), so nobody submits, or edits, someone else's work alone."""
        if not user.is_authenticated or not email_confirmed(user):
            return self.none()
        led = OrganisationMember.objects.active().filter(user=user).values("organisation")
        not_public = ~Q(status__in=[Initiative.Status.PUBLISHED, Initiative.Status.ARCHIVED])
        return self.filter(Q(not_public, created_by=user) | Q(lead_organisation__in=led))

    def reportable_by(self, user) -> "InitiativeQuerySet":
        """Published initiatives whose progress reports `user` may write and change: those
        an organisation they are an active member of leads, with their address confirmed
        (editable_by's rule for a published initiative). Only the public is reported on."""
        return self.editable_by(user).filter(status=Initiative.Status.PUBLISHED)

    def with_progress_reports(self) -> "InitiativeQuerySet":
        """The progress reports (newest first) with their indicator figures, in two queries
        however many there are."""
        return self.prefetch_related(
            models.Prefetch(
                "progress_reports",
                queryset=ProgressReport.objects.prefetch_related("indicator_results"),
            )
        )

    def previewable_by(self, user) -> "InitiativeQuerySet":
        """What `user` may look at on the preview page: what they may edit, and for moderators
        what has been sent for review (a draft is its organisation's private work)."""
        if can_moderate(user):
            return self.exclude(status=Initiative.Status.DRAFT) | self.editable_by(user)
        return self.editable_by(user)

    def visible_to(self, user) -> "InitiativeQuerySet":
        """What `user` may see: the published, plus what they may edit, plus the drafts of
        initiatives their organisations are partners in (seen, not edited)."""
        if not user.is_authenticated:
            return self.published()
        if can_moderate(user):
            return self.all()
        mine = OrganisationMember.objects.active().filter(user=user).values("organisation")
        return self.filter(
            Q(status=Initiative.Status.PUBLISHED)
            | Q(created_by=user)
            | Q(lead_organisation__in=mine)
            | Q(pk__in=Participation.objects.filter(organisation__in=mine).values("initiative"))
        )

    def related_to(self, initiative: "Initiative", limit: int = 4) -> list["Initiative"]:
        """Initiatives sharing the most tags, focus areas and goals with `initiative`.

        Scored by the facet engine over the newest published initiatives sharing each
        kind (a bounded window, so the cost does not grow with the bank): a shared tag or
        focus area weighs 2, a shared goal 1; on PostgreSQL a similar title breaks ties.
        """
        from django.core.cache import cache

        from initiatives import search
        from initiatives.engine import engine, in_order

        catalogue = engine()
        # The choice is cached per catalogue version; the rows are always read fresh.
        key = f"initiatives:related:{catalogue.version}:{initiative.pk}:{limit}"
        cached_ids = cache.get(key)
        if cached_ids is not None:
            return in_order(self.select_related("lead_organisation"), cached_ids)

        shared = [
            (2, "tag", [tag.pk for tag in initiative.tags.all()]),
            (2, "focus_area", [focus.pk for focus in initiative.focus_areas.all()]),
            (1, "goal", [goal.number for goal in initiative.goals.all()]),
        ]
        scores = catalogue.sharing(initiative.pk, shared, limit * 5)
        candidates = self.filter(pk__in=scores).select_related("lead_organisation")
        candidates = candidates.annotate(similarity=search.title_similarity(initiative.title))
        ranked = sorted(
            candidates, key=lambda other: (-scores[other.pk] - other.similarity, -other.pk)
        )[:limit]
        cache.set(key, [other.pk for other in ranked], 600)
        return ranked

    def refresh_search_vectors(self) -> None:
        """Recompute what search and facets read: the full-text vectors and facet keys.

        PostgreSQL only (SQLite filters through the relations directly). Call it after
        the relations an initiative's search reads have changed.
        """
        from initiatives import search

        search.refresh_vectors(self)


def attachment_path(instance: "Attachment", filename: str) -> str:
    # Generated names: the uploader's file name is never used on disk.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"attachments/{uuid.uuid4().hex}{suffix}"


def image_path(instance: "Initiative", filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"images/{uuid.uuid4().hex}{suffix}"


class Initiative(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted for review")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")
        ARCHIVED = "archived", _("Archived")

    class Phase(models.TextChoices):
        IDEA = "idea", _("Idea")
        PRE_PROJECT = "pre_project", _("Pre-project")
        PILOT = "pilot", _("Pilot")
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")

    class Involvement(models.TextChoices):
        """OECD's six kinds of stakeholder involvement (seed 003)."""

        COMMUNICATION = "communication", _("Communication")
        CONSULTATION = "consultation", _("Consultation")
        PARTICIPATION = "participation", _("Participation")
        REPRESENTATION = "representation", _("Representation")
        PARTNERSHIP = "partnership", _("Partnership")
        CO_PRODUCTION = "co_production", _("Collaboration and co-production")

    # What each involvement level aims at, from seed 003.
    INVOLVEMENT_AIMS = {
        Involvement.COMMUNICATION: _(
            "Raise awareness and inform the target group about a specific topic."
        ),
        Involvement.CONSULTATION: _(
            "Gather stakeholders' comments, perspectives, information, ideas, advice and experience."
        ),
        Involvement.PARTICIPATION: _(
            "Involve stakeholders in decision-making, discussions and activities."
        ),
        Involvement.REPRESENTATION: _(
            "Anchor shared goals and measures through dialogue with stakeholders, for example with a representative of each in the project's leadership."
        ),
        Involvement.PARTNERSHIP: _(
            "Share resources and competence in a joint project or in meeting a shared challenge."
        ),
        Involvement.CO_PRODUCTION: _(
            "Equal and continuous collaboration on developing and carrying out a project."
        ),
    }

    # The moderation moves: name -> (statuses it may start from, status it ends in).
    TRANSITIONS = {
        "submit": ({Status.DRAFT, Status.REJECTED}, Status.SUBMITTED),
        "publish": ({Status.SUBMITTED, Status.ARCHIVED}, Status.PUBLISHED),
        "reject": ({Status.SUBMITTED}, Status.REJECTED),
        "archive": ({Status.PUBLISHED, Status.REJECTED}, Status.ARCHIVED),
        "withdraw": ({Status.SUBMITTED, Status.PUBLISHED}, Status.DRAFT),
    }

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220, unique=True)
    language = text_language_field()
    summary = models.CharField(
        _("summary"), max_length=500, help_text=_("One or two sentences shown in lists.")
    )
    description = models.TextField(_("description"))
    phase = models.CharField(_("phase"), max_length=20, choices=Phase.choices, default=Phase.IDEA)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, editable=False
    )

    lead_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="led_initiatives",
        verbose_name=_("lead organisation"),
    )
    partners = models.ManyToManyField(
        Organisation,
        through="Participation",
        related_name="partner_initiatives",
        blank=True,
        verbose_name=_("partners"),
    )

    purposes = models.ManyToManyField(
        Purpose, related_name="initiatives", blank=True, verbose_name=_("purposes")
    )
    actor_types = models.ManyToManyField(
        ActorType,
        related_name="initiatives",
        blank=True,
        verbose_name=_("actor types"),
        help_text=_("The kinds of organisation that take part or that the initiative suits."),
    )
    goals = models.ManyToManyField(
        Goal, related_name="initiatives", blank=True, verbose_name=_("SDG goals")
    )
    targets = models.ManyToManyField(
        Target, related_name="initiatives", blank=True, verbose_name=_("SDG targets")
    )
    focus_areas = models.ManyToManyField(
        FocusArea, related_name="initiatives", blank=True, verbose_name=_("focus areas")
    )
    involvement = models.CharField(
        _("involvement level (OECD)"), max_length=20, choices=Involvement.choices, blank=True
    )
    tags = TaggableManager(_("tags"), blank=True)

    # Blank while a draft has not chosen yet; submitting requires a choice.
    scope = models.CharField(
        _("scope"),
        max_length=20,
        choices=Scope.choices,
        blank=True,
        default=Scope.LOCAL,
        help_text=_("Local initiatives name a municipality, regional ones a county."),
    )
    municipality = models.ForeignKey(
        Municipality,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="initiatives",
        verbose_name=_("municipality"),
    )
    county = models.ForeignKey(
        County,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="initiatives",
        verbose_name=_("county"),
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)

    # The collaboration frame (seed 003, step 3).
    frame_goals = models.TextField(_("goals of the collaboration"), blank=True)
    frame_roles = models.TextField(_("roles and responsibilities"), blank=True)
    frame_financing = models.TextField(_("financing"), blank=True)
    frame_expected_results = models.TextField(_("expected results"), blank=True)
    frame_indicators = models.TextField(_("indicators"), blank=True)
    frame_effect_shown = models.TextField(
        _("where the effect is shown"),
        blank=True,
        help_text=_("Platforms or reports where the effect of the collaboration is made visible."),
    )

    results = models.TextField(_("results"), blank=True)
    lessons = models.TextField(_("lessons learned"), blank=True)
    transfer_value = models.TextField(
        _("transfer value"), blank=True, help_text=_("What others need to know to do the same.")
    )

    contact_name = models.CharField(_("contact person"), max_length=150, blank=True)
    contact_role = models.CharField(_("contact person's role"), max_length=150, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)

    image = models.ImageField(_("image"), upload_to=image_path, blank=True)
    image_alt = models.CharField(
        _("image description"),
        max_length=250,
        blank=True,
        help_text=_("What the image shows, for people who cannot see it."),
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_initiatives",
        verbose_name=_("created by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    # Who last sent it for review: they may not publish or reject it (Initiative.authors).
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    rejected_at = models.DateTimeField(_("rejected at"), null=True, blank=True, editable=False)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True, editable=False)
    rejection_reason = models.TextField(_("reason for rejection"), blank=True, editable=False)
    # The version (the id of a django-reversion Version) a moderator last reviewed, by
    # publishing or by "mark reviewed" on the review page, and when and by whom: the queue
    # of published initiatives changed since (initiatives.history) holds those with a newer
    # version. An id, not a foreign key: pruning the version leaves the mark, and the
    # versions after it are still after it.
    reviewed_version = models.BigIntegerField(
        _("reviewed version"), null=True, blank=True, editable=False
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    # When the owners last showed the entry is alive: published, edited while published, a
    # progress report written, or "still current" confirmed from a reminder. Lists mark an
    # initiative "not updated since …" after FRESHNESS_STALE_MONTHS without one, and the
    # reminders (initiatives.freshness) count from it.
    owner_updated_at = models.DateTimeField(
        _("last updated by its owners"), null=True, blank=True, editable=False
    )
    # Search indexes on PostgreSQL, both kept by InitiativeQuerySet.refresh_search_vectors():
    # the full-text vector, and one integer per goal, purpose, actor type, stakeholder
    # group, focus area, target and tag (see initiatives.search.FACET_KEY_BASE), GIN-indexed
    # so that combined facets and their counts need no joins.
    search_vector = SearchVectorField(null=True, editable=False)
    facet_keys = FacetKeysField(models.IntegerField(), null=True, blank=True, editable=False)

    objects = InitiativeQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created"]
        verbose_name = _("initiative")
        verbose_name_plural = _("initiatives")
        permissions = [("moderate_initiative", _("Can publish, reject and archive initiatives"))]
        indexes = [
            # The public list's order; with the id it answers a page's ids from the index alone.
            models.Index(fields=["status", "-published_at", "-id"], name="initiative_status_pub"),
            # The facet engine's title order, read from the index alone.
            models.Index(fields=["status", "title", "id"], name="initiative_status_title"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="initiative_end_after_start",
                violation_error_message=_("The end date cannot be before the start date."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(scope=Scope.LOCAL, municipality__isnull=False, county__isnull=True)
                    | Q(scope=Scope.REGIONAL, county__isnull=False, municipality__isnull=True)
                    | Q(
                        scope__in=[Scope.NATIONAL, Scope.NORDIC, ""],
                        county__isnull=True,
                        municipality__isnull=True,
                    )
                ),
                name="initiative_place_matches_scope",
                violation_error_message=_(
                    "A local initiative needs a municipality and no county, a regional one a county "
                    "and no municipality, a national or Nordic one neither."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                name="initiative_rejection_has_reason",
                violation_error_message=_("A rejected initiative must have a reason."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("initiatives:detail", args=[self.slug])

    @property
    def place(self) -> str:
        if self.scope == Scope.LOCAL and self.municipality_id:
            return str(self.municipality)
        if self.scope == Scope.REGIONAL and self.county_id:
            return str(self.county)
        return str(self.get_scope_display()) or gettext("Place not chosen yet")

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    # --- What review needs --------------------------------------------------------

    # What an initiative must have before it is sent for review, besides the title and the
    # lead organisation every saved one has: the field, and what to do when it is missing.
    # The form asks for these when "Submit for review" is pressed; submit() checks them.
    REVIEW_NEEDS = {
        "summary": _("Write a summary of one or two sentences."),
        "description": _("Describe the initiative."),
        "scope": _("Choose how far the initiative reaches."),
        "purposes": _("Choose at least one purpose."),
        "goals": _("Choose at least one Sustainable Development Goal."),
    }

    def review_gaps(self) -> dict[str, str]:
        """What is still missing before review, as {field: what to do}; empty when complete.
        Reads prefetched relations where there are any."""
        many = {field.name for field in self._meta.many_to_many}
        gaps = {}
        for name, message in self.REVIEW_NEEDS.items():
            if name in many:
                # all() uses a prefetch when there is one; [:1] asks no more than one row.
                present = bool(getattr(self, name).all()[:1])
            else:
                present = bool(str(getattr(self, name)).strip())
            if not present:
                gaps[name] = message
        return gaps

    def authors(self) -> set[int]:
        """The ids of the people who made what a moderator decides on, none of whom may
        publish or reject it: whoever created it, whoever sent it for review, whoever last
        changed it before that, and whoever changed it since.

        Read from the edit history (initiatives.history records every change as a
        django-reversion revision by its user, and each status move as one whose comment
        is the move's name): the changes from the last one before the last submission on,
        the moves left out (a moderator who archived it is no author of it).
        """
        versions = Version.objects.get_for_object_reference(Initiative, self.pk)
        # One query: the last submission, the last change before it, the changes from there.
        submissions = versions.filter(revision__comment="submit").order_by("-pk")
        submitted = models.Subquery(submissions.values("pk")[:1])
        edits = versions.exclude(revision__comment__in=list(self.TRANSITIONS))
        before = models.Subquery(edits.filter(pk__lt=submitted).order_by("-pk").values("pk")[:1])
        since = edits.filter(pk__gte=Coalesce(before, submitted))
        people = {self.created_by_id, self.submitted_by_id}
        people.update(since.values_list("revision__user_id", flat=True))
        people.discard(None)
        return people

    def _check_reviewer(self, by) -> None:
        """Two people at least: nobody decides on what they submitted or changed."""
        if by is not None and by.pk in self.authors():
            raise IllegalTransition(
                _(
                    "You submitted or changed this initiative yourself, so another moderator "
                    "must decide on it."
                )
            )

    def _check_submittable(self, by) -> None:
        """Only a confirmed account sends for review, and only what is complete."""
        if by is not None and not email_confirmed(by):
            raise IllegalTransition(
                _(
                    "Confirm your e-mail address before you send an initiative for review: "
                    "open the link we sent you, or ask for a new one."
                )
            )
        gaps = self.review_gaps()
        if gaps:
            raise IllegalTransition(
                _("Before it can be sent for review: %(gaps)s")
                % {"gaps": " ".join(str(gap) for gap in gaps.values())}
            )

    # --- Moderation: the only way the status changes --------------------------

    def submit(self, *, by=None, note: str = "", notify: bool = True) -> None:
        """Send for review, if complete (review_gaps) and `by` has confirmed their e-mail
        address; records who sent it. Moderators are told by e-mail, unless `notify` is
        False (a bulk import: one mail per row would bury them)."""

        def check() -> None:
            self._check_submittable(by)
            self.submitted_by = by if by is not None and by.is_authenticated else None

        moved = self._move(
            "submit",
            by=by,
            stamp="submitted_at",
            note=note,
            extra_fields=["submitted_by"],
            check=check,
        )
        if moved and notify:
            send_to("email/initiative_submitted", {"initiative": self}, moderators())

    def publish(self, *, by=None, note: str = "", notify: bool = True) -> None:
        """Make public; the submitter is told by e-mail (unless `notify` is False, as in a
        bulk import). Nobody publishes what they submitted or changed (authors), nor one
        whose lead organisation is not yet approved."""
        # Read from the database: the cached lead may predate a moderator's approval.
        lead = Organisation.objects.filter(pk=self.lead_organisation_id)
        if lead.filter(status=Organisation.Status.PROPOSED).exists():
            raise IllegalTransition(
                _(
                    "Approve the organisation “%(organisation)s” first: an initiative cannot be "
                    "published while its lead organisation is only proposed."
                )
                % {"organisation": lead.values_list("name", flat=True).first()}
            )
        if (
            self._move(
                "publish",
                by=by,
                stamp="published_at",
                note=note,
                check=lambda: self._check_reviewer(by),
            )
            and notify
        ):
            self._tell_submitter("email/initiative_published")

    def reject(self, *, by=None, reason: str) -> None:
        """Send back with a reason the submitter reads; they may fix it and submit again."""
        reason = (reason or "").strip()
        if not reason:
            raise IllegalTransition(_("A rejection needs a reason."))
        self.rejection_reason = reason
        if self._move(
            "reject",
            by=by,
            stamp="rejected_at",
            note=reason,
            extra_fields=["rejection_reason"],
            check=lambda: self._check_reviewer(by),
        ):
            self._tell_submitter("email/initiative_rejected")

    def archive(self, *, by=None, note: str = "") -> None:
        self._move("archive", by=by, stamp="archived_at", note=note)

    def withdraw(self, *, by=None, note: str = "") -> None:
        """Take back to draft, from review or from the public."""
        self._move("withdraw", by=by, note=note)

    def _move(
        self,
        move: str,
        *,
        by,
        stamp: str | None = None,
        note: str = "",
        extra_fields: list[str] | None = None,
        check: Callable[[], None] | None = None,
    ) -> bool:
        """Apply one move of TRANSITIONS; False when already in the target status. `check`
        runs once the row is locked and the move allowed, and may refuse it by raising
        IllegalTransition (locked: no change can slip in between the check and the move)."""
        sources, target = self.TRANSITIONS[move]
        with transaction.atomic():
            # Lock the row so two moderators cannot move it at once.
            current = Initiative.objects.select_for_update().values_list("status", flat=True)
            self.status = current.get(pk=self.pk)
            if self.status == target:
                return False
            if self.status not in sources:
                raise IllegalTransition(
                    _("An initiative that is “%(current)s” cannot be moved to “%(target)s”.")
                    % {
                        "current": self.Status(self.status).label,
                        "target": self.Status(target).label,
                    }
                )
            if check is not None:
                check()
            previous = self.status
            status_moving.send(sender=Initiative, initiative=self, move=move, by=by)
            self.status = target
            fields = ["status", "updated", *(extra_fields or [])]
            if stamp:
                setattr(self, stamp, timezone.now())
                fields.append(stamp)
            self.save(update_fields=fields)
            InitiativeStatusChange.objects.create(
                initiative=self,
                from_status=previous,
                to_status=target,
                changed_by=by if by is not None and by.is_authenticated else None,
                note=note,
            )
            if target == self.Status.PUBLISHED:
                Initiative.objects.filter(pk=self.pk).refresh_search_vectors()
                self.note_owner_update()
            # The edit history records the move (who, when, the new status) as a revision;
            # publishing is a review, so it also marks the initiative reviewed at it.
            status_moved.send(sender=Initiative, initiative=self, move=move, by=by)
        return True

    def mark_reviewed(self, *, by, version: int) -> None:
        """A moderator has looked at the initiative as `version` (the id of its django-
        reversion Version) holds it: off the queue of changes to review until a newer
        version. Call it with the row locked and `version` checked to be the newest
        (initiatives.history.mark_reviewed does both); not a change to the initiative."""
        self.reviewed_version = version
        self.reviewed_at = timezone.now()
        self.reviewed_by = by if by is not None and by.is_authenticated else None
        self.save(update_fields=["reviewed_version", "reviewed_at", "reviewed_by"])

    def record_edit(self, *, by, note: str = "") -> None:
        """After the lead organisation edited a published initiative: it stays published,
        the history says who changed it, search sees the new text and moderators are told."""
        if not self.is_published:
            return
        with transaction.atomic():
            InitiativeStatusChange.objects.create(
                initiative=self,
                from_status=self.status,
                to_status=self.status,
                changed_by=by if by is not None and by.is_authenticated else None,
                note=note or gettext("Edited while published."),
            )
            Initiative.objects.filter(pk=self.pk).refresh_search_vectors()
            self.note_owner_update()
            send_to("email/initiative_edited", {"initiative": self, "editor": by}, moderators())

    @property
    def last_owner_update(self) -> datetime | None:
        """When the owners last showed it is alive (see owner_updated_at; LAST_OWNER_UPDATE)."""
        return self.owner_updated_at or self.published_at

    @property
    def is_stale(self) -> bool:
        """Marked "not updated since …": no update by its owners for more than
        FRESHNESS_STALE_MONTHS (InitiativeQuerySet.stale is the same rule in SQL)."""
        last = self.last_owner_update
        return last is not None and last < freshness_cutoff(settings.FRESHNESS_STALE_MONTHS)

    def note_owner_update(self, when: datetime | None = None) -> None:
        """The owners showed the entry is alive (published, edited, reported on, or said
        "still current"): freshness (initiatives.freshness) counts from now again."""
        self.owner_updated_at = when or timezone.now()
        self.save(update_fields=["owner_updated_at"])

    def _tell_submitter(self, template: str) -> None:
        send_to(template, {"initiative": self}, [self.created_by])


def moderators():
    """The active moderators and superusers, with their profiles (for their language)."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(Q(groups__name=MODERATORS_GROUP) | Q(is_superuser=True), is_active=True)
        .exclude(email="")
        .select_related("profile")
        .distinct()
        .order_by("email")
    )


def public_tags() -> models.QuerySet:
    """The tags a published initiative has: the only ones the public may learn of. Every
    other facet's values are reference data; tags are people's words, and a draft's would
    otherwise show through the list's filters (a chip for ?tag=<slug>)."""
    from taggit.models import Tag

    published = Initiative.objects.filter(status=Initiative.Status.PUBLISHED, tags=OuterRef("pk"))
    return Tag.objects.filter(Exists(published))


MODERATORS_GROUP = "Moderators"


def can_moderate(user) -> bool:
    """Moderators (and superusers) review, publish and reject, and may edit anything."""
    return user.is_authenticated and user.has_perm("initiatives.moderate_initiative")


class CatalogueChange(models.Model):
    """One row per write that changes what the public list holds: read by every process's
    facet engine (initiatives.engine), which reloads just those initiatives."""

    # Empty: too much changed to list (a bulk load); every engine builds afresh.
    initiative_id = models.BigIntegerField(null=True, blank=True)
    # Random: tells a row from another that got the same id after a rollback (SQLite).
    token = models.BigIntegerField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("catalogue change")
        verbose_name_plural = _("catalogue changes")

    def __str__(self) -> str:
        return f"{self.pk}: {self.initiative_id or '*'}"


class InitiativeStatusChange(models.Model):
    """One row per status move: the initiative's moderation history."""

    initiative = models.ForeignKey(
        Initiative,
        on_delete=models.CASCADE,
        related_name="status_changes",
        verbose_name=_("initiative"),
    )
    from_status = models.CharField(_("from"), max_length=20, choices=Initiative.Status.choices)
    to_status = models.CharField(_("to"), max_length=20, choices=Initiative.Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    note = models.TextField(_("note"), blank=True)
    created = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")

    def __str__(self) -> str:
        return f"{self.initiative}: {self.from_status} → {self.to_status}"


class Participation(TimeStampedModel):
    """An organisation's part in an initiative besides the lead."""

    class Role(models.TextChoices):
        PARTNER = "partner", _("Partner")
        RESOURCE_GROUP = "resource_group", _("Resource group")
        FUNDER = "funder", _("Funder")

    initiative = models.ForeignKey(
        Initiative,
        on_delete=models.CASCADE,
        related_name="participations",
        verbose_name=_("initiative"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="participations",
        verbose_name=_("organisation"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.PARTNER)

    class Meta:
        ordering = ["role", "organisation__name"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "organisation"],
                name="participation_unique",
                violation_error_message=_(
                    "This organisation is already a partner in the initiative."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_role_display()})"


class InitiativeLink(TimeStampedModel):
    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="links", verbose_name=_("initiative")
    )
    title = models.CharField(_("title"), max_length=200)
    url = models.URLField(_("address"), max_length=500)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("link")
        verbose_name_plural = _("links")

    def __str__(self) -> str:
        return self.title


class Attachment(TimeStampedModel):
    initiative = models.ForeignKey(
        Initiative,
        on_delete=models.CASCADE,
        related_name="attachments",
        verbose_name=_("initiative"),
    )
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=attachment_path)

    class Meta:
        ordering = ["created", "pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.title


class AdoptionQuerySet(models.QuerySet):
    def feedback_by(self, user) -> "AdoptionQuerySet":
        """Adoptions of published initiatives on which `user` may tell how it went: those
        of an organisation they are an active member of, with their address confirmed (the
        feedback is shown in the organisation's name). Moderators correct it in the admin."""
        if not user.is_authenticated or not email_confirmed(user):
            return self.none()
        mine = OrganisationMember.objects.active().filter(user=user).values("organisation")
        return self.filter(organisation__in=mine, initiative__status=Initiative.Status.PUBLISHED)


class Adoption(TimeStampedModel):
    """An organisation reports that it has taken an initiative up."""

    class Outcome(models.TextChoices):
        WORKED = "worked", _("It worked")
        PARTLY = "partly", _("It partly worked")
        NOT_WORKED = "not_worked", _("It did not work")

    initiative = models.ForeignKey(
        Initiative,
        on_delete=models.PROTECT,
        related_name="adoptions",
        verbose_name=_("initiative"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="adoptions",
        verbose_name=_("organisation"),
    )
    note = models.TextField(
        pgettext_lazy("adoption", "note"),
        blank=True,
        max_length=2000,
        help_text=_("How you used it, what you changed, how it went."),
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    # The adopter's feedback: how it went for them (blank until they tell).
    outcome = models.CharField(
        _("did it work for you?"), max_length=20, choices=Outcome.choices, blank=True
    )
    effect = models.TextField(_("effect"), blank=True, max_length=2000)
    feedback_at = models.DateTimeField(_("feedback given at"), null=True, blank=True)

    objects = AdoptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = _("adoption")
        verbose_name_plural = _("adoptions")
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "organisation"],
                name="adoption_once_per_organisation",
                violation_error_message=_(
                    "This organisation has already reported that it took up this initiative."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} → {self.initiative}"


class ProgressReport(TimeStampedModel):
    """A dated report from the owning organisation on how its initiative is going."""

    class Status(models.TextChoices):
        ON_TRACK = "on_track", _("On track")
        DELAYED = "delayed", _("Delayed")
        STOPPED = "stopped", _("Stopped")
        COMPLETED = "completed", _("Completed")

    initiative = models.ForeignKey(
        Initiative,
        on_delete=models.CASCADE,
        related_name="progress_reports",
        verbose_name=_("initiative"),
    )
    reported_on = models.DateField(_("date of the report"), default=timezone.localdate)
    phase = models.CharField(_("phase now"), max_length=20, choices=Initiative.Phase.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    done = models.TextField(_("what was done"), max_length=5000)
    results = models.TextField(
        _("results"),
        blank=True,
        max_length=5000,
        help_text=_("What came of it, measured against the indicators of the collaboration frame."),
    )
    lessons = models.TextField(_("lessons learned"), blank=True, max_length=5000)
    language = text_language_field()
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("written by"),
    )

    class Meta:
        ordering = ["-reported_on", "-pk"]
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")

    def __str__(self) -> str:
        return f"{self.initiative} ({self.reported_on})"


class IndicatorResult(models.Model):
    """One indicator's figure in a progress report ("Food waste per pupil: 12 kg")."""

    report = models.ForeignKey(
        ProgressReport,
        on_delete=models.CASCADE,
        related_name="indicator_results",
        verbose_name=_("progress report"),
    )
    indicator = models.CharField(_("indicator"), max_length=200)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2, null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    note = models.CharField(pgettext_lazy("indicator", "note"), max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("indicator result")
        verbose_name_plural = _("indicator results")

    def __str__(self) -> str:
        return self.indicator


class FreshnessReminder(models.Model):
    """A reminder mailed to an initiative's owners after `months` without an update.

    One per threshold per update: `due_for` is the owner_updated_at it was sent about, so
    an update starts a new round and the same threshold is never mailed twice for one.
    The mail's "still current" link names this row; it works once (used_at)."""

    initiative = models.ForeignKey(
        Initiative,
        on_delete=models.CASCADE,
        related_name="freshness_reminders",
        verbose_name=_("initiative"),
    )
    months = models.PositiveSmallIntegerField(_("months without an update"))
    due_for = models.DateTimeField(_("last update it is about"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    used_at = models.DateTimeField(_("confirmed still current at"), null=True, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("freshness reminder")
        verbose_name_plural = _("freshness reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "months", "due_for"], name="freshness_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.initiative}: {self.months}"

    def confirm_still_current(self) -> bool:
        """The owners answered "still current" (the link in the mail): the initiative counts
        as updated now. The link works once: False, and nothing changes, when it was used
        already. Raises IllegalTransition when the initiative is no longer published."""
        with transaction.atomic():
            # The initiative first, then the reminder: the order Initiative._move locks in.
            initiative = Initiative.objects.select_for_update().get(pk=self.initiative_id)
            reminder = FreshnessReminder.objects.select_for_update().get(pk=self.pk)
            if reminder.used_at is not None:
                self.used_at = reminder.used_at
                return False
            if initiative.status != Initiative.Status.PUBLISHED:
                raise IllegalTransition(_("Only a published initiative can be confirmed."))
            self.used_at = timezone.now()
            self.save(update_fields=["used_at"])
            initiative.note_owner_update(self.used_at)
            self.initiative = initiative
        return True


class SearchSynonym(TimeStampedModel):
    """Words a search treats as one (matsvinn, matavfall): moderators keep the list in the
    admin; initiatives.search applies it to every query word."""

    words = models.CharField(
        _("words"),
        max_length=500,
        help_text=_(
            "Words that should find each other in a search, separated by commas, "
            "for example “matsvinn, matavfall”."
        ),
    )

    class Meta:
        ordering = ["words"]
        verbose_name = _("search synonym")
        verbose_name_plural = _("search synonyms")

    def __str__(self) -> str:
        return self.words

    @property
    def word_list(self) -> list[str]:
        return [word.strip().lower() for word in self.words.split(",") if word.strip()]


class SearchWord(models.Model):
    """A word seen in an initiative's text: the vocabulary "Did you mean" suggestions and
    compound splitting draw on (initiatives.search), kept by refresh_search_vectors."""

    word = models.CharField(_("word"), max_length=60, unique=True)

    class Meta:
        ordering = ["word"]
        verbose_name = _("search word")
        verbose_name_plural = _("search words")

    def __str__(self) -> str:
        return self.word
