"""Facet counts for the initiative list, and the links and chips built from them.

Multi-valued facets (purpose, actor type, goal, target, focus area, tag) narrow
with AND, so their counts are taken on the current results. Single-valued facets
(group, county, municipality, phase, involvement, adopted) replace their value,
so their counts are taken on the results with every *other* facet applied. Either
way a count is exactly what following its link gives.

The counts are cached per query and "catalogue version", which changes whenever
what the public sees changes.
"""

import hashlib
import json
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from taggit.models import Tag, TaggedItem

from initiatives import search
from initiatives.filters import InitiativeFilter
from initiatives.models import (
    ActorType,
    Adoption,
    County,
    FocusArea,
    Goal,
    Initiative,
    Municipality,
    Purpose,
    Target,
    catalogue_version,
)

MULTI = ("goal", "target", "purpose", "actor_type", "focus_area", "tag")
SINGLE = ("group", "county", "municipality", "phase", "involvement", "adopted")
FACETS = ("goal", "target", "purpose", "group", "actor_type", "focus_area", "tag", "county", "municipality", "phase", "involvement", "adopted")  # fmt: skip
TOP_TAGS = 20
CACHE_SECONDS = 600


@dataclass
class Option:
    value: str
    label: str
    count: int
    selected: bool
    url: str = ""


@dataclass
class Facet:
    name: str
    label: str
    multiple: bool
    options: list[Option] = field(default_factory=list)


@dataclass
class Chip:
    label: str
    url: str


def ids(queryset: QuerySet) -> QuerySet:
    return queryset.order_by().values("pk")


def _m2m_counts(through, key: str, result_ids: QuerySet, **extra) -> dict[str, int]:
    rows = (
        through.objects.filter(initiative_id__in=result_ids, **extra)
        .values(key)
        .annotate(n=Count("initiative_id"))
        .values_list(key, "n")
    )
    return {str(value): n for value, n in rows}


def _field_counts(queryset: QuerySet, key: str) -> dict[str, int]:
    rows = queryset.order_by().values(key).annotate(n=Count("pk")).values_list(key, "n")
    return {str(value): n for value, n in rows if value not in (None, "")}


def _multi_counts_from_keys(result_ids: QuerySet, goals: list[str]) -> dict[str, dict[str, int]]:
    """PostgreSQL: every multi-valued facet from the facet keys, in one pass over the results."""
    kinds = ("goal", "purpose", "actor_type", "focus_area", "tag", *(("target",) if goals else ()))
    by_id = search.facet_key_counts(result_ids, kinds)
    top_tags = sorted(by_id["tag"].items(), key=lambda item: -item[1])[:TOP_TAGS]
    slugs = {
        "purpose": dict(Purpose.objects.values_list("pk", "slug")),
        "actor_type": dict(ActorType.objects.values_list("pk", "slug")),
        "focus_area": dict(FocusArea.objects.values_list("pk", "slug")),
        "tag": dict(
            Tag.objects.filter(pk__in=[pk for pk, _ in top_tags]).values_list("pk", "slug")
        ),
        "target": dict(Target.objects.filter(goal__number__in=goals).values_list("pk", "code"))
        if goals
        else {},
    }
    counts = {"goal": {str(number): n for number, n in by_id["goal"].items()}, "target": {}}
    for kind, names in slugs.items():
        if kind in by_id:
            counts[kind] = {names[pk]: n for pk, n in by_id[kind].items() if pk in names}
    counts["tag"] = {slugs["tag"][pk]: n for pk, n in top_tags if pk in slugs["tag"]}
    return counts


def _multi_counts_from_relations(
    result_ids: QuerySet, goals: list[str]
) -> dict[str, dict[str, int]]:
    """Elsewhere: through the relations, a query per facet."""
    initiative_type = ContentType.objects.get_for_model(Initiative)
    return {
        "goal": _m2m_counts(Initiative.goals.through, "goal__number", result_ids),
        "purpose": _m2m_counts(Initiative.purposes.through, "purpose__slug", result_ids),
        "actor_type": _m2m_counts(Initiative.actor_types.through, "actortype__slug", result_ids),
        "focus_area": _m2m_counts(Initiative.focus_areas.through, "focusarea__slug", result_ids),
        "tag": dict(
            TaggedItem.objects.filter(content_type=initiative_type, object_id__in=result_ids)
            .values("tag__slug")
            .annotate(n=Count("pk"))
            .order_by("-n", "tag__slug")
            .values_list("tag__slug", "n")[:TOP_TAGS]
        ),
        "target": (
            _m2m_counts(
                Initiative.targets.through,
                "target__code",
                result_ids,
                target__goal__number__in=goals,
            )
            if goals
            else {}
        ),
    }


def count_facets(
    data: QueryDict, queryset: QuerySet, results: QuerySet, search_mode: str | None = None
) -> dict[str, dict[str, int]]:
    """Count every facet's values; `results` is `queryset` with all of `data` applied.

    `search_mode` is how the text search of `results` went; the other bases search alike.
    """
    result_ids = ids(results)
    goals = data.getlist("goal")
    counts = (
        _multi_counts_from_keys(result_ids, goals)
        if search.on_postgresql()
        else _multi_counts_from_relations(result_ids, goals)
    )

    def without(*names: str) -> QuerySet:
        rest = data.copy()
        for name in names:
            rest.pop(name, None)
        return InitiativeFilter(rest, queryset=queryset, search_mode=search_mode).qs

    group_base = ids(without("group"))
    if search.on_postgresql():
        by_index = search.facet_key_counts(group_base, ("group",))["group"]
        counts["group"] = {ActorType.Group.values[index]: n for index, n in by_index.items()}
    else:
        counts["group"] = dict(
            Initiative.actor_types.through.objects.filter(initiative_id__in=group_base)
            .values("actortype__group")
            .annotate(n=Count("initiative_id", distinct=True))
            .values_list("actortype__group", "n")
        )
    counts["county"] = _field_counts(
        without("county", "municipality").annotate(
            county_number=Coalesce("county__number", "municipality__county__number")
        ),
        "county_number",
    )
    county = data.get("county")
    counts["municipality"] = (
        _field_counts(
            without("municipality").filter(municipality__county__number=county),
            "municipality__number",
        )
        if county
        else {}
    )
    counts["phase"] = _field_counts(without("phase"), "phase")
    counts["involvement"] = _field_counts(without("involvement"), "involvement")
    adoption = without("adopted").aggregate(
        total=Count("pk"),
        yes=Count("pk", filter=Q(Exists(Adoption.objects.filter(initiative=OuterRef("pk"))))),
    )
    counts["adopted"] = {"yes": adoption["yes"], "no": adoption["total"] - adoption["yes"]}
    return counts


@dataclass
class Listing:
    """What a list page needs besides the page itself; cached per query."""

    counts: dict[str, dict[str, int]]
    total: int
    search_mode: str | None
    capped_ids: list[int] | None = None


def listing_cache_key(data: QueryDict, scope: str) -> str:
    state = sorted((key, sorted(data.getlist(key))) for key in data if key not in ("sort", "page"))
    digest = hashlib.sha256(json.dumps([scope, state]).encode()).hexdigest()
    return f"initiatives:listing:{catalogue_version()}:{digest}"


def listing_for(filterset: InitiativeFilter, scope: str = "") -> tuple[QuerySet, Listing]:
    """The filtered results and their Listing, from the cache when another request made it.

    A cached Listing also tells the filterset how its text search went, so the
    search is not decided again; the page itself is always read fresh.
    """
    key = listing_cache_key(filterset.data, scope)
    listing = cache.get(key)
    if listing:
        filterset.search_mode = listing.search_mode
        filterset.capped_ids = listing.capped_ids
    results = filterset.qs
    if listing is None:
        search = filterset.search_result
        search_mode = search.mode if search else None
        listing = Listing(
            counts=count_facets(filterset.data, filterset.queryset, results, search_mode),
            total=results.count(),
            search_mode=search_mode,
            capped_ids=search.capped_ids if search else None,
        )
        cache.set(key, listing, CACHE_SECONDS)
    return results, listing


def warm_public_listing() -> None:
    """Count the unfiltered list now, so its first visitor after a change need not wait."""
    listing_for(InitiativeFilter(QueryDict(), queryset=Initiative.objects.published()))


def _labels(data: QueryDict) -> dict[str, dict[str, str]]:
    """The visible names of every value a facet may show, in the active language."""
    labels = {
        "goal": {str(g.number): str(g) for g in Goal.objects.all()},
        "purpose": {p.slug: p.name for p in Purpose.objects.all()},
        "actor_type": {a.slug: a.name for a in ActorType.objects.all()},
        "focus_area": {f.slug: f.name for f in FocusArea.objects.all()},
        "county": {c.number: c.name for c in County.objects.all()},
        "group": dict(ActorType.Group.choices),
        "phase": dict(Initiative.Phase.choices),
        "involvement": dict(Initiative.Involvement.choices),
        "adopted": dict(InitiativeFilter.base_filters["adopted"].extra["choices"]),
        "target": {},
        "tag": {},
        "municipality": {},
    }
    goals = data.getlist("goal")
    if goals:
        labels["target"] = {
            t.code: f"{t.code} {t.text}" for t in Target.objects.filter(goal__number__in=goals)
        }
    county = data.get("county")
    if county:
        labels["municipality"] = {
            m.number: m.name for m in Municipality.objects.filter(county__number=county)
        }
    return labels


def _url(data: QueryDict) -> str:
    return "?" + data.urlencode() if data else "?"


def toggled(data: QueryDict, name: str, value: str) -> str:
    """The URL with `value` added to or removed from facet `name` (back to page 1)."""
    new = data.copy()
    new.pop("page", None)
    values = new.getlist(name)
    if name in MULTI:
        new.setlist(
            name, [v for v in values if v != value] if value in values else [*values, value]
        )
    elif value in values:
        new.pop(name)
    else:
        new[name] = value
    if name == "county":
        new.pop("municipality", None)
    if name == "goal":
        # Targets belong to goals: keep only those of goals still chosen.
        goals = new.getlist("goal")
        new.setlist("target", [t for t in new.getlist("target") if t.split(".")[0] in goals])
    return _url(new)


def build_facets(
    data: QueryDict,
    counts: dict[str, dict[str, int]],
    fixed: dict[str, str],
    filter_data: QueryDict,
) -> tuple[list[Facet], list[Chip]]:
    """Facets with options and links, and chips for what is chosen; fixed facets are left out.

    `data` is what the visitor chose (links change it); `filter_data` adds the fixed values.
    """
    labels = _labels(filter_data)
    tag_names = dict(
        Tag.objects.filter(slug__in=[*counts["tag"], *data.getlist("tag")]).values_list(
            "slug", "name"
        )
    )
    labels["tag"] = tag_names
    facets, chips = [], []
    for name in FACETS:
        if name in fixed:
            continue
        filter_ = InitiativeFilter.base_filters[name]
        chosen = data.getlist(name)
        facet = Facet(name=name, label=filter_.label, multiple=name in MULTI)
        values = list(labels[name]) if name not in ("tag",) else list(counts["tag"])
        for value in values + [v for v in chosen if v not in values and v in labels[name]]:
            count = counts[name].get(value, 0)
            selected = value in chosen
            if count or selected:
                facet.options.append(
                    Option(
                        value,
                        labels[name].get(value, value),
                        count,
                        selected,
                        toggled(data, name, value),
                    )
                )
        if facet.options:
            facets.append(facet)
        for value in chosen:
            if value in labels[name]:
                chips.append(
                    Chip(f"{filter_.label}: {labels[name][value]}", toggled(data, name, value))
                )
    return facets, chips


def clear_all_url(data: QueryDict) -> str:
    """Every facet removed; the search text and sort stay."""
    kept = QueryDict(mutable=True)
    for name in ("q", "sort"):
        if data.get(name):
            kept[name] = data[name]
    return _url(kept)


FACET_HELP = _("The number after each choice is how many initiatives you get by choosing it.")
