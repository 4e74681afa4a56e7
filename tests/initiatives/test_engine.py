"""The facet engine: its counts are what SQL counts, and every engine sees every change."""

import random

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from taggit.models import Tag

from initiatives import engine as engine_module
from initiatives.engine import Engine
from initiatives.facets import listing_for, selection_for
from initiatives.filters import InitiativeFilter
from initiatives.models import (
    ActorType,
    Adoption,
    CatalogueChange,
    County,
    FocusArea,
    Initiative,
    Municipality,
    Participation,
    Purpose,
    Target,
)
from tests.factories import goal, make_adoption, make_initiative, make_organisation

pytestmark = pytest.mark.django_db

Status = Initiative.Status
GOALS = [4, 7, 12, 13]
PHASES = [value for value, _ in Initiative.Phase.choices]
INVOLVEMENTS = ["", *[value for value, _ in Initiative.Involvement.choices]]


@pytest.fixture
def catalogue():
    """Forty initiatives with random facets, a third of them not public (drafts, submitted,
    rejected, archived): those must never be counted."""
    rng = random.Random(9)
    purposes = list(Purpose.objects.all()[:4])
    actor_types = list(ActorType.objects.all()[:6])
    focus_areas = list(FocusArea.objects.all()[:3])
    municipalities = list(Municipality.objects.filter(number__in=["0301", "3201", "5001"]))
    counties = list(County.objects.filter(number__in=["03", "50"]))
    organisations = [make_organisation() for _ in range(3)]
    statuses = [Status.PUBLISHED] * 4 + [Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.ARCHIVED]  # fmt: skip
    for n in range(40):
        place = rng.choice(["local", "regional", "national"])
        initiative = make_initiative(
            status=rng.choice(statuses),
            title=f"Tiltak {n:02d} {rng.choice(['matsvinn', 'ombruk', 'energi'])}",
            phase=rng.choice(PHASES),
            involvement=rng.choice(INVOLVEMENTS),
            scope=place,
            municipality=rng.choice(municipalities) if place == "local" else None,
            county=rng.choice(counties) if place == "regional" else None,
            lead_organisation=rng.choice(organisations),
        )
        goals = rng.sample(GOALS, rng.randint(0, 3))
        initiative.goals.set([goal(number) for number in goals])
        targets = Target.objects.filter(goal__number__in=goals).order_by("code")[:6]
        initiative.targets.set(rng.sample(list(targets), min(len(targets), rng.randint(0, 2))))
        initiative.purposes.set(rng.sample(purposes, rng.randint(0, 2)))
        initiative.actor_types.set(rng.sample(actor_types, rng.randint(0, 3)))
        initiative.focus_areas.set(rng.sample(focus_areas, rng.randint(0, 2)))
        initiative.tags.set(rng.sample(["matsvinn", "ombruk", "energi", "barnehage"], rng.randint(0, 2)))  # fmt: skip
        for organisation in rng.sample(organisations, rng.randint(0, 2)):
            if organisation.pk != initiative.lead_organisation_id:
                Participation.objects.create(initiative=initiative, organisation=organisation)
        for organisation in rng.sample(organisations, rng.randint(0, 2)):
            make_adoption(initiative=initiative, organisation=organisation)
    return {
        "goal": [str(n) for n in GOALS],
        "target": list(
            Target.objects.filter(goal__number__in=GOALS).values_list("code", flat=True)[:12]
        ),  # fmt: skip
        "purpose": [p.slug for p in purposes],
        "actor_type": [a.slug for a in actor_types],
        "focus_area": [f.slug for f in focus_areas],
        "tag": ["matsvinn", "ombruk", "energi", "barnehage"],
        "group": [value for value, _ in ActorType.Group.choices],
        "county": [c.number for c in counties],
        "municipality": [m.number for m in municipalities],
        "phase": PHASES,
        "involvement": [v for v in INVOLVEMENTS if v],
        "adopted": ["yes", "no"],
        "organisation": [o.pk for o in organisations],
    }


def sql_count(query: dict[str, list[str]], organisation: int | None = None) -> int:
    """The straightforward SQL answer: published initiatives with every chosen value."""
    queryset = Initiative.objects.filter(status=Status.PUBLISHED)
    relations = {
        "goal": "goals__number",
        "target": "targets__code",
        "purpose": "purposes__slug",
        "actor_type": "actor_types__slug",
        "focus_area": "focus_areas__slug",
        "tag": "tags__slug",
        "group": "actor_types__group",
    }
    for name, values in query.items():
        for value in values:
            if name in relations:
                having = Initiative.objects.filter(**{relations[name]: value}).values("pk")
                queryset = queryset.filter(pk__in=having)
            elif name == "county":
                queryset = queryset.filter(Q(county__number=value) | Q(municipality__county__number=value))  # fmt: skip
            elif name == "municipality":
                queryset = queryset.filter(municipality__number=value)
            elif name in ("phase", "involvement"):
                queryset = queryset.filter(**{name: value})
            elif name == "adopted":
                adopted = Exists(Adoption.objects.filter(initiative=OuterRef("pk")))
                queryset = queryset.filter(adopted if value == "yes" else ~adopted)
    if organisation is not None:
        queryset = queryset.filter(
            Q(lead_organisation=organisation)
            | Q(pk__in=Participation.objects.filter(organisation=organisation).values("initiative"))
        )
    return queryset.count()


def listing(query: dict[str, list[str]], organisation: int | None = None):
    data = QueryDict(mutable=True)
    for name, values in query.items():
        data.setlist(name, values)
    filterset = InitiativeFilter(data, queryset=Initiative.objects.published())
    assert filterset.is_valid(), filterset.errors
    text = filterset.form.cleaned_data.get("q") or ""
    return listing_for(engine_module.engine(), selection_for(filterset, organisation), text)


SINGLE = ("group", "county", "municipality", "phase", "involvement", "adopted")


@st.composite
def queries(draw, values: dict):
    query = {}
    for name in draw(st.lists(st.sampled_from(sorted(set(values) - {"organisation"})), max_size=4, unique=True)):  # fmt: skip
        if name in SINGLE:
            query[name] = [draw(st.sampled_from(values[name]))]
        else:
            query[name] = draw(st.lists(st.sampled_from(values[name]), min_size=1, max_size=2, unique=True))  # fmt: skip
    return query


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_totals_and_every_count_equal_sql(catalogue, data):
    query = data.draw(queries(catalogue))
    organisation = data.draw(st.one_of(st.none(), st.sampled_from(catalogue["organisation"])))

    result = listing(query, organisation)

    assert result.total == sql_count(query, organisation)
    # Every count is what one more click gives: multi-valued facets add the value,
    # single-valued ones replace theirs (a county also drops the municipality).
    codes = {
        "target": dict(Target.objects.values_list("pk", "code")),
        "purpose": dict(Purpose.objects.values_list("pk", "slug")),
        "actor_type": dict(ActorType.objects.values_list("pk", "slug")),
        "focus_area": dict(FocusArea.objects.values_list("pk", "slug")),
        "county": dict(County.objects.values_list("pk", "number")),
        "municipality": dict(Municipality.objects.values_list("pk", "number")),
    }
    codes["tag"] = dict(Tag.objects.values_list("pk", "slug"))
    for name, counts in result.counts.items():
        for key, count in counts.items():
            value = codes[name][key] if name in codes else str(key)
            clicked = {k: list(v) for k, v in query.items()}
            if name in SINGLE:
                clicked[name] = [value]
                if name == "county":
                    clicked.pop("municipality", None)
            else:
                clicked[name] = sorted({*clicked.get(name, []), value})
            assert count == sql_count(clicked, organisation), (name, value, query)


def test_pages_in_each_order_hold_exactly_the_results(catalogue):
    result = listing({"goal": ["12"]})
    expected = set(
        Initiative.objects.filter(status=Status.PUBLISHED, goals__number=12).values_list(
            "pk", flat=True
        )  # fmt: skip
    )
    newest = list(
        Initiative.objects.filter(pk__in=expected)
        .order_by("-published_at", "-pk")
        .values_list("pk", flat=True)
    )
    assert result.page_ids("newest", 0, 100) == newest
    assert result.page_ids("newest", 2, 5) == newest[2:5]
    by_title = list(
        Initiative.objects.filter(pk__in=expected)
        .order_by("title", "pk")
        .values_list("pk", flat=True)  # fmt: skip
    )
    assert result.page_ids("title", 0, 100) == by_title
    assert result.page_ids("title", 3, 6) == by_title[3:6]
    adopted = sorted(newest, key=lambda pk: -Adoption.objects.filter(initiative=pk).count())
    assert result.page_ids("adopted", 0, 100) == adopted
    assert result.page_ids("adopted", 1, 4) == adopted[1:4]


def published_ids(current: Engine) -> set[int]:
    return {current.pk_of[position] for position in current.published}


def test_a_change_through_one_engine_is_seen_by_another(submitter, moderator):
    first, second = Engine(poll_seconds=0), Engine(poll_seconds=0)
    initiative = make_initiative(status=Status.SUBMITTED, created_by=submitter)
    first.current(), second.current()

    initiative.publish(by=moderator)
    assert initiative.pk in published_ids(second.current())

    initiative.goals.set([goal(13)])
    assert second.current().values("goal", 13) & second.published
    make_adoption(initiative=initiative)
    assert second.current().adoption_count() == 1
    assert initiative.pk in published_ids(first.current())

    initiative.withdraw(by=moderator)
    assert initiative.pk not in published_ids(second.current())
    assert not second.values("goal", 13)


def test_an_engine_waits_for_its_interval_then_reads_the_log(submitter, moderator):
    reader = Engine(poll_seconds=3600)
    initiative = make_initiative(status=Status.SUBMITTED, created_by=submitter)
    reader.current()

    initiative.publish(by=moderator)

    assert initiative.pk not in published_ids(reader.current())  # another process's engine
    reader.polled -= 3600
    assert initiative.pk in published_ids(reader.current())


def test_a_rolled_back_change_is_forgotten(submitter, moderator):
    reader = Engine(poll_seconds=0)
    initiative = make_initiative(status=Status.SUBMITTED, created_by=submitter)
    reader.current()

    def publish_then_fail():
        with transaction.atomic():
            initiative.publish(by=moderator)
            assert initiative.pk in published_ids(reader.current())
            raise RuntimeError

    with pytest.raises(RuntimeError):
        publish_then_fail()

    assert initiative.pk not in published_ids(reader.current())


def test_a_change_committed_late_with_a_lower_log_id_is_still_read():
    reader = Engine(poll_seconds=0)
    late = make_initiative(status=Status.DRAFT)
    reader.current()
    last = CatalogueChange.objects.order_by("-id").first().pk
    # A transaction that took id last+1 commits after one that took last+2.
    CatalogueChange.objects.create(id=last + 2, initiative_id=late.pk, token=1)
    reader.current()
    assert last + 1 in reader.gaps

    Initiative.objects.filter(pk=late.pk).update(status=Status.PUBLISHED)
    CatalogueChange.objects.create(id=last + 1, initiative_id=late.pk, token=2)

    assert late.pk in published_ids(reader.current())
    assert not reader.gaps


def test_an_older_publication_is_placed_in_order_by_a_fresh_build():
    reader = Engine(poll_seconds=0)
    newer = make_initiative(status=Status.PUBLISHED)
    reader.current()
    older = make_initiative(status=Status.PUBLISHED)
    Initiative.objects.filter(pk=older.pk).update(published_at=newer.published_at.replace(year=2020))  # fmt: skip
    engine_module.initiatives_changed([older.pk])

    current = reader.current()

    assert current.newest(current.published, 0, 2) == [newer.pk, older.pk]


def test_drafts_saved_while_writing_never_reach_the_engine():
    reader = Engine(poll_seconds=0)
    reader.current()
    draft = make_initiative(status=Status.DRAFT)
    draft.goals.set([goal(12)])

    assert draft.pk not in published_ids(reader.current())
    assert not reader.values("goal", 12)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text search is PostgreSQL's")
def test_a_cached_search_is_brought_up_to_date_not_repeated(
    submitter, moderator, django_assert_num_queries
):
    from initiatives.search import refresh_vectors

    first = make_initiative(status=Status.PUBLISHED, title="Matsvinn i kantina")
    refresh_vectors(Initiative.objects.filter(pk=first.pk))
    current = engine_module.engine()
    assert engine_module.text_hits("matsvinn", current).pks == [first.pk]

    second = make_initiative(status=Status.SUBMITTED, title="Mindre matsvinn", created_by=submitter)
    second.publish(by=moderator)  # refreshes its search vector
    first.withdraw(by=moderator)
    current = engine_module.engine()

    # One query re-checks the two changed initiatives; nothing else is searched again.
    with django_assert_num_queries(1):
        hits = engine_module.text_hits("matsvinn", current)
    assert hits.pks == [second.pk]
    assert hits.version == current.version


def test_the_log_keeps_its_newest_rows_and_an_engine_behind_it_builds_afresh():
    reader = Engine(poll_seconds=0)
    initiative = make_initiative(status=Status.PUBLISHED)
    reader.current()
    for _ in range(5):
        engine_module.initiatives_changed([initiative.pk])

    assert engine_module.prune_log(keep=2) > 0
    assert CatalogueChange.objects.count() == 2

    Initiative.objects.filter(pk=initiative.pk).update(phase="completed")
    engine_module.initiatives_changed([initiative.pk])
    assert reader.current().values("phase", "completed")


def test_cached_hits_naming_an_initiative_this_engine_has_not_read_are_skipped(client):
    shown = make_initiative(status=Status.PUBLISHED, title="Matsvinn i kantina")
    current = engine_module.engine()
    # Another process, further along, cached hits that include one published since.
    key = engine_module.text_key("matsvinn")
    cache.set(key, engine_module.TextHits("exact", [(10**9, 1.0), (shown.pk, 0.5)], current.version + 1))  # fmt: skip

    response = client.get("/tiltak/?q=matsvinn")

    assert response.status_code == 200
    assert [i.pk for i in response.context["initiatives"]] == [shown.pk]
