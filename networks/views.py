"""Public pages for networks, working groups and events; join requests, registration, calendars."""

import csv
import re

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import Case, Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_filters import FilterSet

from ideabank.comments import thread_context
from ideabank.decorators import confirmed_email_required
from ideabank.http import page_number, posted
from ideabank.ratelimit import Limit, client_ip, render_limited
from ideabank.slugs import slugify_nb
from ideabank.spreadsheets import BOM, CSV_DELIMITER, Echo, guarded
from initiatives.engine import engine, in_order
from initiatives.exports import limited
from initiatives.models import (
    ActorType,
    AskedTooSoon,
    FocusArea,
    Goal,
    IllegalTransition,
    Initiative,
    Organisation,
    OrganisationMember,
)
from networks.filters import EventFilter, NetworkFilter, WorkingGroupFilter, usable_filter_values
from networks.forms import EventRegistrationForm, NetworkJoinForm
from networks.ical import CALENDAR_RELATED, calendar_events, calendar_for, event_calendar
from networks.models import (
    Event,
    EventRegistration,
    Membership,
    Network,
    Presentation,
    RegistrationRefused,
    WorkingGroup,
    WorkingGroupMember,
    request_network_membership,
)
from networks.reports import year_report
from networks.statistics import network_figures

# --- Networks and join requests ---------------------------------------------------

NETWORKS_PER_PAGE = 30
# Each related list on a network's page shows this many (the newest or the next); the
# page says how many there are in all.
NETWORK_PAGE_LIMIT = 10


def filtered_from_url(
    request: HttpRequest, filterset_class: type[FilterSet], queryset: QuerySet
) -> tuple[FilterSet, QueryDict]:
    """A list's FilterSet from the URL, and the values it kept.

    Values no filter could use, and values a filter does not understand, are dropped
    with a message each: a bookmarked or hand-made URL never gives a 500.
    """
    filterset, data, problems = filter_from_query(request.GET, filterset_class, queryset)
    for problem in problems:
        messages.warning(request, problem)
    return filterset, data


def filter_from_query(
    query: QueryDict, filterset_class: type[FilterSet], queryset: QuerySet
) -> tuple[FilterSet, QueryDict, list[str]]:
    """The FilterSet of the values in `query` it can use, those values, and a problem for
    each value left out: the web list shows them as messages, the API answers 400."""
    data, problems = usable_filter_values(query, filterset_class)
    filterset = filterset_class(data, queryset=queryset)
    if not filterset.is_valid():
        for name, errors in filterset.errors.items():
            problems.append(
                _("The filter “%(label)s” was not understood and was ignored: %(error)s")
                % {"label": filterset_class.base_filters[name].label, "error": " ".join(errors)}
            )
            data.pop(name, None)
        filterset = filterset_class(data, queryset=queryset)
    return filterset, data, problems


def page_or_404(request: HttpRequest, items: QuerySet, per_page: int) -> tuple[Paginator, Page]:
    paginator = Paginator(items, per_page)
    try:
        return paginator, paginator.page(page_number(request))
    except InvalidPage as error:
        raise Http404(_("There is no such page.")) from error


def network_list(request: HttpRequest) -> HttpResponse:
    filterset, data = filtered_from_url(request, NetworkFilter, Network.objects.all())
    networks = (
        filterset.qs.with_counts()
        .in_families()
        .select_related("parent__coordinator", "coordinator", "county")
    )
    paginator, page = page_or_404(request, networks, NETWORKS_PER_PAGE)
    return render(
        request,
        "networks/network_list.html",
        {
            "filterset": filterset,
            "filtered": bool(data),
            "networks": page.object_list,
            "page_obj": page,
            "paginator": paginator,
            "page_query": data.urlencode(),
        },
    )


def public_memberships(network: Network | None = None) -> QuerySet:
    """Active memberships of approved organisations, by name: the members the public sees."""
    memberships = Membership.objects.public()
    if network is not None:
        memberships = memberships.filter(network=network)
    return memberships.select_related("organisation").order_by("organisation__name", "pk")


def network_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A network and everything around it, in a fixed number of queries: each related list
    is one query (the long ones capped, with a count)."""
    network = get_object_or_404(
        Network.objects.select_related("parent__coordinator", "coordinator", "county")
        .prefetch_related(
            "focus_areas", Prefetch("goals", queryset=Goal.objects.order_by("number"))
        )
        .with_counts(),
        slug=slug,
    )
    members = list(public_memberships(network))
    subgroups = (
        network.subgroups.with_counts()
        .prefetch_related(
            Prefetch("memberships", queryset=public_memberships(), to_attr="public_memberships")
        )
        .order_by("name", "pk")
    )
    # The members' initiatives from the facet engine: no walk through the whole list.
    catalogue = engine()
    led = catalogue.led_by(public_memberships(network).values_list("organisation", flat=True))
    member_initiatives = in_order(
        Initiative.objects.published().select_related("lead_organisation"),
        catalogue.newest(led, 0, NETWORK_PAGE_LIMIT),
    )
    presentations = Presentation.objects.filter(
        event__organiser_network=network,
        initiative__in=Initiative.objects.published().values("pk"),
    )
    # The one definition of upcoming and past (EventQuerySet), already ordered.
    upcoming = network.events.upcoming()
    past = network.events.past()
    # The working groups the network and its sub-groups host (one level: Network.clean).
    this_year = timezone.localdate().year
    working_groups = current_year_first(
        WorkingGroup.objects.filter(Q(host_network=network) | Q(host_network__parent=network)),
        this_year,
    )
    context = {
        "network": network,
        "coordinating": network.coordinating_organisation,
        "members": members,
        "subgroups": subgroups,
        "member_initiatives": member_initiatives,
        "member_initiative_count": len(led),
        "presentations": presentations.select_related("initiative__lead_organisation", "event")
        .defer("initiative__search_vector", "initiative__facet_keys")
        .order_by("-event__starts_at", "order", "pk")[:NETWORK_PAGE_LIMIT],
        "presentation_count": presentations.count(),
        "upcoming_events": upcoming[:NETWORK_PAGE_LIMIT],
        "upcoming_count": upcoming.count(),
        "past_events": past[:NETWORK_PAGE_LIMIT],
        "past_count": past.count(),
        "working_groups": working_groups.with_progress()
        .with_next_event()
        .select_related("host_network")[:NETWORK_PAGE_LIMIT],
        "working_group_count": working_groups.count(),
        # Its campaigns, open ones first, with their progress (one query).
        "campaigns": network.campaigns.open_first().with_progress()[:NETWORK_PAGE_LIMIT],
        "this_year": this_year,
        "limit": NETWORK_PAGE_LIMIT,
        # The members' initiatives and adoptions per year, the county's coverage.
        "figures": network_figures(
            network, [m.organisation_id for m in members], version=catalogue.version
        ),
        **thread_context(request.user, network=network),
    }
    if request.user.is_authenticated:
        choices = join_choices(request.user, network)
        context.update(choices)
        if choices["free_organisations"]:
            context["join_form"] = join_form(None, choices)
        if may_decide(request.user, network):
            context["may_decide"] = True
            context["join_requests"] = (
                Membership.objects.requested()
                .filter(network=network)
                .select_related("organisation", "requested_by")
                # Whoever decides sees whether the requester's address is confirmed.
                .annotate(requester_confirmed_at=F("requested_by__profile__email_confirmed_at"))
                .order_by("created", "pk")
            )
    return render(request, "networks/network_detail.html", context)


def join_choices(user, network: Network) -> dict:
    """Which of the user's organisations may ask to join `network`, and which are in or
    waiting. Two queries, three with the form's choices."""
    mine = list(Organisation.objects.acting_for(user).only("pk", "name").order_by("name", "pk"))
    statuses = dict(
        Membership.objects.filter(
            network=network, organisation__in=[o.pk for o in mine]
        ).values_list("organisation_id", "status")
    )
    taken = (Membership.Status.REQUESTED, Membership.Status.ACTIVE)
    free = [o.pk for o in mine if statuses.get(o.pk) not in taken]
    return {
        "member_of_any": bool(mine),
        "own_members": [o for o in mine if statuses.get(o.pk) == Membership.Status.ACTIVE],
        "own_waiting": [o for o in mine if statuses.get(o.pk) == Membership.Status.REQUESTED],
        "free_organisations": free,
    }


def join_form(data: QueryDict | None, choices: dict) -> NetworkJoinForm:
    """The form offers only the organisations that may ask (see join_choices)."""
    organisations = Organisation.objects.filter(pk__in=choices["free_organisations"])
    return NetworkJoinForm(data, organisations=organisations.order_by("name", "pk"))


def may_decide(user, network: Network) -> bool:
    """Moderators, and active members of the network's coordinating organisation."""
    return network.is_managed_by(user)


# A person asks for a network or two at a time; more is a script filling the coordinators'
# inboxes. Per address generous enough for a workshop behind one.
NETWORK_REQUESTS_PER_ACCOUNT = Limit("network-join-account", limit=5, window=60 * 60)
NETWORK_REQUESTS_PER_IP = Limit("network-join-ip", limit=20, window=60 * 60)


@confirmed_email_required
def network_join(request: HttpRequest, slug: str) -> HttpResponse:
    """Ask, for one of your organisations, to join a network or a sub-group."""
    network = get_object_or_404(Network.objects.select_related("parent"), slug=slug)
    choices = join_choices(request.user, network)
    context = {"network": network, **choices}
    if not choices["member_of_any"]:
        # Signed in, but not for an organisation: networks take organisations, not people.
        context["reason"] = "no_organisation"
        return render(request, "networks/network_join.html", context, status=403)
    if not choices["free_organisations"]:
        context["reason"] = "all_asked"
        return render(request, "networks/network_join.html", context)
    if request.method == "POST":
        for limit, key in (
            (NETWORK_REQUESTS_PER_ACCOUNT, str(request.user.pk)),
            (NETWORK_REQUESTS_PER_IP, client_ip(request)),
        ):
            if limit.too_many(key):
                context["form"] = join_form(None, choices)
                return render_limited(request, "networks/network_join.html", context, limit)
    form = join_form(posted(request), choices)
    if request.method == "POST" and form.is_valid():
        organisation = form.cleaned_data["organisation"]
        names = {"organisation": organisation.name, "network": network.name}
        try:
            membership = request_network_membership(request.user, network, organisation)
        except AskedTooSoon as refusal:
            form.add_error(
                "organisation",
                _(
                    "%(network)s declined the request from %(organisation)s on %(declined)s. "
                    "It can ask again from %(again)s."
                )
                % {
                    **names,
                    "declined": date_format(timezone.localdate(refusal.declined_at)),
                    "again": date_format(timezone.localdate(refusal.ask_again_from)),
                },
            )
            context["form"] = form
            return render(request, "networks/network_join.html", context, status=409)
        if membership.is_active:
            # Approved from elsewhere (the admin) since the form was shown.
            messages.info(
                request, _("%(organisation)s is already a member of %(network)s.") % names
            )
        else:
            messages.success(
                request,
                _(
                    "%(organisation)s has asked to join %(network)s. The coordinating "
                    "organisation or a moderator decides, and you get an e-mail when they have."
                )
                % names,
            )
        return redirect(network)
    context["form"] = form
    return render(request, "networks/network_join.html", context)


def network_membership_to_decide(request: HttpRequest, pk: int) -> Membership:
    """A membership the user may approve or decline: as a moderator or an active member of
    the coordinating organisation. The asking organisation's members may see that the
    request exists but not decide on it (403); anyone else is not told it exists (404)."""
    membership = get_object_or_404(
        Membership.objects.select_related(
            "network__parent__coordinator", "network__coordinator", "organisation", "requested_by"
        ),
        pk=pk,
    )
    if may_decide(request.user, membership.network):
        return membership
    if (
        OrganisationMember.objects.active()
        .filter(user=request.user, organisation=membership.organisation_id)
        .exists()
    ):
        raise PermissionDenied
    raise Http404(_("There is no such request to join."))


@require_POST
@confirmed_email_required
def network_membership_approve(request: HttpRequest, pk: int) -> HttpResponse:
    membership = network_membership_to_decide(request, pk)
    names = {"organisation": membership.organisation.name, "network": membership.network.name}
    if membership.is_active:
        messages.info(request, _("%(organisation)s is already a member of %(network)s.") % names)
    else:
        try:
            membership.approve(by=request.user)
        except IllegalTransition as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("%(organisation)s is now a member of %(network)s.") % names)
    return redirect(membership.network)


@require_POST
@confirmed_email_required
def network_membership_decline(request: HttpRequest, pk: int) -> HttpResponse:
    membership = network_membership_to_decide(request, pk)
    names = {"organisation": membership.organisation.name, "network": membership.network.name}
    try:
        membership.decline(by=request.user)
    except IllegalTransition as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("The request from %(organisation)s to join %(network)s was declined.") % names,
        )
    return redirect(membership.network)


# --- Working groups ------------------------------------------------------------------

WORKING_GROUPS_PER_PAGE = 20


def current_year_first(queryset: QuerySet, year: int) -> QuerySet:
    """This year's groups first, then groups set up for the years to come, then earlier
    years, newest first: what a visitor most likely looks for leads the list."""
    return queryset.alias(
        year_rank=Case(When(year=year, then=0), When(year__gt=year, then=1), default=2),
        year_order=Case(When(year__gt=year, then=F("year")), default=-F("year")),
    ).order_by("year_rank", "year_order", "name", "pk")


def working_group_list(request: HttpRequest) -> HttpResponse:
    filterset, data = filtered_from_url(request, WorkingGroupFilter, WorkingGroup.objects.all())
    this_year = timezone.localdate().year
    member_count = (
        WorkingGroupMember.objects.filter(working_group=OuterRef("pk"))
        .order_by()
        .values("working_group")
        .annotate(total=Count("pk"))
        .values("total")
    )
    groups = (
        current_year_first(filterset.qs, this_year)
        .with_progress()
        # A subquery, not Count("members"): a second join would multiply the event counts.
        .annotate(member_count=Coalesce(Subquery(member_count), 0))
        .select_related("focus_area", "host_network", "host_organisation")
        .prefetch_related(
            Prefetch(
                "members",
                queryset=WorkingGroupMember.objects.filter(
                    role=WorkingGroupMember.Role.LEADER
                ).select_related("organisation"),
                to_attr="leaders",
            )
        )
    )
    paginator, page = page_or_404(request, groups, WORKING_GROUPS_PER_PAGE)
    context = {
        "filterset": filterset,
        "query": data,
        "page_obj": page,
        "paginator": paginator,
        "working_groups": page.object_list,
        "this_year": this_year,
        # The choices offered are those that find something.
        "years": WorkingGroup.objects.order_by("-year").values_list("year", flat=True).distinct(),
        "focus_areas": FocusArea.objects.filter(working_groups__isnull=False).distinct(),
        "page_query": data.urlencode(),
    }
    return render(request, "networks/workinggroup_list.html", context)


def working_group_detail(request: HttpRequest, slug: str) -> HttpResponse:
    now = timezone.now()
    group = get_object_or_404(
        WorkingGroup.objects.with_progress(now=now).select_related(
            "focus_area", "host_network", "host_organisation"
        ),
        slug=slug,
    )
    members = list(group.members.select_related("organisation"))
    # One query for all the group's events; an event still going on counts as upcoming,
    # as it does not count as held until it has ended.
    events = list(group.events.order_by("starts_at", "pk"))
    this_year = timezone.localdate().year
    context = {
        "group": group,
        "leader": next((m for m in members if m.role == WorkingGroupMember.Role.LEADER), None),
        "members": members,
        "upcoming_events": [event for event in events if not event.is_over],
        "past_events": [event for event in reversed(events) if event.is_over],
        "initiatives": Initiative.objects.published()
        .filter(proposed_by_working_groups=group)
        .select_related("lead_organisation")
        .order_by("title", "pk"),
        "year_state": (
            "current" if group.year == this_year else "past" if group.year < this_year else "future"
        ),
    }
    return render(request, "networks/workinggroup_detail.html", context)


def working_group_report(request: HttpRequest, slug: str) -> HttpResponse:
    """The group's year report for the network's board (networks.reports): public, as the
    group's page is, and showing nothing that page does not. Printed with the browser."""
    now = timezone.now()
    group = get_object_or_404(
        WorkingGroup.objects.with_progress(now=now).select_related(
            "focus_area", "host_network", "host_organisation"
        ),
        slug=slug,
    )
    context = {
        "report": year_report(group, now),
        "report_date": timezone.localdate(now),
        # The site's own address, as in e-mails: not whatever Host was asked for.
        "report_url": f"{settings.SITE_URL}{request.path}",
    }
    return render(request, "networks/workinggroup_report.html", context)


# --- Events, registration and calendars ------------------------------------------

EVENTS_PER_PAGE = 20
# Generous for a colleague registering a whole team from one office address, and a
# stop for scripts filling an event's places or its waiting list.
REGISTRATIONS_PER_IP = Limit("event-register-ip", limit=20, window=60 * 60)
# Registration needs no account; a signed-in person registers themselves and perhaps a few
# colleagues, never dozens.
REGISTRATIONS_PER_ACCOUNT = Limit("event-register-account", limit=10, window=60 * 60)
# Tokens are 43 characters (new_cancel_token); anything much longer is not one.
CANCEL_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
CANCEL_TOKEN_MAX_LENGTH = 64


def event_listing(request: HttpRequest, events: QuerySet, *, past: bool) -> HttpResponse:
    """The upcoming or the past events, filtered from the URL and paginated.

    A filter value that is not understood is dropped with a message, never a 500.
    """
    filterset, data = filtered_from_url(request, EventFilter, events)
    paginator, page = page_or_404(
        request,
        filterset.qs.with_places().select_related(*CALENDAR_RELATED).prefetch_related("audience"),
        EVENTS_PER_PAGE,
    )
    context = {
        "past": past,
        "filterset": filterset,
        "filters_chosen": bool(data),
        "events": page.object_list,
        "page_obj": page,
        "paginator": paginator,
        "page_query": data.urlencode(),
        # The site's own address, as in e-mails and calendars: not whatever Host was asked for.
        "calendar_url": f"{settings.SITE_URL}{reverse('networks:calendar')}",
    }
    return render(request, "networks/event_list.html", context)


def event_list(request: HttpRequest) -> HttpResponse:
    return event_listing(request, Event.objects.upcoming(), past=False)


def event_past_list(request: HttpRequest) -> HttpResponse:
    return event_listing(request, Event.objects.past(), past=True)


def event_page_queryset() -> QuerySet:
    """What an event page shows of the event itself, in one query (and one for the audience)."""
    return (
        Event.objects.with_places().select_related(*CALENDAR_RELATED).prefetch_related("audience")
    )


def event_context(event: Event, form: EventRegistrationForm, **extra) -> dict:
    """The event page's context: the programme in order, each presentation with its
    initiative only when that is published. Unpublished initiatives never reach the
    template, not even their titles."""
    presentations = list(event.presentations.select_related("presenter_organisation"))
    public = {
        initiative.pk: initiative
        for initiative in Initiative.objects.published()
        .filter(presentations__event=event)
        .only("pk", "slug", "title", "language")
    }
    for presentation in presentations:
        presentation.public_initiative = public.get(presentation.initiative_id)
    return {"event": event, "presentations": presentations, "form": form, **extra}


def event_detail(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(event_page_queryset(), slug=slug)
    return render(
        request, "networks/event_detail.html", event_context(event, EventRegistrationForm())
    )


@require_POST
def event_register(request: HttpRequest, slug: str) -> HttpResponse:
    """Register through Event.register: a place, or one on the waiting list when full.

    A refusal (closed, over, no registration, the address already registered) is
    shown on the event page with what was typed, status 409.
    """
    event = get_object_or_404(event_page_queryset(), slug=slug)
    form = EventRegistrationForm(request.POST)
    limits = [(REGISTRATIONS_PER_IP, client_ip(request))]
    if request.user.is_authenticated:
        limits.append((REGISTRATIONS_PER_ACCOUNT, str(request.user.pk)))
    for limit, key in limits:
        if limit.too_many(key):
            typed = {name: str(form[name].value() or "")[:1000] for name in form.fields}
            context = event_context(event, EventRegistrationForm(initial=typed))
            return render_limited(request, "networks/event_detail.html", context, limit)
    status = 200
    if form.is_valid():
        try:
            registration = event.register(
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
                organisation=form.cleaned_data["organisation"],
            )
        except RegistrationRefused as refusal:
            form.add_error(None, str(refusal))
            status = 409
        else:
            values = {"title": event.title, "email": registration.email}
            if registration.status == EventRegistration.Status.CONFIRMED:
                messages.success(
                    request,
                    _(
                        "You are registered for “%(title)s”. We have sent a confirmation to "
                        "%(email)s, with a link to cancel if you cannot come after all."
                    )
                    % values,
                )
            else:
                messages.success(
                    request,
                    _(
                        "“%(title)s” is full, so you are on the waiting list. We have sent an "
                        "e-mail to %(email)s, and we e-mail you again if a place becomes free."
                    )
                    % values,
                )
            return redirect(event)
    return render(request, "networks/event_detail.html", event_context(event, form), status=status)


@require_http_methods(["GET", "POST"])
def registration_cancel(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the registration e-mails: no login, the token is the key.

    GET shows a button, POST cancels: mail scanners that open links only ever GET.
    """
    registration = None
    # Tokens are URL-safe base64; anything else (a NUL byte, say) cannot be one.
    if len(token) <= CANCEL_TOKEN_MAX_LENGTH and CANCEL_TOKEN_PATTERN.fullmatch(token):
        registration = (
            EventRegistration.objects.select_related("event").filter(cancel_token=token).first()
        )
    if registration is None:
        return render(
            request, "networks/registration_cancel.html", {"registration": None}, status=404
        )
    event = registration.event
    if request.method == "POST":
        if registration.status == EventRegistration.Status.CANCELLED:
            messages.info(request, _("This registration was already cancelled."))
        elif event.is_cancelled:
            messages.info(request, _("The event is cancelled, so there is nothing to cancel."))
        elif event.is_over:
            messages.error(
                request, _("The event has already taken place, so there is nothing to cancel.")
            )
        else:
            registration.cancel()
            messages.success(
                request,
                _("Your registration for “%(title)s” is cancelled. Thank you for letting us know.")
                % {"title": event.title},
            )
        return redirect("networks:registration_cancel", token=registration.cancel_token)
    context = {"registration": registration, "event": event}
    return render(request, "networks/registration_cancel.html", context)


def calendar_response(content: bytes, filename: str, *, as_attachment: bool) -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    return response


def event_ics(request: HttpRequest, slug: str) -> HttpResponse:
    """One event's .ics file: "add to calendar" downloads it."""
    event = get_object_or_404(Event.objects.select_related(*CALENDAR_RELATED), slug=slug)
    return calendar_response(event_calendar(event), f"{event.slug}.ics", as_attachment=True)


# Feeds are shown inline: calendar programs subscribe to the address and read it as it is.


def calendar_feed(request: HttpRequest) -> HttpResponse:
    """Every upcoming event, for subscribing."""
    content = calendar_for(
        calendar_events(Event.objects.upcoming()),
        name=_("%(site)s: events") % {"site": settings.SITE_NAME},
    )
    return calendar_response(content, "arrangementer.ics", as_attachment=False)


def network_and_subgroup_ids(network: Network) -> list[int]:
    """The network and its sub-groups at any depth: a query per level, not per group."""
    ids, level = [network.pk], [network.pk]
    while level:
        level = list(
            Network.objects.filter(parent__in=level)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        ids += level
    return ids


def network_calendar_feed(request: HttpRequest, slug: str) -> HttpResponse:
    """The upcoming events of the network and its sub-groups."""
    network = get_object_or_404(Network, slug=slug)
    events = Event.objects.upcoming().filter(
        organiser_network__in=network_and_subgroup_ids(network)
    )
    content = calendar_for(
        calendar_events(events),
        name=_("%(site)s: %(name)s") % {"site": settings.SITE_NAME, "name": network.name},
    )
    return calendar_response(content, f"{network.slug}.ics", as_attachment=False)


def working_group_calendar_feed(request: HttpRequest, slug: str) -> HttpResponse:
    """The working group's upcoming events."""
    group = get_object_or_404(WorkingGroup, slug=slug)
    content = calendar_for(
        calendar_events(Event.objects.upcoming().filter(organiser_working_group=group)),
        name=_("%(site)s: %(name)s") % {"site": settings.SITE_NAME, "name": str(group)},
    )
    return calendar_response(content, f"{group.slug}.ics", as_attachment=False)


# --- The event list as CSV ---------------------------------------------------------------

EVENT_CSV_CHUNK = 500


def event_csv_lines(events: QuerySet, language: str):
    """One row per event, the list's order; codes beside labels in `language`, every text
    cell guarded against spreadsheet formulas (ideabank.spreadsheets)."""
    writer = csv.writer(Echo(), delimiter=CSV_DELIMITER)
    header = [
        "slug", "url", "title", "kind", "kind_label", "starts_at", "ends_at", "organiser",
        "organiser_url", "venue", "online_url", "audience", "audience_label", "registration",
        "registration_label", "capacity", "places_left", "cancelled", "recording_url",
        "description",
    ]  # fmt: skip
    with translation.override(language):
        yield BOM + writer.writerow(header)
        for event in events.iterator(chunk_size=EVENT_CSV_CHUNK):
            organiser = event.organiser
            audience = list(event.audience.all())
            places_left = event.places_left
            values = [
                event.slug,
                f"{settings.SITE_URL}{event.get_absolute_url()}",
                event.title,
                event.kind,
                event.get_kind_display(),
                timezone.localtime(event.starts_at).isoformat(timespec="minutes"),
                timezone.localtime(event.ends_at).isoformat(timespec="minutes"),
                str(organiser or ""),
                # The name as the page shows it; a link only where there is a public page.
                f"{settings.SITE_URL}{organiser.get_absolute_url()}"
                if organiser and getattr(organiser, "is_approved", True)
                else "",
                event.venue,
                event.online_url,
                ";".join(actor_type.slug for actor_type in audience),
                "; ".join(actor_type.name for actor_type in audience),
                event.registration_state,
                event.get_registration_display(),
                "" if event.capacity is None else event.capacity,
                "" if places_left is None else places_left,
                "yes" if event.is_cancelled else "",
                event.recording_url,
                event.description,
            ]
            yield writer.writerow([guarded(v) if isinstance(v, str) else v for v in values])


# Per client address and hour, as the initiative exports (initiatives.exports.EXPORTS_PER_IP).
EVENT_EXPORTS_PER_IP = Limit("event-export-ip", limit=60, window=60 * 60)


def event_export(request: HttpRequest, events: QuerySet, list_name: str) -> HttpResponse:
    """The event list's filters (EventFilter, as the page reads them) as a CSV file;
    `list_name` names the list's page, where a refused download links back to."""
    if EVENT_EXPORTS_PER_IP.too_many(client_ip(request)):
        back = reverse(list_name)
        if request.GET:
            back = f"{back}?{request.GET.urlencode()}"
        return limited(request, EVENT_EXPORTS_PER_IP, back)
    filterset, _data = filtered_from_url(request, EventFilter, events)
    rows = (
        filterset.qs.with_places()
        .select_related(*CALENDAR_RELATED)
        .prefetch_related(Prefetch("audience", queryset=ActorType.objects.order_by("pk")))
    )
    response = StreamingHttpResponse(
        event_csv_lines(rows, translation.get_language()), content_type="text/csv; charset=utf-8"
    )
    name = f"{slugify_nb(settings.SITE_NAME)}-{slugify_nb(_('events'))}-{timezone.localdate():%Y-%m-%d}"
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.csv")
    return response


def event_export_csv(request: HttpRequest) -> HttpResponse:
    return event_export(request, Event.objects.upcoming(), "networks:event_list")


def event_past_export_csv(request: HttpRequest) -> HttpResponse:
    return event_export(request, Event.objects.past(), "networks:event_past_list")
