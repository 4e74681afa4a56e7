"""Facet counts for the initiative list, and the links and chips built from them.

Multi-valued facets (purpose, actor type, goal, target, focus area, tag) narrow
with AND, so their counts are taken on the current results. Single-valued facets
(group, county, municipality, phase, involvement, adopted) replace their value,
so their counts are taken on the results with every *other* facet applied. Either
way a count is exactly what following its link gives.

Everything is computed by the facet engine (initiatives.engine) from bitmaps; the
text search's ids come from PostgreSQL once per text and catalogue version.
"""

import random
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.http import QueryDict
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from pyroaring import BitMap
from taggit.models import Tag

from initiatives import engine as engine_module
from initiatives.engine import (
    MULTI,
    Engine,
    Selection,
    TextHits,
    in_order,
    text_hits,
)
from initiatives.filters import InitiativeFilter, Sort
from initiatives.models import (
    ActorType,
    County,
    FocusArea,
    Goal,
    Initiative,
    Municipality,
    Purpose,
    Target,
)

SINGLE = (*engine_module.SINGLE, "adopted")
FACETS = ("goal", "target", "purpose", "group", "actor_type", "focus_area", "tag", "county", "municipality", "phase", "involvement", "adopted", "updated", "campaign")  # fmt: skip
TOP_TAGS = 20


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


def selection_for(filterset: InitiativeFilter, organisation: int | None = None) -> Selection:
    """The engine's question for a valid filterset: the chosen values as ids and keys."""
    data = filterset.form.cleaned_data
    selection = Selection(organisation=organisation, adopted=data.get("adopted") or "")
    for name in MULTI:
        chosen = data.get(name) or []
        if chosen:
            selection.all_of[name] = [int(v) if name == "goal" else v.pk for v in chosen]
    for name in ("group", "phase", "involvement", "updated"):
        if data.get(name):
            selection.one_of[name] = data[name]
    for name in ("county", "municipality"):
        if data.get(name):
            selection.one_of[name] = data[name].pk
    return selection


@dataclass
class Listing:
    """One list state: the matching positions, the text search's hits and every count."""

    engine: Engine
    selection: Selection
    result: BitMap
    hits: TextHits | None
    counts: dict[str, dict[object, int]]

    @property
    def total(self) -> int:
        return len(self.result)

    @property
    def search_mode(self) -> str | None:
        return self.hits.mode if self.hits else None

    def page_ids(self, sort: str, start: int, stop: int) -> list[int]:
        """The initiative ids of ranks start..stop-1 in `sort` order."""
        if sort == Sort.RELEVANCE and self.hits is not None:
            # Hits found by another process may name initiatives this engine has not read yet.
            positions, result = self.engine.pos_of, self.result
            ranked = [
                pk
                for pk in self.hits.pks
                if (position := positions.get(pk)) is not None and position in result
            ]
            return ranked[start:stop]
        if sort == Sort.ADOPTED:
            return self.engine.most_adopted(self.result, start, stop)
        if sort == Sort.TITLE:
            return self.engine.by_title(self.result, start, stop)
        return self.engine.newest(self.result, start, stop)


def listing_for(current: Engine, selection: Selection, text: str = "") -> Listing:
    """Results and facet counts of `selection` and a search for `text`, by the engine."""
    with current.lock:
        hits = text_hits(text, current) if text else None
        if hits is not None:
            selection = copy(selection)
            selection.text = current.positions(hits.pks)
        result = current.select(selection)
        return Listing(current, selection, result, hits, count_facets(current, selection, result))


def count_facets(current: Engine, selection: Selection, result: BitMap) -> dict[str, dict]:
    """How many initiatives each value of each facet gives, keyed as the engine keys them."""
    counts: dict[str, dict] = {}
    for name in MULTI:
        counts[name] = {
            key: result.intersection_cardinality(bitmap)
            for key, bitmap in current.sets.get(name, {}).items()
        }
    bases = {"county": ("county", "municipality")}
    for name in engine_module.SINGLE:
        if name == "municipality" and "county" not in selection.one_of:
            counts[name] = {}
            continue
        base = current.select(selection.without(*bases.get(name, (name,))))
        counts[name] = {
            key: base.intersection_cardinality(bitmap)
            for key, bitmap in current.sets.get(name, {}).items()
        }
    base = current.select(selection.without("adopted"))
    adopted = base.intersection_cardinality(current.adopted())
    counts["adopted"] = {"yes": adopted, "no": len(base) - adopted}
    return counts


class Results(Sequence):
    """A listing's rows in one sort order, for Django's Paginator: the page's ids come from
    the engine, their rows (with what a card shows) from the database."""

    def __init__(self, listing: Listing, sort: str, queryset: QuerySet) -> None:
        self.listing, self.sort, self.queryset = listing, sort, queryset

    def __len__(self) -> int:
        return self.listing.total

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        start, stop, _ = index.indices(len(self))
        ids = self.listing.page_ids(self.sort, start, stop)
        totals = self.listing.engine.adoption_totals(ids)
        page = in_order(self.queryset, ids)
        for row in page:
            row.adoption_total = totals[row.pk]
        return page


REFERENCE_SECONDS = 3600


def _reference_key(language: str) -> str:
    return f"initiatives:facet-reference:{language}"


def _reference_choices() -> dict[str, list[tuple]]:
    """The values of the facets whose lists are reference data, in the active language:
    read once an hour (or after a change to them, see forget_reference_choices)."""
    key = _reference_key(translation.get_language())
    choices = cache.get(key)
    if choices is None:
        choices = {
            "goal": [(str(g.number), g.number, str(g)) for g in Goal.objects.all()],
            "purpose": [(p.slug, p.pk, p.name) for p in Purpose.objects.all()],
            "actor_type": [(a.slug, a.pk, a.name) for a in ActorType.objects.all()],
            "focus_area": [(f.slug, f.pk, f.name) for f in FocusArea.objects.all()],
            "county": [(c.number, c.pk, c.name) for c in County.objects.all()],
        }
        cache.set(key, choices, REFERENCE_SECONDS)
    return choices


REFERENCE_VERSION_KEY = "initiatives:facet-reference-version"


def reference_version() -> int:
    """Changes when a goal, purpose, actor type, focus area or county does: keys what shows
    their names (the rendered filter panel)."""
    return cache.get_or_set(REFERENCE_VERSION_KEY, lambda: random.getrandbits(32), None)


def forget_reference_choices(**kwargs) -> None:
    """A goal, purpose, actor type, focus area or county changed: read them again."""
    cache.delete_many([_reference_key(code) for code, _ in settings.LANGUAGES])
    cache.set(REFERENCE_VERSION_KEY, random.getrandbits(32), None)


def campaign_model():
    """networks.Campaign, through Initiative.campaigns: this app never imports networks."""
    return Initiative._meta.get_field("campaigns").related_model


def connect_signals() -> None:
    # A campaign's title is its facet value's label.
    for model in (Goal, Purpose, ActorType, FocusArea, County, campaign_model()):
        for signal in (post_save, post_delete):
            signal.connect(forget_reference_choices, sender=model, dispatch_uid=f"facet-reference-{model.__name__}")  # fmt: skip


def _choices(filter_data: QueryDict, counts: dict[str, dict]) -> dict[str, list[tuple]]:
    """(URL value, engine key, label) of every value each facet may show, in the active
    language; tags only the TOP_TAGS most frequent in the results and those chosen."""
    choices = {
        **_reference_choices(),
        "group": [(value, value, label) for value, label in ActorType.Group.choices],
        "phase": [(value, value, label) for value, label in Initiative.Phase.choices],
        "involvement": [(value, value, label) for value, label in Initiative.Involvement.choices],
        "adopted": [
            (value, value, label)
            for value, label in InitiativeFilter.base_filters["adopted"].extra["choices"]
        ],
        "updated": [
            (value, value, label)
            for value, label in InitiativeFilter.base_filters["updated"].extra["choices"]
        ],
        "target": [],
        "municipality": [],
    }
    goals = filter_data.getlist("goal")
    if goals:
        targets = Target.objects.filter(goal__number__in=[g for g in goals if g.isdigit()])
        choices["target"] = [(t.code, t.pk, f"{t.code} {t.text}") for t in targets]
    county = filter_data.get("county")
    if county:
        municipalities = Municipality.objects.filter(county__number=county)
        choices["municipality"] = [(m.number, m.pk, m.name) for m in municipalities]
    tag_counts = counts["tag"]
    top = sorted((key for key, n in tag_counts.items() if n), key=lambda k: (-tag_counts[k], k))
    chosen_tags = filter_data.getlist("tag")
    tags = Tag.objects.filter(pk__in=top[:TOP_TAGS]) | Tag.objects.filter(slug__in=chosen_tags)
    by_pk = {tag.pk: tag for tag in tags}
    order = top[:TOP_TAGS] + [t.pk for t in by_pk.values() if t.pk not in top[:TOP_TAGS]]
    choices["tag"] = [(by_pk[pk].slug, pk, by_pk[pk].name) for pk in order if pk in by_pk]
    # Campaigns that published initiatives in the results answer, and those chosen.
    answered = [key for key, count in counts["campaign"].items() if count]
    chosen_campaigns = filter_data.getlist("campaign")
    campaigns = campaign_model().objects.filter(Q(pk__in=answered) | Q(slug__in=chosen_campaigns))
    choices["campaign"] = [(c.slug, c.pk, c.title) for c in campaigns.order_by("title", "pk")]
    return choices


def _url(data: QueryDict) -> str:
    return "?" + data.urlencode() if data else "?"


def toggled(data: dict[str, list[str]], name: str, value: str) -> str:
    """The URL with `value` added to or removed from facet `name` (back to page 1).

    `data` is the chosen values as a plain dict of lists (see `as_lists`): copying a
    QueryDict for each of a hundred options cost more than counting them.
    """
    new = {key: list(values) for key, values in data.items() if key != "page"}
    values = new.get(name, [])
    if name in MULTI:
        new[name] = [v for v in values if v != value] if value in values else [*values, value]
    elif value in values:
        del new[name]
    else:
        new[name] = [value]
    if name == "county":
        new.pop("municipality", None)
    if name == "goal":
        # Targets belong to goals: keep only those of goals still chosen.
        goals = new.get("goal", [])
        if "target" in new:
            new["target"] = [t for t in new["target"] if t.split(".")[0] in goals]
    pairs = [(key, v) for key, values in new.items() for v in values]
    return "?" + urlencode(pairs) if pairs else "?"


def as_lists(data: QueryDict) -> dict[str, list[str]]:
    return {key: data.getlist(key) for key in data}


def build_facets(
    data: QueryDict,
    counts: dict[str, dict],
    fixed: dict[str, str],
    filter_data: QueryDict,
) -> tuple[list[Facet], list[Chip]]:
    """Facets with options and links, and chips for what is chosen; fixed facets are left out.

    `data` is what the visitor chose (links change it); `filter_data` adds the fixed values.
    """
    choices = _choices(filter_data, counts)
    chosen_lists = as_lists(data)
    facets, chips = [], []
    for name in FACETS:
        if name in fixed:
            continue
        filter_ = InitiativeFilter.base_filters[name]
        chosen = data.getlist(name)
        facet = Facet(name=name, label=filter_.label, multiple=name in MULTI)
        for value, key, label in choices[name]:
            count = counts[name].get(key, 0)
            selected = value in chosen
            if count or selected:
                facet.options.append(
                    Option(value, label, count, selected, toggled(chosen_lists, name, value))
                )
            if selected:
                chips.append(Chip(f"{filter_.label}: {label}", toggled(chosen_lists, name, value)))
        if facet.options:
            facets.append(facet)
    return facets, chips


def clear_all_url(data: QueryDict) -> str:
    """Every facet removed; the search text and sort stay."""
    kept = QueryDict(mutable=True)
    for name in ("q", "sort"):
        if data.get(name):
            kept[name] = data[name]
    return _url(kept)


FACET_HELP = _("The number after each choice is how many initiatives you get by choosing it.")
