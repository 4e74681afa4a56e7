"""The statistics page's figures: the published catalogue counted by goal, actor type,
stakeholder group, purpose, county and phase, per year, and how ideas are taken up.

Counts by a facet value come from the facet engine (initiatives.engine): each is the
cardinality of that value's bitmap within the published set, so it is exactly what
the list filtered the same way (/tiltak/?goal=12) shows; each such figure carries that
list's URL. What the engine does not hold (publication and adoption years, the most
adopted initiatives, adoptions between counties) is counted in the database, in a
fixed number of queries, from `Initiative.objects.published()`; every adoption of a
published initiative counts, as on the initiative page, the home page's count and the
list's "most adopted" order (the engine's adoption sets).

Everything is cached per catalogue version (`engine().version`, which moves with
every publication and adoption), reference-data version and language: a visit costs a
cache read, and a publication is seen at once. Counting takes a quarter to half a
second at 100 000 initiatives, so it is not left to the first visitor after a change:
every change to the catalogue queues `warm` on the task worker (queue_warming), which
counts the new version in each language into the shared cache; until it has, visitors
see the figures of the version before (figures()).

The charts are hand-built in templates (templates/initiatives/statistics/): a
horizontal bar per value as a little SVG beside an HTML label and count, and an
HTML tile grid for the counties. No chart library: bars whose labels and counts are
ordinary text and links are simpler to make accessible and to reflow at 320 px than a
library's SVG, and it adds no dependency.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Max
from django.db.models.functions import Coalesce, ExtractYear
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from initiatives import engine as engine_module
from initiatives.facets import _reference_choices, reference_version
from initiatives.models import ActorType, Adoption, Initiative

logger = logging.getLogger(__name__)

CACHE_SECONDS = 3600
# Set while a warming task waits in the queue, so a burst of changes (an import of 500
# rows) queues one task, not 500; the task clears it as it starts, so a change made while
# it counts queues the next one. Expires in case the task is lost: visitors count again.
WARMING_QUEUED_KEY = "initiatives:statistics:warming-queued"
WARMING_QUEUED_SECONDS = 60
# Set while the task counts (figures() shows the version before meanwhile).
WARMING_KEY = "initiatives:statistics:warming"
WARMING_SECONDS = 60
TOP_ADOPTED = 10
TOP_ROUTES = 15
OSLO = ZoneInfo("Europe/Oslo")

# Each county's place in a grid of 5 columns and 8 rows, roughly where it lies
# (county numbers from 2024). Column, row; both from 1.
TILE_PLACES = {
    "56": (5, 1),  # Finnmark
    "55": (4, 2),  # Troms
    "18": (3, 3),  # Nordland
    "50": (3, 4),  # Trøndelag
    "15": (2, 5),  # Møre og Romsdal
    "34": (3, 5),  # Innlandet
    "46": (1, 6),  # Vestland
    "33": (2, 6),  # Buskerud
    "03": (3, 6),  # Oslo
    "32": (4, 6),  # Akershus
    "11": (1, 7),  # Rogaland
    "40": (2, 7),  # Telemark
    "39": (3, 7),  # Vestfold
    "31": (4, 7),  # Østfold
    "42": (2, 8),  # Agder
}
# Colour steps of the tile map (static/css/statistics.css, .county-tile--step-N): 0 is
# no initiatives, 1..STEPS the share of the largest count, in equal parts. Every step
# meets 3:1 against the page and its text 4.5:1 (tests/initiatives/test_statistics.py).
STEPS = 4
STEP_COLOURS = {0: ("#FFFFFF", "#000000"), 1: ("#5A93CC", "#000000"), 2: ("#2A6AAD", "#FFFFFF"), 3: ("#134A85", "#FFFFFF"), 4: ("#062A52", "#FFFFFF")}  # fmt: skip


@dataclass
class Bar:
    key: str
    label: str
    count: int
    url: str = ""  # the list filtered the same way, or "" where the list has no such filter
    percent: float = 0.0  # of the chart's largest count, for the bar's length


@dataclass
class Tile:
    key: str
    label: str
    count: int
    url: str
    column: int
    row: int
    step: int


@dataclass
class Route:
    source: str
    target: str
    count: int
    key: str = ""  # the two county numbers, "03-46"


@dataclass
class Chart:
    name: str  # the CSV's chart column and the section's id
    title: str
    summary: str
    bars: list[Bar] = field(default_factory=list)
    note: str = ""
    key_heading: str = ""  # the data table's first column
    count_heading: str = ""  # and its second

    @property
    def total(self) -> int:
        return sum(bar.count for bar in self.bars)


@dataclass
class Figures:
    published: int
    charts: list[Chart]
    tiles: list[Tile]
    county_chart: Chart
    most_adopted: Chart
    routes: list[Route]
    routes_total: int
    routes_summary: str = ""
    legend: list[tuple[int, int, int]] = field(default_factory=list)  # step, lowest, highest

    def rows(self):
        """(chart, key, label, count) of every figure: the CSV's rows."""
        for chart in [*self.charts[:4], self.county_chart, *self.charts[4:], self.most_adopted]:
            for bar in chart.bars:
                yield chart.name, bar.key, bar.label, bar.count
        for route in self.routes:
            yield "routes", route.key, f"{route.source} → {route.target}", route.count


def figures() -> Figures:
    """The statistics of the published catalogue, in the active language (cached).

    Right after a change, while the task worker counts the new version (a warming is
    queued or running), the figures of the version before it are shown: a visitor never
    waits for the count, and the page is at most that count behind. With no warming on
    its way (no worker, or its mark expired) the visitor counts, as the page always did.
    """
    current = engine_module.engine()
    key, latest = _keys(current.version)
    found = cache.get_many([key, latest, WARMING_QUEUED_KEY, WARMING_KEY])
    if key in found:
        return found[key]
    if latest in found:
        counted_at, counted = found[latest]
        # The worker is counting this version, or has counted a newer one than this
        # process's engine has read yet (it reads the change log every ENGINE_POLL_SECONDS).
        if WARMING_QUEUED_KEY in found or WARMING_KEY in found or counted_at >= current.version:
            return counted
    return _count(current)


def _keys(version: int) -> tuple[str, str]:
    """The cache keys of `version`'s figures and of the newest counted, in this language."""
    language = translation.get_language()
    return (
        f"initiatives:statistics:{version}:{reference_version()}:{language}",
        f"initiatives:statistics:latest:{reference_version()}:{language}",
    )


def _count(current) -> Figures:
    counted = _figures(current)
    key, latest = _keys(current.version)
    cache.set_many({key: counted, latest: (current.version, counted)}, CACHE_SECONDS)
    return counted


def queue_warming(**kwargs) -> None:
    """A receiver of engine.catalogue_changed: once the change is committed, have the task
    worker count the statistics of the new catalogue version (at most one task waiting)."""
    transaction.on_commit(_enqueue_warming)


def _enqueue_warming() -> None:
    from initiatives.tasks import warm_statistics

    if not cache.add(WARMING_QUEUED_KEY, True, WARMING_QUEUED_SECONDS):
        return
    # After the commit: a queue that is down must not fail the request that changed the
    # catalogue; the first visitor then counts, as before.
    try:
        warm_statistics.enqueue()
    except Exception:
        cache.delete(WARMING_QUEUED_KEY)
        logger.exception("Could not queue the statistics warming")


def warm() -> int:
    """Count the figures of the catalogue as it is now, in every language, into the cache
    (the task worker, after a change); the catalogue version counted."""
    cache.set(WARMING_KEY, True, WARMING_SECONDS)
    cache.delete(WARMING_QUEUED_KEY)
    try:
        current = engine_module.engine()
        # The change was most likely made by another process: read the log now, not after
        # ENGINE_POLL_SECONDS.
        current.dirty = True
        current = current.current()
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                _count(current)
    finally:
        cache.delete(WARMING_KEY)
    return current.version


def list_url(name: str, value) -> str:
    return f"{reverse('initiatives:list')}?{urlencode({name: value})}"


def _facet_bars(current, facet: str, choices) -> list[Bar]:
    """One bar per value of a facet, from (URL value, engine key, label): the same counts
    the list's facet panel shows with nothing chosen."""
    with current.lock:
        published, values = current.published, current.sets.get(facet, {})
        bars = [
            Bar(
                str(value),
                label,
                published.intersection_cardinality(values[key]) if key in values else 0,
                list_url(facet, value),
            )
            for value, key, label in choices
        ]
    return bars


def _scaled(bars: list[Bar]) -> list[Bar]:
    largest = max((bar.count for bar in bars), default=0)
    for bar in bars:
        bar.percent = round(100 * bar.count / largest, 1) if largest else 0.0
    return bars


def _summary(bars: list[Bar], total: int) -> str:
    """ "12. Responsible consumption and production has the most initiatives: 340 of 1200." """
    if not any(bar.count for bar in bars):
        return _("There are no published initiatives here yet.")
    top = max(bars, key=lambda bar: bar.count)
    return _("%(label)s has the most initiatives: %(count)s of %(total)s.") % {
        "label": top.label,
        "count": top.count,
        "total": total,
    }


def _figures(current) -> Figures:
    reference = _reference_choices()
    with current.lock:
        published = len(current.published)
    count_heading = _("Initiatives")
    several = _(
        "An initiative can have several, so the bars add up to more than the number of initiatives."
    )
    groups = [(v, v, str(label)) for v, label in ActorType.Group.choices]
    phases = [(v, v, str(label)) for v, label in Initiative.Phase.choices]
    specs = [
        # name, title, facet values, the table's first column, note
        (
            "goal",
            _("Initiatives by Sustainable Development Goal"),
            reference["goal"],
            _("Goal"),
            several,
        ),  # fmt: skip
        (
            "group",
            _("Initiatives by stakeholder group"),
            groups,
            _("Stakeholder group"),
            several,
        ),  # fmt: skip
        (
            "actor_type",
            _("Initiatives by actor type"),
            reference["actor_type"],
            _("Actor type"),
            several,
        ),  # fmt: skip
        (
            "purpose",
            _("Initiatives by purpose of collaboration"),
            reference["purpose"],
            _("Purpose"),
            several,
        ),  # fmt: skip
        ("phase", _("Initiatives by phase"), phases, _("Phase"), ""),
        (
            "county",
            _("Initiatives by county"),
            reference["county"],
            _("County"),
            _("National and Nordic initiatives belong to no county and are not counted here."),
        ),  # fmt: skip
    ]
    charts = []
    for name, title, choices, key_heading, note in specs:
        bars = _scaled(_facet_bars(current, name, choices))
        summary = _summary(bars, published)
        charts.append(Chart(name, title, summary, bars, note, key_heading, count_heading))
    county_chart = charts.pop()
    tiles, legend = _tiles(county_chart.bars)
    charts.append(_per_year_published())
    by_year, pairs = _adoption_counts()
    charts.append(_per_year_adoptions(by_year))
    routes, routes_total = _routes(pairs)
    return Figures(
        published=published,
        charts=charts,
        tiles=tiles,
        county_chart=county_chart,
        most_adopted=_most_adopted(),
        routes=routes,
        routes_total=routes_total,
        routes_summary=_routes_summary(routes, routes_total),
        legend=legend,
    )


def _tiles(bars: list[Bar]) -> tuple[list[Tile], list[tuple[int, int, int]]]:
    """The counties as tiles in their places, coloured by count in STEPS equal parts of the
    largest; and the legend: each step's lowest and highest count."""
    largest = max((bar.count for bar in bars), default=0)
    legend = [(0, 0, 0)]
    for step in range(1, STEPS + 1):
        low, high = (step - 1) * largest // STEPS + 1, step * largest // STEPS
        if low <= high:
            legend.append((step, low, high))
    tiles = []
    for bar in bars:
        if bar.key not in TILE_PLACES:
            continue
        column, row = TILE_PLACES[bar.key]
        step = 0 if not bar.count else max(1, -(-bar.count * STEPS // largest))
        tiles.append(Tile(bar.key, bar.label, bar.count, bar.url, column, row, step))
    return sorted(tiles, key=lambda tile: (tile.row, tile.column)), legend


def year_bars(counts) -> list[Bar]:
    """A bar for every year from the first to the last, empty years too (no list link: the
    list has no year filter). `counts`: (year, count) pairs."""
    counts = {year: n for year, n in counts if year is not None}
    if not counts:
        return []
    return _scaled(
        [
            Bar(str(year), str(year), counts.get(year, 0))
            for year in range(min(counts), max(counts) + 1)
        ]
    )


def _year_summary(bars: list[Bar], most: str) -> str:
    """`most` says which year had most, with %(year)s, %(count)s and %(total)s."""
    if not bars:
        return _("Nothing yet.")
    top = max(bars, key=lambda bar: bar.count)
    total = sum(bar.count for bar in bars)
    return most % {"year": top.label, "count": top.count, "total": total}


def _per_year_published() -> Chart:
    rows = (
        Initiative.objects.published()
        .annotate(year=ExtractYear("published_at", tzinfo=OSLO))
        .order_by()
        .values_list("year")
        .annotate(n=Count("pk"))
    )
    bars = year_bars(rows)
    return Chart(
        "published_year",
        _("Initiatives published per year"),
        _year_summary(
            bars, _("Most initiatives were published in %(year)s: %(count)s of %(total)s.")
        ),
        bars,
        _("The list of initiatives cannot be filtered by year, so these bars link nowhere."),
        _("Year"),
        _("Initiatives"),
    )


def _public_adoptions():
    """Adoptions the public pages count: every adoption of a published initiative (the
    initiative page lists them all, the engine counts them all)."""
    return Adoption.objects.filter(initiative__in=Initiative.objects.published())


def _adoption_counts() -> tuple[Counter, Counter]:
    """The public adoptions counted per year and per (initiative's county, adopter's
    county), both from one query."""
    rows = (
        _public_adoptions()
        .annotate(
            year=ExtractYear("created", tzinfo=OSLO),
            source=Coalesce(F("initiative__county_id"), F("initiative__municipality__county_id")),
            target=F("organisation__municipality__county_id"),
        )
        .order_by()
        .values_list("year", "source", "target")
        .annotate(n=Count("pk"))
    )
    by_year, pairs = Counter(), Counter()
    for year, source, target, n in rows:
        by_year[year] += n
        if source is not None and target is not None:
            pairs[source, target] += n
    return by_year, pairs


def _per_year_adoptions(by_year: Counter) -> Chart:
    bars = year_bars(by_year.items())
    return Chart(
        "adoption_year",
        _("Adoptions per year"),
        _year_summary(bars, _("Most adoptions were reported in %(year)s: %(count)s of %(total)s.")),
        bars,
        _(
            "An adoption is an organisation telling us it has taken an idea up. The list of initiatives cannot be filtered by year, so these bars link nowhere."
        ),  # fmt: skip
        _("Year"),
        _("Adoptions"),
    )


def _most_adopted() -> Chart:
    """The TOP_ADOPTED initiatives most often taken up (ties: the newest first): counted
    from the adoptions, then their titles (two queries)."""
    top = list(
        _public_adoptions()
        .order_by()
        .values_list("initiative_id")
        .annotate(n=Count("pk"), published_at=Max("initiative__published_at"))
        .order_by("-n", "-published_at", "-initiative_id")[:TOP_ADOPTED]
    )
    titles = {
        pk: (slug, title)
        for pk, slug, title in Initiative.objects.filter(pk__in=[pk for pk, *_ in top]).values_list(
            "pk", "slug", "title"
        )
    }
    bars = _scaled(
        [
            Bar(
                titles[pk][0], titles[pk][1], n, reverse("initiatives:detail", args=[titles[pk][0]])
            )
            for pk, n, _published in top
        ]
    )
    if bars:
        summary = ngettext(
            "%(label)s is the most adopted: %(count)s time.",
            "%(label)s is the most adopted: %(count)s times.",
            bars[0].count,
        ) % {"label": bars[0].label, "count": bars[0].count}
    else:
        summary = _("No initiative has been taken up yet.")
    return Chart(
        "most_adopted",
        _("The most adopted initiatives"),
        summary,
        bars,
        _("Each bar links to the initiative."),
        _("Initiative"),
        _("Adoptions"),
    )


def _routes(pairs: Counter) -> tuple[list[Route], int]:
    """Adoptions from the initiative's county to the adopting organisation's county: the
    most frequent pairs, and how many adoptions have both ends in a county."""
    counties = {pk: (number, name) for number, pk, name in _reference_choices()["county"]}
    ranked = sorted(
        pairs.items(),
        key=lambda item: (-item[1], counties[item[0][0]][1], counties[item[0][1]][1]),
    )
    routes = [
        Route(
            counties[source][1],
            counties[target][1],
            n,
            f"{counties[source][0]}-{counties[target][0]}",
        )  # fmt: skip
        for (source, target), n in ranked[:TOP_ROUTES]
    ]
    return routes, sum(pairs.values())


def _routes_summary(routes: list[Route], total: int) -> str:
    if not routes:
        return _("No idea has been taken up in a county yet.")
    top = routes[0]
    if top.source == top.target:
        return (
            pgettext(
                "statistics",
                "The most common is an idea taken up in its own county, %(county)s: %(count)s of %(total)s.",  # fmt: skip
            )
            % {"county": top.source, "count": top.count, "total": total}
        )
    return _("Most often ideas travel from %(source)s to %(target)s: %(count)s of %(total)s.") % {
        "source": top.source,
        "target": top.target,
        "count": top.count,
        "total": total,
    }
