"""A network's figures on its page: its members' initiatives and adoptions per year and, for
a regional network, which of its county's municipalities have a member.

The members are those the page lists (the active memberships of approved organisations,
`networks.views.public_memberships`), passed in as their organisation ids: the
network's own, not its sub-groups'. An initiative counts once, in the year it was
published (Oslo time), when a member leads it or takes part in it (as partner, resource
group or funder: the list's "organisation" filter); only published initiatives. An
adoption counts in the year it was reported, when a member reported it, of a published
initiative (the statistics page's rule: every adoption of a published initiative counts).

The two per-year charts are cached per network, catalogue version (`engine().version`,
which moves with every publication, partner and adoption), set of members and language:
measured at 20 000 initiatives and 150 members, they take about 60 ms on PostgreSQL and
200 ms on SQLite (which extracts the year row by row), so a visit costs a cache read,
and a change is seen at once. On a miss they are two queries (GROUP BY year); the
coverage is one more, for a regional network, never cached (a few milliseconds, and an
organisation that moves does not move the catalogue version). Constant in the number of
members.
"""

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, ExtractYear
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from initiatives.models import (
    Adoption,
    Initiative,
    Municipality,
    Organisation,
    Participation,
    Scope,
)
from initiatives.statistics import OSLO, Bar, Chart, year_bars

CACHE_SECONDS = 3600


@dataclass
class CoverageTile:
    """A municipality of the county, in the shape includes/tile_grid.html reads."""

    label: str
    done: bool  # an active member organisation is located there
    detail: str = ""
    member_count: int = 0


@dataclass
class Coverage:
    county: str
    tiles: list[CoverageTile]

    @property
    def covered(self) -> int:
        return sum(1 for tile in self.tiles if tile.done)

    @property
    def summary(self) -> str:
        return ngettext(
            "%(covered)s of %(total)s municipality in %(county)s has a member organisation.",
            "%(covered)s of %(total)s municipalities in %(county)s have a member organisation.",
            len(self.tiles),
        ) % {"covered": self.covered, "total": len(self.tiles), "county": self.county}


@dataclass
class NetworkFigures:
    initiatives: Chart
    adoptions: Chart
    coverage: Coverage | None


def _year_summary(bars: list[Bar], total_text, most_text: str) -> str:
    """ "The members lead or take part in 12 published initiatives. Most were published in
    2025: 5." `total_text(total)`: the first sentence; `most_text` with %(year)s and
    %(count)s; left out when there is one year only."""
    if not bars:
        return _("None yet.")
    total = sum(bar.count for bar in bars)
    if len(bars) == 1:
        return total_text(total)
    top = max(bars, key=lambda bar: bar.count)
    return f"{total_text(total)} {most_text % {'year': top.label, 'count': top.count}}"


def initiatives_per_year(members: list[int]) -> Chart:
    """Published initiatives led by a member or with a member taking part, per year of
    publication; each once, however many members it has."""
    partnered = Participation.objects.filter(organisation__in=members).values("initiative")
    rows = (
        Initiative.objects.published()
        .filter(Q(lead_organisation__in=members) | Q(pk__in=partnered))
        .annotate(year=ExtractYear("published_at", tzinfo=OSLO))
        .order_by()
        .values_list("year")
        .annotate(n=Count("pk"))
    )
    bars = year_bars(rows)
    return Chart(
        "network-initiatives",
        _("The members' initiatives per year"),
        _year_summary(
            bars,
            lambda total: (
                ngettext(
                    "The members lead or take part in %(total)s published initiative.",
                    "The members lead or take part in %(total)s published initiatives.",
                    total,
                )
                % {"total": total}
            ),
            _("Most were published in %(year)s: %(count)s."),
        ),
        bars,
        _(
            "Published initiatives that a member organisation leads or takes part in (as "
            "partner, resource group or funder), counted once each, by the year they were "
            "published."
        ),
        _("Year"),
        _("Initiatives"),
    )


def adoptions_per_year(members: list[int]) -> Chart:
    """Adoptions the members reported of published initiatives, per year reported."""
    # Exists rather than `initiative__in`: SQLite otherwise walks every published initiative.
    published = Initiative.objects.published().filter(pk=OuterRef("initiative"))
    rows = (
        Adoption.objects.filter(Exists(published), organisation__in=members)
        .annotate(year=ExtractYear("created", tzinfo=OSLO))
        .order_by()
        .values_list("year")
        .annotate(n=Count("pk"))
    )
    bars = year_bars(rows)
    return Chart(
        "network-adoptions",
        _("Adoptions by the members per year"),
        _year_summary(
            bars,
            lambda total: (
                ngettext(
                    "The members have taken up %(total)s published initiative.",
                    "The members have taken up %(total)s published initiatives.",
                    total,
                )
                % {"total": total}
            ),
            _("Most were reported in %(year)s: %(count)s."),
        ),
        bars,
        _(
            "An adoption is a member organisation telling us it has taken up a published "
            "initiative, counted by the year it told us."
        ),
        _("Year"),
        _("Adoptions"),
    )


def coverage(network, members: list[int]) -> Coverage | None:
    """For a regional network with a county: every municipality of the county, and whether
    a member organisation is located there (one query). None for any other network."""
    if network.scope != Scope.REGIONAL or network.county_id is None:
        return None
    located = (
        Organisation.objects.filter(pk__in=members, municipality=OuterRef("pk"))
        .order_by()
        .values("municipality")
        .annotate(n=Count("pk"))
        .values("n")
    )
    municipalities = (
        Municipality.objects.filter(county=network.county_id)
        .annotate(member_count=Coalesce(Subquery(located), 0))
        .order_by("name", "pk")
    )
    tiles = [
        CoverageTile(
            municipality.name,
            municipality.member_count > 0,
            ngettext("%(count)s member", "%(count)s members", municipality.member_count)
            % {"count": municipality.member_count}
            if municipality.member_count
            else "",
            municipality.member_count,
        )
        for municipality in municipalities
    ]
    return Coverage(network.county.name, tiles)


def network_figures(network, members: list[int], *, version: int) -> NetworkFigures:
    """`members`: the ids of the organisations the network's page lists; `version`: the
    catalogue version the page was read at (`engine().version`)."""
    digest = hashlib.sha256(",".join(map(str, sorted(members))).encode()).hexdigest()[:16]
    key = f"networks:figures:{network.pk}:{version}:{digest}:{translation.get_language()}"
    charts = cache.get(key)
    if charts is None:
        charts = (initiatives_per_year(members), adoptions_per_year(members))
        cache.set(key, charts, CACHE_SECONDS)
    return NetworkFigures(*charts, coverage=coverage(network, members))
