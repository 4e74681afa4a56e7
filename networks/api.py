"""The API's networks, working groups and events (ideabank/api.py has what every endpoint
shares). Each endpoint selects its rows as the web page does (networks/views.py): the
members the public sees through `public_memberships`, events through `upcoming()` and
`past()`, and an event's programme with published initiatives only. The lists take
exactly the web lists' filters, answered by the same FilterSets (networks/filters.py)
through `filter_from_query`; a value the web list would drop with a message is a 400
listing the problems here."""

from datetime import datetime
from typing import Literal

from django.db.models import Prefetch
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from ideabank.api import (
    ERRORS,
    MAX_PAGE_SIZE,
    BadRequest,
    Lang,
    Out,
    Page,
    absolute,
    goal_out,
    last_modified,
    paged_rows,
)
from initiatives.api import (
    ActorTypeRef,
    Choice,
    GoalRef,
    InitiativeRef,
    OrganisationRef,
    PlaceName,
    Term,
    organisation_ref,
)
from initiatives.models import Goal, Initiative, Organisation, Scope
from networks.filters import EventFilter, NetworkFilter, WorkingGroupFilter
from networks.ical import CALENDAR_RELATED
from networks.models import Event, Network, WorkingGroup
from networks.views import current_year_first, filter_from_query, public_memberships

router = Router(tags=["networks, working groups and events"])

PAGE = Query(1, ge=1, le=1_000_000)
PAGE_SIZE = Query(20, ge=1, le=MAX_PAGE_SIZE)


def maybe_ref(organisation: Organisation | None) -> dict | None:
    return organisation_ref(organisation) if organisation is not None else None


def network_ref(network: Network | None) -> dict | None:
    if network is None:
        return None
    return {"slug": network.slug, "name": network.name, "url": absolute(network.get_absolute_url())}


def filtered(request: HttpRequest, filterset_class, queryset):
    """`queryset` filtered from the URL by the web list's FilterSet; 400 with the problems
    for any value the web list would drop (with a message) instead. Without a filter
    value the FilterSet would change nothing: it is not made, as the event lists' reads
    its organiser and month options (four queries) when made."""
    if not any(request.GET.get(name, "").strip() for name in filterset_class.base_filters):
        return queryset
    filterset, _data, problems = filter_from_query(request.GET, filterset_class, queryset)
    if problems:
        raise BadRequest(problems)
    return filterset.qs


def initiative_ref(initiative: Initiative) -> dict:
    return {
        "id": initiative.pk,
        "slug": initiative.slug,
        "url": absolute(initiative.get_absolute_url()),
    }


# --- Networks ------------------------------------------------------------------------------


class NetworkRef(Out):
    slug: str
    name: str
    url: str


class NetworkItem(NetworkRef):
    language: str
    scope: Choice
    county: PlaceName | None
    parent: NetworkRef | None
    coordinator: OrganisationRef | None
    member_count: int
    subgroup_count: int
    updated: datetime


class NetworkPage(Page):
    results: list[NetworkItem]


class Member(OrganisationRef):
    role: str
    role_label: str
    since: str | None


class Subgroup(NetworkRef):
    members: list[Member]


class NetworkDetail(NetworkItem):
    description: str
    membership_criteria: str
    meeting_rhythm: str
    website: str
    contact_name: str
    contact_role: str
    focus_areas: list[Term]
    goals: list[GoalRef]
    members: list[Member]
    subgroups: list[Subgroup]


def network_item(network: Network) -> dict:
    county = network.county
    return {
        **network_ref(network),
        "language": network.language,
        "scope": {"value": network.scope, "label": network.get_scope_display()},
        "county": {"number": county.number, "name": county.name} if county else None,
        "parent": network_ref(network.parent),
        "coordinator": maybe_ref(network.coordinator),
        "member_count": network.member_count,
        "subgroup_count": network.subgroup_count,
        "updated": network.updated,
    }


def member(membership) -> dict:
    return {
        **organisation_ref(membership.organisation),
        "role": membership.role,
        "role_label": membership.get_role_display(),
        "since": membership.since.isoformat() if membership.since else None,
    }


# The empty value too, as the web list's form sends it for "all": no filter.
ScopeValue = Literal[(*Scope.values, "")]  # type: ignore[valid-type]


class NetworkFilters(Schema):
    """Exactly the web list's filters (/nettverk/, NetworkFilter): one value each."""

    scope: ScopeValue | None = Field(None, description="Empty: all scopes.")
    focus_area: str | None = Field(None, description="Focus area slug (/reference/focus-areas/).")
    goal: str | None = Field(None, description="SDG goal number, 1–17.")
    county: str | None = Field(None, description="County number (/reference/counties/).")


def networks():
    return Network.objects.with_counts().select_related("parent", "coordinator", "county")


@router.get("/networks/", response={200: NetworkPage, **ERRORS}, summary="Networks")
def network_list(
    request: HttpRequest,
    filters: Query[NetworkFilters],
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
    lang: Lang = "nb",
) -> dict:
    """Each network followed by its sub-groups, as the web list orders them, filtered as
    the web list is (each network by what it says of itself)."""
    rows = (
        filtered(request, NetworkFilter, Network.objects.all())
        .with_counts()
        .select_related("parent", "coordinator", "county")
        .in_families()
    )
    return paged_rows(request, rows, page, page_size, network_item)


@router.get("/networks/{slug}/", response={200: NetworkDetail, **ERRORS}, summary="One network")
def network_detail(request: HttpRequest, slug: str, lang: Lang = "nb") -> dict:
    """With its active members (approved organisations) and its sub-groups with theirs."""
    network = get_object_or_404(
        networks().prefetch_related(
            "focus_areas", Prefetch("goals", queryset=Goal.objects.order_by("number"))
        ),
        slug=slug,
    )
    members = list(public_memberships(network))
    subgroups = list(
        network.subgroups.prefetch_related(
            Prefetch("memberships", queryset=public_memberships(), to_attr="public_memberships")
        ).order_by("name", "pk")
    )
    last_modified(
        request,
        network.updated,
        *(m.updated for m in members),
        *(s.updated for s in subgroups),
        *(m.updated for s in subgroups for m in s.public_memberships),
    )
    return {
        **network_item(network),
        "description": network.description,
        "membership_criteria": network.membership_criteria,
        "meeting_rhythm": network.meeting_rhythm,
        "website": network.website,
        # As the page shows it to the public: the e-mail address only to confirmed members.
        "contact_name": network.contact_name,
        "contact_role": network.contact_role,
        "focus_areas": [{"slug": f.slug, "name": f.name} for f in network.focus_areas.all()],
        "goals": [goal_out(goal) for goal in network.goals.all()],
        "members": [member(m) for m in members],
        "subgroups": [
            {**network_ref(s), "members": [member(m) for m in s.public_memberships]}
            for s in subgroups
        ],
    }


# --- Working groups ------------------------------------------------------------------------


class WorkingGroupItem(Out):
    slug: str
    name: str
    url: str
    language: str
    year: int
    focus_area: Term | None
    host_network: NetworkRef | None
    host_organisation: OrganisationRef | None
    required_meetings: int
    meetings_held: int
    required_open_events: int
    open_events_held: int
    updated: datetime


class WorkingGroupPage(Page):
    results: list[WorkingGroupItem]


class Seat(Out):
    name: str
    role: str
    role_label: str
    organisation: OrganisationRef | None


class WorkingGroupDetail(WorkingGroupItem):
    mandate: str
    members: list[Seat]
    events: list["EventItem"]
    proposed_initiatives: list[InitiativeRef]


def working_group_item(group: WorkingGroup) -> dict:
    focus = group.focus_area
    return {
        "slug": group.slug,
        "name": group.name,
        "url": absolute(group.get_absolute_url()),
        "language": group.language,
        "year": group.year,
        "focus_area": {"slug": focus.slug, "name": focus.name} if focus else None,
        "host_network": network_ref(group.host_network),
        "host_organisation": maybe_ref(group.host_organisation),
        "required_meetings": group.required_meetings,
        "meetings_held": group.meetings_held,
        "required_open_events": group.required_open_events,
        "open_events_held": group.open_events_held,
        "updated": group.updated,
    }


class WorkingGroupFilters(Schema):
    """Exactly the web list's filters (/arbeidsgrupper/, WorkingGroupFilter)."""

    year: str | None = Field(None, description="The group's year, 2000–2100.")
    focus_area: str | None = Field(None, description="Focus area slug (/reference/focus-areas/).")


def working_groups(queryset=None):
    queryset = WorkingGroup.objects.all() if queryset is None else queryset
    return queryset.with_progress().select_related(
        "focus_area", "host_network", "host_organisation"
    )


@router.get(
    "/working-groups/", response={200: WorkingGroupPage, **ERRORS}, summary="Working groups"
)
def working_group_list(
    request: HttpRequest,
    filters: Query[WorkingGroupFilters],
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
    lang: Lang = "nb",
) -> dict:
    """This year's groups first, then those of years to come, then earlier years (as the
    web list, and filtered as it is); meetings and open events held so far in the
    group's year."""
    groups = filtered(request, WorkingGroupFilter, WorkingGroup.objects.all())
    rows = current_year_first(working_groups(groups), timezone.localdate().year)
    return paged_rows(request, rows, page, page_size, working_group_item)


@router.get(
    "/working-groups/{slug}/",
    response={200: WorkingGroupDetail, **ERRORS},
    summary="One working group",
)
def working_group_detail(request: HttpRequest, slug: str, lang: Lang = "nb") -> dict:
    """Its members as the page shows them (name, organisation, role), its events and the
    published initiatives it proposed."""
    group = get_object_or_404(working_groups(), slug=slug)
    seats = list(group.members.select_related("organisation"))
    events = list(events_with_organisers(group.events.order_by("starts_at", "pk")))
    proposed = list(
        Initiative.objects.published()
        .filter(proposed_by_working_groups=group)
        .only("pk", "slug", "updated")
        .order_by("title", "pk")
    )
    last_modified(
        request,
        group.updated,
        *(s.updated for s in seats),
        *(e.updated for e in events),
        *(i.updated for i in proposed),
    )
    return {
        **working_group_item(group),
        "mandate": group.mandate,
        "members": [
            {
                "name": seat.name,
                "role": seat.role,
                "role_label": seat.get_role_display(),
                "organisation": maybe_ref(seat.organisation),
            }
            for seat in seats
        ],
        "events": [event_item(e) for e in events],
        "proposed_initiatives": [initiative_ref(i) for i in proposed],
    }


# --- Events --------------------------------------------------------------------------------


class Organiser(Out):
    kind: Literal["network", "working_group", "organisation"]
    name: str
    slug: str | None
    url: str | None


class EventItem(Out):
    slug: str
    title: str
    url: str
    language: str
    kind: Choice
    starts_at: datetime
    ends_at: datetime
    venue: str
    online_url: str
    organiser: Organiser
    audience: list[ActorTypeRef]
    cancelled: bool
    registration: Choice
    updated: datetime


class EventPage(Page):
    results: list[EventItem]


class PresentationOut(Out):
    order: int
    presenter: str
    presenter_organisation: OrganisationRef | None
    initiative: InitiativeRef


class EventDetail(EventItem):
    description: str
    recording_url: str
    cancellation_reason: str
    presentations: list[PresentationOut]


WorkingGroupDetail.model_rebuild()


def organiser(event: Event) -> dict:
    if event.organiser_network is not None:
        return {"kind": "network", **network_ref(event.organiser_network)}
    if event.organiser_working_group is not None:
        group = event.organiser_working_group
        return {
            "kind": "working_group",
            "name": str(group),
            "slug": group.slug,
            "url": absolute(group.get_absolute_url()),
        }
    return {"kind": "organisation", **organisation_ref(event.organiser_organisation)}


def event_item(event: Event) -> dict:
    return {
        "slug": event.slug,
        "title": event.title,
        "url": absolute(event.get_absolute_url()),
        "language": event.language,
        "kind": {"value": event.kind, "label": event.get_kind_display()},
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "venue": event.venue,
        "online_url": event.online_url,
        "organiser": organiser(event),
        "audience": [
            {"slug": a.slug, "name": a.name, "group": a.group, "group_label": a.get_group_display()}
            for a in event.audience.all()
        ],
        "cancelled": event.is_cancelled,
        "registration": {"value": event.registration, "label": event.get_registration_display()},
        "updated": event.updated,
    }


KindValue = Literal[(*Event.Kind.values, "")]  # type: ignore[valid-type]


class EventFilters(Schema):
    """Exactly the web lists' filters (/arrangementer/ and /arrangementer/tidligere/,
    EventFilter), with `when` choosing which of the two."""

    when: Literal["upcoming", "past"] = Field(
        "upcoming", description="Upcoming (under way too), soonest first; or past, latest first."
    )
    kind: KindValue | None = Field(None, description="Empty: all kinds.")
    organiser: str | None = Field(
        None,
        description="network:<slug>, group:<slug> or organisation:<slug>: one who organises "
        "some event of the list.",
    )
    audience: str | None = Field(None, description="Actor type slug (/reference/actor-types/).")
    month: str | None = Field(
        None, description="YYYY-MM: events under way some time in that month (Norwegian time)."
    )


def events_with_organisers(queryset):
    return queryset.select_related(*CALENDAR_RELATED).prefetch_related("audience")


@router.get("/events/", response={200: EventPage, **ERRORS}, summary="Events")
def event_list(
    request: HttpRequest,
    filters: Query[EventFilters],
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
    lang: Lang = "nb",
) -> dict:
    """Upcoming events (those under way too), soonest first; or past ones, latest first:
    the web's /arrangementer/ and /arrangementer/tidligere/, filtered as they are."""
    events = Event.objects.upcoming() if filters.when == "upcoming" else Event.objects.past()
    rows = events_with_organisers(filtered(request, EventFilter, events))
    return paged_rows(request, rows, page, page_size, event_item)


@router.get("/events/{slug}/", response={200: EventDetail, **ERRORS}, summary="One event")
def event_detail(request: HttpRequest, slug: str, lang: Lang = "nb") -> dict:
    """Its programme: the presentations of published initiatives, in order."""
    event = get_object_or_404(events_with_organisers(Event.objects.all()), slug=slug)
    presentations = list(
        event.presentations.filter(initiative__in=Initiative.objects.published().values("pk"))
        .select_related("presenter_organisation", "initiative")
        .defer("initiative__search_vector", "initiative__facet_keys")
    )
    last_modified(
        request,
        event.updated,
        *(p.updated for p in presentations),
        *(p.initiative.updated for p in presentations),
    )
    return {
        **event_item(event),
        "description": event.description,
        # The page shows the recording once the event is over.
        "recording_url": event.recording_url if event.is_over else "",
        "cancellation_reason": event.cancellation_reason,
        "presentations": [
            {
                "order": p.order,
                "presenter": p.presenter,
                "presenter_organisation": maybe_ref(p.presenter_organisation),
                "initiative": initiative_ref(p.initiative),
            }
            for p in presentations
        ],
    }
