import csv
import hashlib
import json
from copy import copy
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Paginator
from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, Q
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ideabank import slugs
from ideabank.comments import thread_context
from ideabank.decorators import confirmed_email_required
from ideabank.email import send_to
from ideabank.http import page_number, posted
from ideabank.models import email_confirmed, profile_for
from ideabank.ratelimit import Limit, client_ip, render_limited
from ideabank.spreadsheets import BOM, CSV_DELIMITER, guarded_row
from initiatives import engine, exports, reports
from initiatives.engine import Selection, in_order, text_hits
from initiatives.facets import (
    FACET_HELP,
    FACETS,
    SINGLE,
    Chip,
    Listing,
    Results,
    build_facets,
    clear_all_url,
    listing_for,
    reference_version,
    selection_for,
)
from initiatives.filters import InitiativeFilter, Sort
from initiatives.forms import (
    AdoptionForm,
    AdoptionNoteForm,
    ContactForm,
    OrganisationJoinForm,
    OrganisationProposeForm,
    OrganisationSearchForm,
)
from initiatives.models import (
    ActorType,
    Adoption,
    AskedTooSoon,
    Goal,
    IllegalTransition,
    Initiative,
    Organisation,
    OrganisationMember,
    Participation,
    Purpose,
    can_moderate,
    moderators,
    request_membership,
)
from initiatives.search import CAP, Mode
from initiatives.statistics import figures as statistics_figures

PER_PAGE = 20
PARTNER_ROLES_SHOWN = 20
MAX_VALUES = 20  # per parameter; more is not a person choosing filters
MAX_LENGTH = 200


def clean_query(request: HttpRequest) -> tuple[QueryDict, list[str]]:
    """The parameters the list understands, without values no filter could use."""
    return clean_params(request.GET)


def clean_params(params: QueryDict) -> tuple[QueryDict, list[str]]:
    """clean_query for a query string that did not come with a request (a saved search)."""
    data, problems = QueryDict(mutable=True), []
    for key in params:
        if key not in (*FACETS, "q", "sort"):
            continue
        values = params.getlist(key)[:MAX_VALUES]
        usable = [
            v.strip() for v in values if "\x00" not in v and len(v) <= MAX_LENGTH and v.strip()
        ]
        if len(usable) != len([v for v in values if v.strip()]):
            problems.append(
                _(
                    "A value for “%(name)s” was too long or contained invalid characters and was ignored."
                )
                % {"name": key}
            )
        if key in (*SINGLE, "q", "sort"):
            usable = usable[-1:]
        if usable:
            data.setlist(key, list(dict.fromkeys(usable)))
    return data, problems


@dataclass
class Understood:
    """A list URL's choices, checked: what is valid of them, the engine's question, the
    search text, the sort and what was ignored and why."""

    data: QueryDict  # the visitor's valid choices
    filter_data: QueryDict  # and the page's fixed ones
    selection: Selection
    text: str
    sort: str
    problems: list[str]


UNDERSTOOD_SECONDS = 600


def list_state(filter_data: QueryDict, fixed: dict[str, str]) -> str:
    """A digest of one list state (choices, search text and sort; not the page), to key
    what is cached of it."""
    state = [sorted((k, filter_data.getlist(k)) for k in filter_data if k != "page"), sorted(fixed)]
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()


def understood(data: QueryDict, fixed: dict[str, str], version: int) -> Understood:
    """Check `data` (and the page's `fixed` values) with InitiativeFilter's form, once per
    list state, language and catalogue version: checking builds a whole FilterSet, which
    costs as much as the rest of a list page seen before."""
    filter_data = data.copy()
    for name, value in fixed.items():
        filter_data[name] = value
    # Per catalogue and reference-data version too: a tag, goal or campaign new since may
    # make an old "not understood" valid (a campaign's save moves the reference version).
    key = f"initiatives:understood:{version}:{reference_version()}:{translation.get_language()}:{list_state(filter_data, fixed)}"  # fmt: skip
    cached = cache.get(key)
    if cached is not None:
        return cached
    data, problems = data.copy(), []
    filterset = InitiativeFilter(filter_data, queryset=Initiative.objects.none())
    if not filterset.is_valid():
        for name, errors in filterset.errors.items():
            label = (
                InitiativeFilter.base_filters[name].label
                if name in InitiativeFilter.base_filters
                else name
            )
            problems.append(
                _("The filter “%(label)s” was not understood and was ignored: %(error)s")
                % {"label": label, "error": " ".join(errors)}
            )
            data.pop(name, None)
            filter_data.pop(name, None)
        filterset = InitiativeFilter(filter_data, queryset=Initiative.objects.none())
        filterset.is_valid()  # what is left is valid; this cleans it
    result = Understood(
        data=data,
        filter_data=filter_data,
        selection=selection_for(filterset),
        text=filterset.form.cleaned_data.get("q") or "",
        sort=filterset.sort_order(),
        problems=problems,
    )
    cache.set(key, result, UNDERSTOOD_SECONDS)
    return result


def listing_from_url(
    request: HttpRequest,
    *,
    fixed: dict[str, str] | None = None,
    organisation: Organisation | None = None,
) -> tuple[Understood, Listing, list[str]]:
    """The list state a URL asks for (see `browse`), its results by the engine, and what
    of the URL was ignored and why. The web list and its Atom feed both start here."""
    fixed = fixed or {}
    data, problems = clean_query(request)
    for name in fixed:
        data.pop(name, None)
    catalogue = engine.engine()
    query = understood(data, fixed, catalogue.version)
    selection = copy(query.selection)
    selection.organisation = organisation.pk if organisation else None
    listing = listing_for(catalogue, selection, query.text)
    return query, listing, problems + query.problems


def published_matching(query_string: str, pks, catalogue: engine.Engine | None = None) -> set[int]:
    """Which of the initiatives `pks` the list at `?query_string` shows now: the list's own
    question (clean_params, understood, the facet engine), never a copy of its rules. For
    saved searches (ideabank.notices, which passes one `catalogue` for many searches): a
    text costs the engine's text search, cached."""
    data, problems = clean_params(QueryDict(query_string))
    data.pop("sort", None)
    catalogue = catalogue or engine.engine()
    query = understood(data, {}, catalogue.version)
    if problems or query.problems:
        # A part of the search no longer means anything (a tag gone, a campaign over):
        # without it the search would be wider than the one followed. Nothing matches.
        return set()
    selection = copy(query.selection)
    with catalogue.lock:
        if query.text:
            hits = text_hits(query.text, catalogue)
            if hits.mode not in (Mode.EXACT, Mode.CAPPED):
                # The list's "some of the words" and "did you mean" help a reader; a saved
                # search tells only of initiatives with every word.
                return set()
            selection.text = catalogue.positions(hits.pks)
        found = catalogue.select(selection) & catalogue.positions(pks)
        return {catalogue.pk_of[position] for position in found}


def browse(
    request: HttpRequest,
    *,
    fixed: dict[str, str] | None = None,
    organisation: Organisation | None = None,
) -> dict:
    """Filter, search, count facets and paginate the published initiatives from the URL.

    `fixed` holds facet values a page stands for (the goal of a goal page): they
    filter like the rest but are not shown as removable choices. `organisation`
    narrows the list to what that organisation leads or is a partner in.
    """
    fixed = fixed or {}
    query, listing, problems = listing_from_url(request, fixed=fixed, organisation=organisation)
    data, filter_data, sort = query.data, query.filter_data, query.sort
    queryset = Initiative.objects.published()
    # What a card shows (includes/initiative_card.html), in a fixed number of queries.
    rows = queryset.select_related("lead_organisation", "municipality", "county").prefetch_related(
        Prefetch("goals", queryset=Goal.objects.order_by("number"))
    )
    paginator = Paginator(Results(listing, sort, rows), PER_PAGE)
    try:
        page = paginator.page(page_number(request))
    except InvalidPage as error:
        raise Http404(_("There is no such page.")) from error

    facets_html, chips = facet_panel(data, listing, fixed, filter_data)
    filter_count = len(chips)  # one chip per chosen facet value; the search chip comes next
    if data.get("q"):
        without_text = data.copy()
        without_text.pop("q")
        without_text.pop("sort", None)
        chips.insert(
            0, Chip(_("Search: %(text)s") % {"text": data["q"]}, "?" + without_text.urlencode())
        )
    searching = bool(data.get("q"))
    sort_choices = [
        (value, label) for value, label in Sort.CHOICES if value != Sort.RELEVANCE or searching
    ]
    for problem in problems:
        messages.warning(request, problem)
    return {
        "query": data,
        "page_obj": page,
        "paginator": paginator,
        "initiatives": page.object_list,
        "facets_html": facets_html,
        "filter_count": filter_count,
        "chips": chips,
        "clear_all_url": clear_all_url(data),
        # "Clear all" keeps the search text, so it means something only with a facet chosen.
        "facets_chosen": any(name in data for name in FACETS),
        "search_text": data.get("q", ""),
        "capped": listing.search_mode == Mode.CAPPED,
        "cap": CAP,
        "fuzzy": listing.search_mode == Mode.FUZZY,
        "any_word": listing.search_mode == Mode.ANY,
        **_suggestion(data, listing),
        "sort": sort,
        "sort_choices": sort_choices,
        "hidden_params": [
            (k, v) for k in data for v in data.getlist(k) if k not in ("sort", "page")
        ],
        "search_hidden_params": [
            (k, v) for k in data for v in data.getlist(k) if k not in ("q", "page", "sort")
        ],
        "page_query": _without_page(data),
        # Its Atom feed (initiatives.feeds): the page's address plus feed/, same choices.
        "feed_url": f"{request.path}feed/" + (f"?{state}" if (state := feed_query(data)) else ""),
        # The downloads (initiative_export_csv/_xlsx) take the list's parameters, the page's
        # fixed ones included; an organisation's list has no parameter for its organisation.
        "export_query": None if organisation else _without_page(filter_data),
    }


def _suggestion(data: QueryDict, listing) -> dict:
    """The "Did you mean" text and a link to the list with it, filters kept."""
    suggestion = listing.hits.suggestion if listing.hits else ""
    if not suggestion:
        return {}
    corrected = data.copy()
    corrected["q"] = suggestion
    corrected.pop("page", None)
    return {"suggestion": suggestion, "suggestion_url": "?" + corrected.urlencode()}


PANEL_SECONDS = 600


def facet_panel(
    data: QueryDict, listing, fixed: dict[str, str], filter_data: QueryDict
) -> tuple[str, list[Chip]]:
    """The rendered filter panel and the chips of one list state, cached per state, language
    and catalogue version: a list page seen before costs no more than a plain list. (The
    state includes the sort: every link in the panel keeps it.) Per day too: "updated in
    the last year" changes at midnight without a change to the catalogue."""
    versions = f"{listing.engine.version}:{reference_version()}:{listing.engine.recent_from}"
    key = f"initiatives:panel:{versions}:{translation.get_language()}:{list_state(filter_data, fixed)}"  # fmt: skip
    panel = cache.get(key)
    if panel is None:
        facets, chips = build_facets(data, listing.counts, fixed, filter_data)
        html = render_to_string(
            "includes/facet_panel.html", {"facets": facets, "facet_help": FACET_HELP}
        )
        panel = (html, chips)
        cache.set(key, panel, PANEL_SECONDS)
    html, chips = panel
    return mark_safe(html), list(chips)  # noqa: S308  (our own template's output)


def feed_query(data: QueryDict) -> str:
    """A list state as its feed's query string: the choices and search text, not the sort
    or page (a feed is always newest first and whole)."""
    rest = data.copy()
    rest.pop("sort", None)
    rest.pop("page", None)
    return rest.urlencode()


def _without_page(data: QueryDict) -> str:
    rest = data.copy()
    rest.pop("page", None)
    return rest.urlencode()


def initiative_list(request: HttpRequest) -> HttpResponse:
    context = browse(request)
    return render(request, "initiatives/initiative_list.html", context)


def goal_detail(request: HttpRequest, number: int) -> HttpResponse:
    goal = get_object_or_404(Goal, number=number)
    context = browse(
        request,
        fixed={"goal": str(goal.number)},
    )
    context["goal"] = goal
    context["targets"] = goal.targets.all()
    return render(request, "initiatives/goal_detail.html", context)


def actor_type_detail(request: HttpRequest, slug: str) -> HttpResponse:
    actor_type = get_object_or_404(ActorType, slug=slug)
    context = browse(
        request,
        fixed={"actor_type": actor_type.slug},
    )
    context["actor_type"] = actor_type
    return render(request, "initiatives/actortype_detail.html", context)


def purpose_detail(request: HttpRequest, slug: str) -> HttpResponse:
    purpose = get_object_or_404(Purpose, slug=slug)
    context = browse(
        request,
        fixed={"purpose": purpose.slug},
    )
    context["purpose"] = purpose
    return render(request, "initiatives/purpose_detail.html", context)


def organisation_detail(request: HttpRequest, slug: str) -> HttpResponse:
    # A proposed organisation has no public page until a moderator approves it.
    organisation = get_object_or_404(
        Organisation.objects.approved().select_related("actor_type", "municipality__county"),
        slug=slug,
    )
    context = browse(request, organisation=organisation)
    context["organisation"] = organisation
    catalogue = engine.engine()
    context["led_count"] = catalogue.led_count(organisation.pk)
    # The newest partnerships only: a big partner's whole list is the list below.
    partnered = catalogue.values("partner", organisation.pk)
    context["partner_count"] = len(partnered)
    context["partner_roles"] = in_order(
        Participation.objects.filter(organisation=organisation).select_related("initiative"),
        catalogue.newest(partnered, 0, PARTNER_ROLES_SHOWN),
        key="initiative_id",
    )
    # The networks app's rows through their reverse relations: this app never imports it.
    context["memberships"] = organisation.network_memberships.filter(
        status="active"
    ).select_related("network__parent")
    context["seats"] = organisation.working_group_seats.select_related("working_group").order_by(
        "-working_group__year", "working_group__name", "name", "pk"
    )
    return render(request, "initiatives/organisation_detail.html", context)


def initiative_detail(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = get_object_or_404(
        Initiative.objects.published()
        .with_details()
        .with_adoptions()
        .with_progress_reports()
        .prefetch_related("presentations__event"),
        slug=slug,
    )
    related = Initiative.objects.published().related_to(initiative)
    context = {
        "initiative": initiative,
        "related": related,
        "involvement_aim": Initiative.INVOLVEMENT_AIMS.get(initiative.involvement, ""),
        **reports.report_context(request.user, initiative),
        **thread_context(request.user, initiative=initiative),
    }
    if request.user.is_authenticated:
        context.update(adoption_choices(request.user, initiative))
    return render(request, "initiatives/initiative_detail.html", context)


# --- Organisations: joining, proposing, deciding on requests ----------------------


RESERVED_ORGANISATION_SLUGS = frozenset({"bli-med", "foresla"})  # paths under organisasjoner/


def unique_organisation_slug(name: str) -> str:
    return slugs.unique_slug(
        name,
        Organisation.objects.all(),
        fallback="organisasjon",
        reserved=RESERVED_ORGANISATION_SLUGS,
    )


# A person joins an organisation or two; more is a script filling members' and moderators'
# inboxes. Per address generous enough for a workshop behind one.
JOIN_REQUESTS_PER_ACCOUNT = Limit("organisation-join-account", limit=5, window=60 * 60)
JOIN_REQUESTS_PER_IP = Limit("organisation-join-ip", limit=20, window=60 * 60)


@confirmed_email_required
def organisation_join(request: HttpRequest) -> HttpResponse:
    search_form = OrganisationSearchForm(request.GET or None)
    search = search_form.cleaned_data["q"].strip() if search_form.is_valid() else ""
    if request.method == "POST":
        for limit, key in (
            (JOIN_REQUESTS_PER_ACCOUNT, str(request.user.pk)),
            (JOIN_REQUESTS_PER_IP, client_ip(request)),
        ):
            if limit.too_many(key):
                context = {"form": OrganisationJoinForm(None, search=search), "search": search}
                return render_limited(request, "initiatives/organisation_join.html", context, limit)
    form = OrganisationJoinForm(posted(request), search=search)
    if request.method == "POST" and form.is_valid():
        organisation = form.cleaned_data["organisation"]
        existing = OrganisationMember.objects.filter(
            organisation=organisation, user=request.user
        ).first()
        if existing is not None and existing.is_active:
            messages.info(
                request,
                _("You are already a member of %(organisation)s.")
                % {"organisation": organisation.name},
            )
        elif existing is not None and existing.status == OrganisationMember.Status.REQUESTED:
            messages.info(
                request,
                _(
                    "You have already asked to join %(organisation)s. A member of the "
                    "organisation or a moderator approves the request."
                )
                % {"organisation": organisation.name},
            )
        else:
            try:
                request_membership(request.user, organisation)
            except AskedTooSoon as refusal:
                form.add_error(
                    "organisation",
                    _(
                        "%(organisation)s declined your request to join on %(declined)s. "
                        "You can ask again from %(again)s."
                    )
                    % {
                        "organisation": organisation.name,
                        "declined": date_format(timezone.localdate(refusal.declined_at)),
                        "again": date_format(timezone.localdate(refusal.ask_again_from)),
                    },
                )
                return render(
                    request,
                    "initiatives/organisation_join.html",
                    {"form": form, "search": search},
                    status=409,
                )
            messages.success(
                request,
                _(
                    "Your request to join %(organisation)s has been sent. A member of the "
                    "organisation or a moderator approves it, and you get an e-mail when they have."
                )
                % {"organisation": organisation.name},
            )
        return redirect("initiatives:my_page")
    return render(
        request,
        "initiatives/organisation_join.html",
        {
            "form": form,
            "search": search,
            "no_match": bool(search) and not form.fields["organisation"].queryset.exists(),
        },
    )


@confirmed_email_required
def organisation_propose(request: HttpRequest) -> HttpResponse:
    form = OrganisationProposeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                organisation = form.save(commit=False)
                organisation.status = Organisation.Status.PROPOSED
                organisation.proposed_by = request.user
                organisation.slug = unique_organisation_slug(organisation.name)
                organisation.save()
                # The proposer is its first member, so they can share initiatives for it and
                # let colleagues in; the public sees it only once a moderator approves it.
                OrganisationMember.objects.create(
                    organisation=organisation,
                    user=request.user,
                    role=OrganisationMember.Role.ADMIN,
                    status=OrganisationMember.Status.ACTIVE,
                )
                send_to(
                    "email/organisation_proposed",
                    {"organisation": organisation, "proposer": person(request.user)},
                    moderators(),
                )
        except IntegrityError:
            # Someone registered the same number (or slug) between the check and the save.
            form.add_error(
                None,
                _(
                    "Another organisation was registered with the same details just now. "
                    "Check the organisation number and try again."
                ),
            )
        else:
            messages.success(
                request,
                _(
                    "Thank you. %(organisation)s has been proposed and you are its first member. "
                    "A moderator checks it before it is shown publicly."
                )
                % {"organisation": organisation.name},
            )
            return redirect("initiatives:my_page")
    return render(request, "initiatives/organisation_propose.html", {"form": form})


def membership_to_decide(request: HttpRequest, pk: int) -> OrganisationMember:
    """A membership the user may approve or decline: as a moderator or an active member of its
    organisation. Someone only asking to join (the requester included) may not (403); anyone
    else is not told the request exists (404)."""
    membership = get_object_or_404(
        OrganisationMember.objects.select_related("organisation", "user"), pk=pk
    )
    if can_moderate(request.user):
        return membership
    own = OrganisationMember.objects.filter(
        organisation=membership.organisation_id, user=request.user
    ).first()
    if own is None:
        raise Http404(_("There is no such membership request."))
    if not own.is_active:
        raise PermissionDenied
    return membership


def person(user) -> str:
    return user.get_full_name() or user.email or user.get_username()


@require_POST
@confirmed_email_required
def membership_approve(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_to_decide(request, pk)
    names = {"person": person(membership.user), "organisation": membership.organisation.name}
    if membership.is_active:
        messages.info(request, _("%(person)s is already a member of %(organisation)s.") % names)
    else:
        try:
            membership.approve(by=request.user)
        except IllegalTransition as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("%(person)s is now a member of %(organisation)s.") % names)
    return redirect("initiatives:my_page")


@require_POST
@confirmed_email_required
def membership_decline(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_to_decide(request, pk)
    names = {"person": person(membership.user), "organisation": membership.organisation.name}
    try:
        membership.decline(by=request.user)
    except IllegalTransition as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The request from %(person)s to join %(organisation)s was declined.") % names
        )
    return redirect("initiatives:my_page")


# --- My page ---------------------------------------------------------------------------


@login_required
def my_page(request: HttpRequest) -> HttpResponse:
    """The user's organisations, the requests to join them, and their initiatives and adoptions;
    for moderators also the requests to join organisations no member can decide.

    A fixed number of queries however many of each there are.
    """
    user = request.user
    memberships = list(
        OrganisationMember.objects.filter(user=user)
        .select_related("organisation")
        .order_by("organisation__name")
    )
    active_ids = [m.organisation_id for m in memberships if m.is_active]
    join_requests = (
        OrganisationMember.objects.requested()
        .filter(organisation__in=active_ids)
        .exclude(user=user)
        .select_related("user", "organisation")
        # Whoever approves sees whether the requester's address is confirmed.
        .annotate(email_confirmed_at=F("user__profile__email_confirmed_at"))
        .order_by("organisation__name", "created")
    )
    # What they may edit, but for moderators (who may edit everything) only their own.
    initiatives = (
        Initiative.objects.editable_by(user)
        .filter(Q(created_by=user) | Q(lead_organisation__in=active_ids))
        .select_related("lead_organisation")
        .defer("search_vector", "facet_keys")
        .order_by("-updated", "-pk")
    )
    adoptions = (
        # Only adoptions of published initiatives: one taken back to draft is the lead's again.
        Adoption.objects.filter(
            organisation__in=active_ids, initiative__status=Initiative.Status.PUBLISHED
        )
        .select_related("initiative", "organisation")
        .defer("initiative__search_vector", "initiative__facet_keys")
        .order_by("-created", "-pk")
    )
    # Nobody in the organisation can decide these, so the moderators do (request_membership
    # e-mails them); here they need not go through the admin.
    undecided_requests = (
        OrganisationMember.objects.without_decider()
        .select_related("user", "organisation")
        .annotate(email_confirmed_at=F("user__profile__email_confirmed_at"))
        .order_by("created", "pk")
        if can_moderate(user)
        else OrganisationMember.objects.none()
    )
    return render(
        request,
        "initiatives/my_page.html",
        {
            "memberships": memberships,
            "join_requests": join_requests,
            "undecided_requests": undecided_requests,
            "initiatives": initiatives,
            "adoptions": adoptions,
            "email_confirmed": profile_for(user).email_confirmed,
        },
    )


# --- Adoption: "our organisation has taken this up" -----------------------------------


def adoption_choices(user, initiative: Initiative) -> dict:
    """What a signed-in visitor may do about adoptions on the initiative page, and what to
    tell them when they may not report one yet: confirm their address, wait for their
    membership (or their proposed organisation) to be approved, or join an organisation.
    Members of the lead organisation are told it leads the initiative; they report for
    their other organisations only.

    Reads the initiative's adoptions from its prefetched list, so the number of
    queries does not depend on how many organisations adopted it.
    """
    mine = list(Organisation.objects.acting_for(user).only("pk", "name"))
    mine_ids = {organisation.pk for organisation in mine}
    moderator = can_moderate(user)
    adoptions = initiative.adoptions.all()
    adopted = {adoption.organisation_id for adoption in adoptions}
    free = [
        organisation.pk
        for organisation in mine
        if organisation.pk not in adopted and organisation.pk != initiative.lead_organisation_id
    ]
    # Memberships that will let them report once approved: a request to join, or the
    # organisation they proposed, which a moderator has yet to approve.
    waiting = (
        OrganisationMember.objects.filter(user=user)
        .filter(
            Q(status=OrganisationMember.Status.REQUESTED)
            | Q(
                status=OrganisationMember.Status.ACTIVE,
                organisation__in=Organisation.objects.proposed(),
            )
        )
        .select_related("organisation")
        .order_by("organisation__name", "pk")
    )
    return {
        "email_confirmed": email_confirmed(user),
        "leads_it": initiative.lead_organisation_id in mine_ids,
        "waiting_memberships": [] if mine else list(waiting),
        "member_of_any": bool(mine),
        "manageable_adoptions": {
            adoption.pk
            for adoption in adoptions
            if moderator or adoption.organisation_id in mine_ids
        },
        "adoption_form": AdoptionForm(
            organisations=Organisation.objects.filter(pk__in=free).order_by("name")
        )
        if free
        else None,
    }


def may_manage_adoption(user, adoption: Adoption) -> bool:
    return (
        can_moderate(user)
        or OrganisationMember.objects.active()
        .filter(user=user, organisation=adoption.organisation_id)
        .exists()
    )


def published_initiative(slug: str) -> Initiative:
    return get_object_or_404(
        Initiative.objects.published().select_related("lead_organisation"), slug=slug
    )


@confirmed_email_required
def adoption_create(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = published_initiative(slug)
    mine = list(Organisation.objects.acting_for(request.user).order_by("name"))
    context = {"initiative": initiative, "adoption": None}
    if not mine:
        # Signed in, but not for an organisation: only members report for one.
        context["reason"] = "no_organisation"
        return render(request, "initiatives/adoption_form.html", context, status=403)
    adopted = dict(
        Adoption.objects.filter(
            initiative=initiative, organisation__in=[o.pk for o in mine]
        ).values_list("organisation_id", "pk")
    )
    free = [o.pk for o in mine if o.pk not in adopted and o.pk != initiative.lead_organisation_id]
    context["leads_it"] = any(o.pk == initiative.lead_organisation_id for o in mine)
    if not free:
        # Nothing left to report: each organisation has reported it already or leads it.
        context["reason"] = "all_adopted" if adopted else "lead"
        context["own_adoptions"] = (
            Adoption.objects.filter(pk__in=adopted.values())
            .select_related("organisation")
            .order_by("organisation__name")
        )
        return render(request, "initiatives/adoption_form.html", context)

    form = AdoptionForm(
        posted(request),
        organisations=Organisation.objects.filter(pk__in=free).order_by("name"),
        instance=Adoption(initiative=initiative, reported_by=request.user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                adoption = form.save()
        except IntegrityError:
            # The same organisation reported it from another tab a moment ago.
            form.add_error(
                "organisation",
                _("This organisation has already reported that it took up this initiative."),
            )
        else:
            messages.success(
                request,
                _("Thank you. %(organisation)s is now shown as having taken this up.")
                % {"organisation": adoption.organisation.name},
            )
            return redirect(initiative)
    context["form"] = form
    return render(request, "initiatives/adoption_form.html", context)


def adoption_to_manage(request: HttpRequest, slug: str, pk: int) -> Adoption:
    """An adoption the user may change: 404 if it is not there (or not public), 403 if they
    are neither a moderator nor an active member of the adopting organisation."""
    initiative = published_initiative(slug)
    adoption = get_object_or_404(
        Adoption.objects.select_related("organisation"), pk=pk, initiative=initiative
    )
    adoption.initiative = initiative
    if not may_manage_adoption(request.user, adoption):
        raise PermissionDenied
    return adoption


@confirmed_email_required
def adoption_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    adoption = adoption_to_manage(request, slug, pk)
    form = AdoptionNoteForm(posted(request), instance=adoption)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():  # the note and the engine's change log together
            form.save()
        messages.success(
            request,
            _("The note from %(organisation)s was saved.")
            % {"organisation": adoption.organisation.name},
        )
        return redirect(adoption.initiative)
    return render(
        request,
        "initiatives/adoption_form.html",
        {"initiative": adoption.initiative, "adoption": adoption, "form": form},
    )


@require_POST
@login_required
def adoption_withdraw(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    adoption = adoption_to_manage(request, slug, pk)
    with transaction.atomic():
        adoption.delete()
    messages.success(
        request,
        _("%(organisation)s is no longer shown as having taken this up.")
        % {"organisation": adoption.organisation.name},
    )
    return redirect(adoption.initiative)


# --- Contact without exposure ----------------------------------------------------------

# A person writes a few messages; a robot or a pile-on writes many. Only the sender is
# limited, never the initiative: many senders must not be able to silence its contact.
CONTACT_MESSAGES_PER_ACCOUNT = Limit("contact-account", limit=5, window=60 * 60)
CONTACT_MESSAGES_PER_IP = Limit("contact-ip", limit=20, window=60 * 60)


@confirmed_email_required
def contact(request: HttpRequest, slug: str) -> HttpResponse:
    """A message to the contact person, e-mailed with Reply-To the sender; the contact
    person's address is never shown. Only for published initiatives with an address, and
    only from accounts with a confirmed address, which is the one replied to."""
    initiative = get_object_or_404(
        Initiative.objects.published()
        .exclude(contact_email="")
        .select_related("lead_organisation"),
        slug=slug,
    )
    user = request.user
    form = ContactForm(posted(request), initial={"name": user.get_full_name(), "email": user.email})
    # The reply goes to the confirmed address, never to one typed in: disabled fields
    # take their initial value whatever is posted.
    form.fields["email"].disabled = True
    limit, problem = None, ""
    if request.method == "POST" and form.is_valid():
        sent = _("Your message was sent. The contact person replies to your e-mail address.")
        if form.is_trap:
            # Robots are told it went, so they do not try again differently.
            messages.success(request, sent)
            return redirect(initiative)
        # Checked in order; once one refuses, the later ones count nothing for this message.
        limit = next(
            (
                candidate
                for candidate, key in (
                    (CONTACT_MESSAGES_PER_ACCOUNT, str(user.pk)),
                    (CONTACT_MESSAGES_PER_IP, client_ip(request)),
                )
                if candidate.too_many(key)
            ),
            None,
        )
        if limit is not None:
            wait = limit.minutes_left()
            problem = ngettext(
                "Many messages have been sent from your account or your connection in a short "
                "time. This one has not been sent; please try again in %(minutes)d minute. "
                "What you wrote is kept below.",
                "Many messages have been sent from your account or your connection in a short "
                "time. This one has not been sent; please try again in %(minutes)d minutes. "
                "What you wrote is kept below.",
                wait,
            ) % {"minutes": wait}
        else:
            send_contact_message(initiative, form.cleaned_data)
            messages.success(request, sent)
            return redirect(initiative)
    response = render(
        request,
        "initiatives/contact_form.html",
        {"initiative": initiative, "form": form, "problem": problem},
        status=200 if limit is None else 429,
    )
    if limit is not None:
        response["Retry-After"] = str(limit.seconds_left())
    return response


def send_contact_message(initiative: Initiative, data: dict) -> None:
    """Queue the message for the contact person, in their language, Reply-To the sender.

    Through the outbox like every mail: what the sender wrote is kept and sent when the
    mail server answers, so the form never fails because of it.
    """
    context = {
        "initiative": initiative,
        "name": data["name"],
        "email": data["email"],
        "message": data["message"],
    }
    send_to("email/contact_message", context, [initiative.contact_email], reply_to=data["email"])


# --- Exports: the list as CSV and XLSX (initiatives/exports.py) ------------------------


def initiative_export_csv(request: HttpRequest) -> HttpResponse:
    """The web list's state in the URL (filters, search, sort) as a CSV file: the same
    initiatives in the same order as the page, streamed as they are read."""
    if refused := exports.refused(request):
        return refused
    query, listing, _problems = listing_from_url(request)
    lines = exports.csv_lines(listing, query.sort, translation.get_language())
    response = StreamingHttpResponse(lines, content_type=exports.CSV_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, exports.filename("csv"))
    return response


def initiative_export_xlsx(request: HttpRequest) -> HttpResponse:
    """The same as initiative_export_csv, as an Excel workbook."""
    if refused := exports.refused(request):
        return refused
    query, listing, _problems = listing_from_url(request)
    return FileResponse(
        exports.xlsx_file(listing, query.sort),
        as_attachment=True,
        filename=exports.filename("xlsx"),
        content_type=exports.XLSX_TYPE,
    )


# --- Statistics (initiatives/statistics.py) -----------------------------------------------


def statistics(request: HttpRequest) -> HttpResponse:
    """The published catalogue in charts, each with its summary, data table and links to
    the list filtered the same way."""
    figures = statistics_figures()
    return render(
        request,
        "initiatives/statistics.html",
        {
            "figures": figures,
            "charts_before_map": figures.charts[:4],
            "charts_after_map": figures.charts[4:],
        },
    )


def statistics_csv(request: HttpRequest) -> HttpResponse:
    """The statistics page's figures, one row per (chart, key, label, count), in the page's
    language."""
    figures = statistics_figures()
    response = HttpResponse(content_type=exports.CSV_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, "statistikk.csv")
    response.write(BOM)
    writer = csv.writer(response, delimiter=CSV_DELIMITER)
    writer.writerow([_("chart"), _("key"), _("label"), _("count")])
    for row in figures.rows():
        writer.writerow(guarded_row(list(row)))
    return response
