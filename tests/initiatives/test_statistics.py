"""The statistics page (initiatives/statistics.py): every figure equals the list it links
to, only published initiatives count, the CSV holds the same
figures, and a visit costs a fixed, small number of queries."""

import csv
import io
import random
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from ideabank.contrast import contrast_ratio
from initiatives import engine, statistics
from initiatives.models import (
    ActorType,
    Adoption,
    County,
    Goal,
    Initiative,
    Municipality,
    Organisation,
    Purpose,
)
from tests.factories import make_adoption, make_initiative, make_organisation

pytestmark = pytest.mark.django_db

OSLO = ZoneInfo("Europe/Oslo")


def generated(count: int, seed: int = 14) -> list[Initiative]:
    """`count` initiatives spread at random over goals, actor types, purposes, places,
    phases and years; about a fifth of them not published. Adoptions by organisations
    in random municipalities, some of them not approved."""
    rng = random.Random(seed)
    goals = list(Goal.objects.all())
    actor_types = list(ActorType.objects.all())
    purposes = list(Purpose.objects.all())
    counties = list(County.objects.all())
    municipalities = list(Municipality.objects.all())
    adopters = [
        make_organisation(
            municipality=rng.choice(municipalities),
            status=Organisation.Status.PROPOSED if i % 4 == 0 else Organisation.Status.APPROVED,
        )
        for i in range(8)
    ]
    made = []
    for i in range(count):
        scope = rng.choice(["local", "local", "regional", "national"])
        place = {
            "local": {"municipality": rng.choice(municipalities)},
            "regional": {"county": rng.choice(counties), "municipality": None},
            "national": {"municipality": None},
        }[scope]
        status = Initiative.Status.PUBLISHED if i % 5 else rng.choice(
            [Initiative.Status.DRAFT, Initiative.Status.SUBMITTED, Initiative.Status.ARCHIVED]
        )  # fmt: skip
        initiative = make_initiative(
            status=status, scope=scope, phase=rng.choice(Initiative.Phase.values), **place
        )
        if status == Initiative.Status.PUBLISHED:
            moment = datetime(rng.choice([2023, 2024, 2026]), rng.randint(1, 12), 1, tzinfo=OSLO)
            Initiative.objects.filter(pk=initiative.pk).update(published_at=moment)
        initiative.goals.set(rng.sample(goals, rng.randint(1, 3)))
        initiative.actor_types.set(rng.sample(actor_types, rng.randint(0, 2)))
        initiative.purposes.set(rng.sample(purposes, rng.randint(0, 2)))
        for adopter in rng.sample(adopters, rng.randint(0, 3)):
            make_adoption(initiative=initiative, organisation=adopter)
        made.append(initiative)
    engine.initiatives_changed([i.pk for i in made])
    return made


def test_every_figure_equals_the_count_of_the_list_it_links_to(client):
    generated(40)

    figures = statistics.figures()

    linked = [
        bar for chart in [*figures.charts, figures.county_chart] for bar in chart.bars if bar.url
    ]
    assert len(linked) > 17 + 4 + 10 + 5
    for bar in linked:
        response = client.get(bar.url)
        assert response.context["paginator"].count == bar.count, bar.url
    for tile in figures.tiles:
        assert client.get(tile.url).context["paginator"].count == tile.count, tile.url


def test_the_figures_count_only_published_initiatives():
    initiatives = generated(30)
    published = [i for i in initiatives if i.status == Initiative.Status.PUBLISHED]

    figures = statistics.figures()

    assert figures.published == len(published)
    phases = {bar.key: bar.count for bar in figures.charts[4].bars}
    assert sum(phases.values()) == len(published)
    for phase in Initiative.Phase.values:
        assert phases[phase] == sum(1 for i in published if i.phase == phase)
    goal_12 = next(bar for bar in figures.charts[0].bars if bar.key == "12")
    assert goal_12.count == sum(1 for i in published if i.goals.filter(number=12).exists())


def test_years_and_adoptions_count_published_initiatives_only():
    initiatives = generated(30)
    published = [i for i in initiatives if i.status == Initiative.Status.PUBLISHED]
    public = Adoption.objects.filter(initiative__status=Initiative.Status.PUBLISHED)

    figures = statistics.figures()

    years = {bar.key: bar.count for bar in figures.charts[5].bars}
    assert years == {
        str(year): Initiative.objects.filter(
            pk__in=[i.pk for i in published], published_at__year=year
        ).count()
        for year in range(2023, 2027)
    }
    assert all(not bar.url for bar in figures.charts[5].bars + figures.charts[6].bars)
    assert sum(bar.count for bar in figures.charts[6].bars) == public.count()
    most = figures.most_adopted.bars
    assert most[0].count == max(public.filter(initiative=i).count() for i in published)
    assert [bar.count for bar in most] == sorted((bar.count for bar in most), reverse=True)
    assert (
        figures.routes_total
        == public.exclude(organisation__municipality=None)
        .filter(initiative__scope__in=["local", "regional"])
        .count()
    )


def test_the_most_adopted_and_routes_leave_out_unpublished_initiatives():
    county = County.objects.get(number="03")
    oslo = Municipality.objects.filter(county=county).first()
    hidden = make_initiative(status=Initiative.Status.SUBMITTED, municipality=oslo)
    shown = make_initiative(status=Initiative.Status.PUBLISHED, municipality=oslo)
    proposed = make_organisation(municipality=oslo, status=Organisation.Status.PROPOSED)
    approved = make_organisation(municipality=oslo)
    make_adoption(initiative=hidden, organisation=approved)
    make_adoption(initiative=shown, organisation=proposed)
    make_adoption(initiative=shown, organisation=approved)

    figures = statistics.figures()

    # Every adoption of a published initiative counts, as on its page and in the engine.
    assert [(b.label, b.count) for b in figures.most_adopted.bars] == [(shown.title, 2)]
    assert [(r.source, r.target, r.count) for r in figures.routes] == [
        (county.name, county.name, 2)
    ]
    assert sum(bar.count for bar in figures.charts[6].bars) == engine.engine().adoption_count()
    assert figures.most_adopted.bars[0].url == shown.get_absolute_url()


def test_a_publication_is_seen_at_once(client):
    make_initiative(status=Initiative.Status.PUBLISHED)
    assert client.get("/en/statistikk/").context["figures"].published == 1

    make_initiative(status=Initiative.Status.PUBLISHED)

    assert client.get("/en/statistikk/").context["figures"].published == 2


def test_the_page_shows_every_chart_with_its_table_and_links(client):
    generated(15)

    response = client.get("/en/statistikk/")

    html = response.content.decode()
    assert response.status_code == 200
    for name in ("goal", "group", "actor_type", "purpose", "county", "phase", "published_year", "adoption_year", "most_adopted", "routes"):  # fmt: skip
        assert f'id="{name}-title"' in html, name
    assert html.count('<details class="stats-table">') == 9
    assert html.count("<caption>") == 10
    assert 'href="/en/tiltak/?goal=12"' in html
    assert 'href="/en/tiltak/?county=03"' in html
    assert "style=" not in html


def test_the_tiles_are_every_county_in_its_own_place():
    figures = statistics.figures()

    assert sorted(t.key for t in figures.tiles) == sorted(County.objects.values_list("number", flat=True))  # fmt: skip
    places = [(t.column, t.row) for t in figures.tiles]
    assert len(set(places)) == len(places) == 15


@pytest.mark.parametrize("step", sorted(statistics.STEP_COLOURS))
def test_every_colour_step_meets_contrast(step):
    background, text = statistics.STEP_COLOURS[step]

    assert contrast_ratio(background, text) >= 4.5
    if step:
        assert contrast_ratio(background, "#FFFFFF") >= 3


def test_the_colours_in_the_stylesheet_are_the_checked_ones():
    css = (settings.BASE_DIR / "static/css/statistics.css").read_text(encoding="utf-8")

    for step, (background, text) in statistics.STEP_COLOURS.items():
        rule = re.search(rf"\.county-tile--step-{step} \{{([^}}]*)\}}", css).group(1)
        assert f"background: {background};" in rule
        assert f"color: {text};" in rule


def test_the_csv_holds_the_same_figures_in_the_pages_language(client):
    generated(15)

    english = client.get("/en/statistikk/statistikk.csv")
    norwegian = client.get("/statistikk/statistikk.csv")

    assert english["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["chart", "key", "label", "count"]
    with translation.override("en"):
        figures = statistics.figures()
    assert [tuple(r) for r in rows[1:]] == [
        (chart, key, label, str(count)) for chart, key, label, count in figures.rows()
    ]
    assert ("phase", "idea", "Idea") in {tuple(r[:3]) for r in rows}
    nb_rows = list(csv.reader(io.StringIO(norwegian.content.decode("utf-8-sig")), delimiter=";"))
    assert len(nb_rows) == len(rows)
    assert ("phase", "idea", "Idé") in {tuple(r[:3]) for r in nb_rows}


def test_the_csv_guards_titles_against_formulas(client):
    initiative = make_initiative(status=Initiative.Status.PUBLISHED, title="=HYPERLINK(1)")
    make_adoption(initiative=initiative)

    content = client.get("/en/statistikk/statistikk.csv").content.decode("utf-8-sig")

    assert "most_adopted;" in content
    assert ";=HYPERLINK" not in content


@pytest.mark.parametrize("count", [1, 20])
def test_query_count_is_fixed_cold_and_cached(client, count):
    generated(count)
    make_adoption()  # something for every query to find
    engine.engine()

    with CaptureQueriesContext(connection) as cold:
        client.get("/en/statistikk/")
    with CaptureQueriesContext(connection) as warm:
        client.get("/en/statistikk/")

    # The change log once; the reference lists (goals, purposes, actor types, focus areas,
    # counties) and their version; the publication years; the adoptions by year and
    # county (one query); the most adopted and their titles. Seen before: the change log.
    assert (len(cold), len(warm)) == (COLD, 1)


COLD = 10
