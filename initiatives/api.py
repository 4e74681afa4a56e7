"""The API's initiatives and organisations (ideabank/api.py has what every endpoint shares).

The initiative list is the web list (initiatives.views.browse) answered as JSON: the same
parameters through `listing_from_url`, the same engine, the same order, the rows of one
page read in a fixed number of queries. Only published initiatives and approved
organisations are ever read (`published()`, `approved()`).
"""

from datetime import date, datetime
from typing import Literal

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
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
    link,
    paged,
    paged_rows,
    target_out,
)
from initiatives import engine
from initiatives.facets import Results
from initiatives.filters import Sort
from initiatives.models import (
    ActorType,
    CatalogueChange,
    Goal,
    Initiative,
    Organisation,
    Scope,
    freshness_cutoff,
)
from initiatives.views import listing_from_url

router = Router(tags=["initiatives and organisations"])


# --- Schemas ---------------------------------------------------------------------------


class GoalRef(Out):
    number: int
    short_title: str
    title: str
    colour: str
    un_id: str = Field(description="The UN's identifier: http://metadata.un.org/sdg/<n>.")
    url: str


class TargetRef(Out):
    code: str
    text: str
    un_id: str


class Term(Out):
    slug: str
    name: str


class ActorTypeRef(Term):
    group: str
    group_label: str


class PlaceName(Out):
    number: str
    name: str


class Place(Out):
    scope: str = Field(description="local, regional, national or nordic (empty: not chosen).")
    label: str
    municipality: PlaceName | None
    county: PlaceName | None


class OrganisationRef(Out):
    name: str
    slug: str | None = Field(description="Empty when the organisation has no public page.")
    url: str | None


class Partner(OrganisationRef):
    role: str
    role_label: str


class Choice(Out):
    value: str
    label: str


class InitiativeItem(Out):
    id: int
    slug: str
    url: str
    title: str
    summary: str
    language: str
    phase: Choice
    place: Place
    lead_organisation: OrganisationRef
    goals: list[GoalRef]
    adoptions_count: int
    published_at: datetime | None
    updated: datetime


class InitiativePage(Page):
    results: list[InitiativeItem]


class Frame(Out):
    goals: str
    roles: str
    financing: str
    expected_results: str
    indicators: str
    effect_shown: str


class Link(Out):
    title: str
    url: str


class Image(Out):
    url: str
    alt: str


class Contact(Out):
    name: str
    role: str
    contact_form: str | None = Field(
        description="Where to write to the contact person (the address itself is not public)."
    )


class EventRef(Out):
    slug: str
    title: str
    url: str
    starts_at: datetime
    ends_at: datetime
    cancelled: bool


class InitiativeDetail(InitiativeItem):
    description: str
    targets: list[TargetRef]
    purposes: list[Term]
    actor_types: list[ActorTypeRef]
    focus_areas: list[Term]
    tags: list[Term]
    partners: list[Partner]
    involvement: Choice | None
    start_date: date | None
    end_date: date | None
    collaboration_frame: Frame
    results: str
    lessons: str
    transfer_value: str
    contact: Contact | None
    links: list[Link]
    attachments: list[Link]
    image: Image | None
    presented_at: list[EventRef]


# --- Building them -----------------------------------------------------------------------


def organisation_ref(organisation: Organisation) -> dict:
    """An organisation's name, and its page when it has one (approved only)."""
    public = organisation.is_approved
    return {
        "name": organisation.name,
        "slug": organisation.slug if public else None,
        "url": link("initiatives:organisation", organisation.slug) if public else None,
    }


def place(initiative: Initiative) -> dict:
    """Where it is, as Initiative.place says it (without get_scope_display()'s cost per row)."""
    municipality, county = initiative.municipality, initiative.county
    if municipality is not None:
        county = municipality.county
        label = municipality.name
    elif county is not None:
        label = county.name
    else:
        label = str(Scope(initiative.scope).label) if initiative.scope else initiative.place
    return {
        "scope": initiative.scope,
        "label": label,
        "municipality": {"number": municipality.number, "name": municipality.name}
        if municipality
        else None,
        "county": {"number": county.number, "name": county.name} if county else None,
    }


def initiative_item(initiative: Initiative, adoptions: int, goals: list[dict]) -> dict:
    return {
        "id": initiative.pk,
        "slug": initiative.slug,
        "url": link("initiatives:detail", initiative.slug),
        "title": initiative.title,
        "summary": initiative.summary,
        "language": initiative.language,
        # The enum, not get_phase_display(): that rebuilds the choices on every call.
        "phase": {
            "value": initiative.phase,
            "label": str(Initiative.Phase(initiative.phase).label),
        },
        "place": place(initiative),
        "lead_organisation": organisation_ref(initiative.lead_organisation),
        "goals": goals,
        "adoptions_count": adoptions,
        "published_at": initiative.published_at,
        "updated": initiative.updated,
    }


def initiative_detail_out(initiative: Initiative) -> dict:
    slug = initiative.slug
    presentations = sorted(
        initiative.presentations.all(), key=lambda p: (p.event.starts_at, p.event.pk)
    )
    return {
        **initiative_item(
            initiative,
            initiative.adoptions_count,
            [goal_out(goal) for goal in initiative.goals.all()],
        ),
        "description": initiative.description,
        "targets": [target_out(target) for target in initiative.targets.all()],
        "purposes": [{"slug": p.slug, "name": p.name} for p in initiative.purposes.all()],
        "actor_types": [
            {"slug": a.slug, "name": a.name, "group": a.group, "group_label": a.get_group_display()}
            for a in initiative.actor_types.all()
        ],
        "focus_areas": [{"slug": f.slug, "name": f.name} for f in initiative.focus_areas.all()],
        "tags": [{"slug": t.slug, "name": t.name} for t in initiative.tags.all()],
        "partners": [
            {
                **organisation_ref(p.organisation),
                "role": p.role,
                "role_label": p.get_role_display(),
            }
            for p in initiative.participations.all()
        ],
        "involvement": {
            "value": initiative.involvement,
            "label": initiative.get_involvement_display(),
        }
        if initiative.involvement
        else None,
        "start_date": initiative.start_date,
        "end_date": initiative.end_date,
        "collaboration_frame": {
            "goals": initiative.frame_goals,
            "roles": initiative.frame_roles,
            "financing": initiative.frame_financing,
            "expected_results": initiative.frame_expected_results,
            "indicators": initiative.frame_indicators,
            "effect_shown": initiative.frame_effect_shown,
        },
        "results": initiative.results,
        "lessons": initiative.lessons,
        "transfer_value": initiative.transfer_value,
        # As the page shows it to the public: name and role, and the contact form; the
        # e-mail address and phone number only to confirmed members, so never here.
        "contact": {
            "name": initiative.contact_name,
            "role": initiative.contact_role,
            "contact_form": absolute(reverse("initiatives:contact", args=[slug]))
            if initiative.contact_email
            else None,
        }
        if initiative.contact_name or initiative.contact_email
        else None,
        "links": [{"title": link.title, "url": link.url} for link in initiative.links.all()],
        "attachments": [
            {
                "title": attachment.title,
                "url": absolute(reverse("initiatives:attachment", args=[slug, attachment.pk])),
            }
            for attachment in initiative.attachments.all()
        ],
        "image": {
            "url": absolute(reverse("initiatives:image", args=[slug])),
            "alt": initiative.image_alt,
        }
        if initiative.image
        else None,
        # Through the reverse relation: this app never imports the networks app.
        "presented_at": [
            {
                "slug": p.event.slug,
                "title": p.event.title,
                "url": absolute(p.event.get_absolute_url()),
                "starts_at": p.event.starts_at,
                "ends_at": p.event.ends_at,
                "cancelled": p.event.cancelled_at is not None,
            }
            for p in presentations
        ],
    }


def catalogue_changed_at(version: int) -> datetime | None:
    """When the catalogue the engine answers from last changed (publication, withdrawal or
    an edit): the Last-Modified of what the engine lists. One query by primary key."""
    return (
        CatalogueChange.objects.filter(pk__lte=version)
        .order_by("-pk")
        .values_list("created", flat=True)
        .first()
    )


# --- Endpoints ---------------------------------------------------------------------------

PhaseValue = Literal[tuple(Initiative.Phase.values)]  # type: ignore[valid-type]
InvolvementValue = Literal[tuple(Initiative.Involvement.values)]  # type: ignore[valid-type]
GroupValue = Literal[tuple(ActorType.Group.values)]  # type: ignore[valid-type]
SortValue = Literal[tuple(value for value, _label in Sort.CHOICES)]  # type: ignore[valid-type]


# What a list row shows (initiative_item): not the long texts only the detail has.
LIST_FIELDS = (
    *("id", "slug", "title", "summary", "language", "phase", "scope", "published_at", "updated"),
    *("lead_organisation__name", "lead_organisation__slug", "lead_organisation__status"),
    "lead_organisation__updated",
    *("municipality__number", "municipality__name", "municipality__county__number"),
    *("municipality__county__name", "county__number", "county__name"),
)


class InitiativeFilters(Schema):
    """Exactly the web list's parameters (/tiltak/); the multi-valued ones repeat and all
    their values must hold."""

    goal: list[str] = Field([], description="SDG goal number, 1–17.")
    target: list[str] = Field([], description="SDG target code, such as 12.3.")
    purpose: list[str] = Field([], description="Purpose slug (/reference/purposes/).")
    actor_type: list[str] = Field([], description="Actor type slug (/reference/actor-types/).")
    group: GroupValue | None = Field(None, description="Stakeholder group.")
    focus_area: list[str] = Field([], description="Focus area slug (/reference/focus-areas/).")
    tag: list[str] = Field([], description="Tag slug (a tag some published initiative has).")
    county: str | None = Field(None, description="County number (/reference/counties/).")
    municipality: str | None = Field(None, description="Municipality number.")
    phase: PhaseValue | None = None
    involvement: InvolvementValue | None = None
    adopted: Literal["yes", "no"] | None = Field(None, description="Taken up by others or not.")
    updated: Literal["year"] | None = Field(
        None, description="year: updated by its owners in the last 12 months."
    )
    campaign: list[str] = Field([], description="Slug of a campaign the initiative answers.")
    q: str | None = Field(None, max_length=200, description="Free-text search.")
    sort: SortValue | None = Field(
        None, description="Default: relevance when searching, else newest."
    )


@router.get(
    "/initiatives/",
    response={200: InitiativePage, **ERRORS},
    summary="Published initiatives",
)
def initiative_list(
    request: HttpRequest,
    filters: Query[InitiativeFilters],
    page: int = Query(1, ge=1, le=1_000_000),
    page_size: int = Query(20, ge=1, le=MAX_PAGE_SIZE),
    lang: Lang = "nb",
) -> dict:
    """Filtered, searched and sorted as the web list is, by the same engine. A filter
    value the list would ignore (unknown, or not valid with the others) is a 400 listing
    why; a page past the end is a 404."""
    query, listing, problems = listing_from_url(request)
    if problems:
        raise BadRequest(problems)
    rows = (
        Initiative.objects.published()
        .select_related("lead_organisation", "municipality__county", "county")
        .only(*LIST_FIELDS)
    )
    answer = paged(request, Paginator(Results(listing, query.sort, rows), page_size), page)
    shown = answer["results"]
    last_modified(
        request,
        catalogue_changed_at(listing.engine.version),
        # "Updated in the last year" changes at midnight without a change to the catalogue.
        freshness_cutoff(0) if "updated" in query.data else None,
        *(row.updated for row in shown),
        *(row.lead_organisation.updated for row in shown),
    )
    goals = goals_of([row.pk for row in shown])
    answer["results"] = [initiative_item(row, row.adoption_total, goals[row.pk]) for row in shown]
    return answer


def goals_of(pks: list[int]) -> dict[int, list[dict]]:
    """Each initiative's goals, in two queries: the 17 goals, and the pairs. Cheaper than a
    prefetch, which makes a Goal object per pair (a fifth of a page of a hundred)."""
    goals = {goal.pk: goal_out(goal) for goal in Goal.objects.all()}  # ordered by number
    pairs = Initiative.goals.through.objects.filter(initiative_id__in=pks)
    found: dict[int, set[int]] = {pk: set() for pk in pks}
    for initiative, goal in pairs.values_list("initiative_id", "goal_id"):
        found[initiative].add(goal)
    return {pk: [goals[g] for g in goals if g in found[pk]] for pk in pks}


@router.get(
    "/initiatives/{slug}/",
    response={200: InitiativeDetail, **ERRORS},
    summary="One published initiative",
)
def initiative_detail(request: HttpRequest, slug: str, lang: Lang = "nb") -> dict:
    """404 for anything not published, as for what does not exist."""
    initiative = get_object_or_404(
        Initiative.objects.published()
        .with_details()
        .annotate(adoptions_count=Count("adoptions", distinct=True))
        .prefetch_related("presentations__event"),
        slug=slug,
    )
    last_modified(
        request,
        initiative.updated,
        initiative.lead_organisation.updated,
        *(p.organisation.updated for p in initiative.participations.all()),
        *(p.event.updated for p in initiative.presentations.all()),
    )
    return initiative_detail_out(initiative)


class OrganisationItem(Out):
    slug: str
    url: str
    name: str
    language: str
    actor_type: ActorTypeRef
    organisation_number: str
    municipality: PlaceName | None
    county: PlaceName | None
    website: str
    updated: datetime


class OrganisationPage(Page):
    results: list[OrganisationItem]


class InitiativeRef(Out):
    id: int
    slug: str
    url: str


class OrganisationDetail(OrganisationItem):
    description: str
    led_initiatives: list[InitiativeRef] = Field(description="Published, newest first.")
    partner_initiatives: list[InitiativeRef] = Field(description="Published, newest first.")


def organisation_item(organisation: Organisation) -> dict:
    actor_type, municipality = organisation.actor_type, organisation.municipality
    return {
        "slug": organisation.slug,
        "url": absolute(organisation.get_absolute_url()),
        "name": organisation.name,
        "language": organisation.language,
        "actor_type": {
            "slug": actor_type.slug,
            "name": actor_type.name,
            "group": actor_type.group,
            "group_label": actor_type.get_group_display(),
        },
        "organisation_number": organisation.organisation_number,
        "municipality": {"number": municipality.number, "name": municipality.name}
        if municipality
        else None,
        "county": {"number": municipality.county.number, "name": municipality.county.name}
        if municipality
        else None,
        "website": organisation.website,
        "updated": organisation.updated,
    }


def approved_organisations():
    return Organisation.objects.approved().select_related("actor_type", "municipality__county")


@router.get(
    "/organisations/",
    response={200: OrganisationPage, **ERRORS},
    summary="Approved organisations",
)
def organisation_list(
    request: HttpRequest,
    page: int = Query(1, ge=1, le=1_000_000),
    page_size: int = Query(20, ge=1, le=MAX_PAGE_SIZE),
    lang: Lang = "nb",
) -> dict:
    """By name."""
    rows = approved_organisations().order_by("name", "pk")
    return paged_rows(request, rows, page, page_size, organisation_item)


@router.get(
    "/organisations/{slug}/",
    response={200: OrganisationDetail, **ERRORS},
    summary="One approved organisation",
)
def organisation_detail(request: HttpRequest, slug: str, lang: Lang = "nb") -> dict:
    """With the published initiatives it leads and is a partner in (from the engine)."""
    organisation = get_object_or_404(approved_organisations(), slug=slug)
    catalogue = engine.engine()
    led = catalogue.newest(catalogue.values("lead", organisation.pk), 0, 10**9)
    partnered = catalogue.newest(catalogue.values("partner", organisation.pk), 0, 10**9)
    slugs = dict(
        Initiative.objects.published().filter(pk__in=led + partnered).values_list("pk", "slug")
    )

    def refs(pks: list[int]) -> list[dict]:
        return [
            {
                "id": pk,
                "slug": slugs[pk],
                "url": link("initiatives:detail", slugs[pk]),
            }
            for pk in pks
            if pk in slugs
        ]

    last_modified(request, organisation.updated, catalogue_changed_at(catalogue.version))
    return {
        **organisation_item(organisation),
        "description": organisation.description,
        "led_initiatives": refs(led),
        "partner_initiatives": refs(partnered),
    }
