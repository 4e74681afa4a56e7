from django.contrib import messages
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from initiatives.facets import (
    FACET_HELP,
    FACETS,
    SINGLE,
    Chip,
    build_facets,
    clear_all_url,
    listing_for,
)
from initiatives.filters import InitiativeFilter, Sort
from initiatives.models import (
    ActorType,
    Adoption,
    Goal,
    Initiative,
    Organisation,
    Participation,
    Purpose,
)
from initiatives.search import CAP

PER_PAGE = 20
MAX_VALUES = 20  # per parameter; more is not a person choosing filters
MAX_LENGTH = 200


def clean_query(request: HttpRequest) -> tuple[QueryDict, list[str]]:
    """The parameters the list understands, without values no filter could use."""
    data, problems = QueryDict(mutable=True), []
    for key in request.GET:
        if key not in (*FACETS, "q", "sort"):
            continue
        values = request.GET.getlist(key)[:MAX_VALUES]
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


class KnownCountPaginator(Paginator):
    """Pages of a queryset whose count is known (cached), read in two steps.

    First the page's ids, which an index answers even far into the list, then
    the full rows of just those ids: a late page no longer reads every row
    before it.
    """

    def __init__(self, object_list: QuerySet, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.known_count = count

    @property
    def count(self) -> int:
        return self.known_count

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = list(self.object_list.values_list("pk", flat=True)[bottom : bottom + self.per_page])
        rows = {row.pk: row for row in self.object_list.order_by().filter(pk__in=ids)}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


def page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise Http404(_("There is no such page."))
    return int(raw)


def browse(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    fixed: dict[str, str] | None = None,
    scope: str = "",
) -> dict:
    """Filter, search, count facets and paginate `queryset` (already public) from the URL.

    `fixed` holds facet values a page stands for (the goal of a goal page): they
    filter like the rest but are not shown as removable choices. `scope` names a
    base queryset narrower than all published initiatives, for the cache key.
    """
    fixed = fixed or {}
    data, problems = clean_query(request)
    for name in fixed:
        data.pop(name, None)
    filter_data = data.copy()
    for name, value in fixed.items():
        filter_data[name] = value
    filterset = InitiativeFilter(filter_data, queryset=queryset)
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
        filterset = InitiativeFilter(filter_data, queryset=queryset)
    results, listing = listing_for(filterset, scope)
    search = filterset.search_result
    counts = listing.counts
    paginator = KnownCountPaginator(
        results.select_related("lead_organisation", "municipality", "county").prefetch_related(
            Prefetch("goals", queryset=Goal.objects.order_by("number")), "tags"
        ),
        PER_PAGE,
        count=listing.total,
    )
    try:
        page = paginator.page(page_number(request))
    except InvalidPage as error:
        raise Http404(_("There is no such page.")) from error
    adoptions = dict(
        Adoption.objects.filter(initiative__in=[i.pk for i in page.object_list])
        .values("initiative")
        .annotate(n=Count("pk"))
        .values_list("initiative", "n")
    )
    for initiative in page.object_list:
        initiative.adoption_total = adoptions.get(initiative.pk, 0)

    facets, chips = build_facets(data, counts, fixed, filter_data)
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
        "filterset": filterset,
        "query": data,
        "page_obj": page,
        "paginator": paginator,
        "initiatives": page.object_list,
        "facets": facets,
        "facet_help": FACET_HELP,
        "chips": chips,
        "clear_all_url": clear_all_url(data),
        # "Clear all" keeps the search text, so it means something only with a facet chosen.
        "facets_chosen": any(name in data for name in FACETS),
        "search_text": data.get("q", ""),
        "capped": bool(search and search.capped),
        "cap": CAP,
        "fuzzy": bool(search and search.fuzzy),
        "sort": filterset.sort_order(),
        "sort_choices": sort_choices,
        "hidden_params": [
            (k, v) for k in data for v in data.getlist(k) if k not in ("sort", "page")
        ],
        "search_hidden_params": [
            (k, v) for k in data for v in data.getlist(k) if k not in ("q", "page", "sort")
        ],
        "page_query": _without_page(data),
    }


def _without_page(data: QueryDict) -> str:
    rest = data.copy()
    rest.pop("page", None)
    return rest.urlencode()


def initiative_list(request: HttpRequest) -> HttpResponse:
    context = browse(request, Initiative.objects.published())
    return render(request, "initiatives/initiative_list.html", context)


def goal_detail(request: HttpRequest, number: int) -> HttpResponse:
    goal = get_object_or_404(Goal, number=number)
    context = browse(
        request,
        Initiative.objects.published(),
        fixed={"goal": str(goal.number)},
    )
    context["goal"] = goal
    context["targets"] = goal.targets.all()
    return render(request, "initiatives/goal_detail.html", context)


def actor_type_detail(request: HttpRequest, slug: str) -> HttpResponse:
    actor_type = get_object_or_404(ActorType, slug=slug)
    context = browse(
        request,
        Initiative.objects.published(),
        fixed={"actor_type": actor_type.slug},
    )
    context["actor_type"] = actor_type
    return render(request, "initiatives/actortype_detail.html", context)


def purpose_detail(request: HttpRequest, slug: str) -> HttpResponse:
    purpose = get_object_or_404(Purpose, slug=slug)
    context = browse(
        request,
        Initiative.objects.published(),
        fixed={"purpose": purpose.slug},
    )
    context["purpose"] = purpose
    return render(request, "initiatives/purpose_detail.html", context)


def organisation_detail(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = get_object_or_404(
        Organisation.objects.select_related("actor_type", "municipality__county"), slug=slug
    )
    involved = Initiative.objects.published().filter(
        Q(lead_organisation=organisation) | Q(participations__organisation=organisation)
    )
    # The OR over a join can repeat rows; select by id to keep them unique.
    queryset = Initiative.objects.published().filter(pk__in=involved.values("pk"))
    context = browse(request, queryset, scope=f"organisation:{organisation.pk}")
    context["organisation"] = organisation
    context["led_count"] = (
        Initiative.objects.published().filter(lead_organisation=organisation).count()
    )
    context["partner_roles"] = (
        Participation.objects.filter(
            organisation=organisation, initiative__status=Initiative.Status.PUBLISHED
        )
        .select_related("initiative")
        .order_by("initiative__title")
    )
    context["memberships"] = organisation.network_memberships.filter(
        status="active"
    ).select_related("network")
    return render(request, "initiatives/organisation_detail.html", context)


def initiative_detail(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = get_object_or_404(
        Initiative.objects.published()
        .select_related("lead_organisation__actor_type", "municipality__county", "county")
        .prefetch_related(
            Prefetch(
                "participations", queryset=Participation.objects.select_related("organisation")
            ),
            Prefetch("goals", queryset=Goal.objects.order_by("number")),
            "targets",
            "purposes",
            "actor_types",
            "focus_areas",
            "tags",
            "links",
            "attachments",
            Prefetch("adoptions", queryset=Adoption.objects.select_related("organisation")),
            "presentations__event",
        ),
        slug=slug,
    )
    related = Initiative.objects.published().related_to(initiative)
    return render(
        request,
        "initiatives/initiative_detail.html",
        {
            "initiative": initiative,
            "related": related,
            "involvement_aim": Initiative.INVOLVEMENT_AIMS.get(initiative.involvement, ""),
        },
    )
