"""The list's two facets of issue 14: "updated in the last year" (updated=year), which
changes with the date as well as with the catalogue, and "campaign" (campaign=<slug>), the
campaigns an initiative answers. The engine's counts are what SQL counts."""

import csv
import io
import random
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.http import QueryDict
from django.utils import timezone

from initiatives import engine as engine_module
from initiatives.facets import listing_for, selection_for
from initiatives.filters import InitiativeFilter
from initiatives.models import CatalogueChange, Initiative, freshness_cutoff, months_before
from networks.models import Campaign
from tests.factories import make_campaign, make_initiative

pytestmark = pytest.mark.django_db

Status = Initiative.Status
OSLO = timezone.get_default_timezone()


def months_ago(months: int, days: int = 0) -> datetime:
    day = months_before(timezone.localdate(), months) - timedelta(days=days)
    return datetime(day.year, day.month, day.day, 12, tzinfo=OSLO)


def listing(query: dict[str, list[str]]):
    data = QueryDict(mutable=True)
    for name, values in query.items():
        data.setlist(name, values)
    filterset = InitiativeFilter(data, queryset=Initiative.objects.published())
    assert filterset.is_valid(), filterset.errors
    return listing_for(engine_module.engine(), selection_for(filterset)), filterset


def sql_count(query: dict[str, list[str]]) -> int:
    """The plain SQL answer, written out here rather than through the filter set."""
    queryset = Initiative.objects.filter(status=Status.PUBLISHED)
    for name, values in query.items():
        for value in values:
            if name == "updated":
                cutoff = freshness_cutoff(12)
                queryset = queryset.exclude(owner_updated_at__lt=cutoff).exclude(
                    owner_updated_at__isnull=True, published_at__lt=cutoff
                )
            elif name == "campaign":
                queryset = queryset.filter(
                    pk__in=Campaign.initiatives.through.objects.filter(campaign__slug=value).values(
                        "initiative"
                    )
                )
            elif name == "phase":
                queryset = queryset.filter(phase=value)
            elif name == "goal":
                queryset = queryset.filter(pk__in=Initiative.objects.filter(goals__number=value).values("pk"))  # fmt: skip
    return queryset.count()


@pytest.fixture
def generated():
    """Generated published initiatives (owners' updates spread over three years), drafts
    and archived ones among them, and three campaigns answered by some of each."""
    call_command("generate_initiatives", count=60, seed=3, verbosity=0)
    rng = random.Random(5)
    initiatives = list(Initiative.objects.order_by("pk"))
    for initiative in rng.sample(initiatives, 12):
        Initiative.objects.filter(pk=initiative.pk).update(
            status=rng.choice([Status.DRAFT, Status.ARCHIVED, Status.SUBMITTED])
        )
    engine_module.everything_changed()
    campaigns = [make_campaign(title=f"Del {n}") for n in range(3)]
    for campaign in campaigns:
        campaign.initiatives.set(rng.sample(initiatives, 15))
    return campaigns


def test_generated_owners_updates_are_spread_over_three_years(generated):
    published = Initiative.objects.filter(status=Status.PUBLISHED)
    updates = list(published.values_list("owner_updated_at", flat=True))

    assert None not in updates
    assert min(updates) >= timezone.now() - timedelta(days=3 * 365 + 1)
    assert published.stale().exists()
    assert published.updated_recently().exists()


def test_facet_counts_equal_the_list_counts_on_generated_data(generated):
    rng = random.Random(11)
    slugs = [c.slug for c in generated]
    queries = [
        {},
        {"updated": ["year"]},
        {"campaign": [slugs[0]]},
        {"campaign": slugs[:2]},
        {"updated": ["year"], "campaign": [slugs[1]]},
    ]
    for _ in range(15):
        query = {}
        if rng.random() < 0.5:
            query["updated"] = ["year"]
        if rng.random() < 0.6:
            query["campaign"] = rng.sample(slugs, rng.randint(1, 2))
        if rng.random() < 0.4:
            query["phase"] = [rng.choice(Initiative.Phase.values)]
        if rng.random() < 0.3:
            query["goal"] = [str(rng.choice([4, 7, 11, 12, 13]))]
        queries.append(query)

    for query in queries:
        result, filterset = listing(query)

        assert result.total == sql_count(query) == filterset.qs.count(), query
        # Every count is what one more click gives.
        assert result.counts["updated"].get("year", 0) == sql_count({**query, "updated": ["year"]})  # fmt: skip
        for campaign in generated:
            clicked = {**query, "campaign": sorted({*query.get("campaign", []), campaign.slug})}
            assert result.counts["campaign"].get(campaign.pk, 0) == sql_count(clicked), (query, campaign.slug)  # fmt: skip


def test_the_list_page_shows_both_facets_with_their_counts(client, generated):
    campaign = generated[0]
    in_year = sql_count({"updated": ["year"]})
    answered = sql_count({"campaign": [campaign.slug]})

    page = client.get("/en/tiltak/")
    year_page = client.get("/en/tiltak/?updated=year")
    campaign_page = client.get(f"/en/tiltak/?campaign={campaign.slug}")

    html = page.content.decode()
    assert f'In the last year <span class="facet__count">({in_year})</span>' in html
    assert f'{campaign.title} <span class="facet__count">({answered})</span>' in html
    assert year_page.context["paginator"].count == in_year
    assert campaign_page.context["paginator"].count == answered
    assert [chip.label for chip in year_page.context["chips"]] == ["Last updated: In the last year"]
    assert [chip.label for chip in campaign_page.context["chips"]] == [
        f"Campaign: {campaign.title}"
    ]


def test_an_initiative_ages_out_of_the_last_year_at_midnight_without_a_write(client, monkeypatch):
    edge = freshness_cutoff(12)  # the first moment still "in the last year" today
    ageing = make_initiative(status=Status.PUBLISHED, title="Snart gammelt")
    ageing.note_owner_update(edge)
    fresh = make_initiative(status=Status.PUBLISHED, title="Ferskt")
    fresh.note_owner_update(timezone.now() - timedelta(days=1))

    today = client.get("/en/tiltak/?updated=year")
    list_today = client.get("/en/tiltak/")
    log = CatalogueChange.objects.count()
    tomorrow = timezone.localtime() + timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: tomorrow)
    next_day = client.get("/en/tiltak/?updated=year")
    list_next_day = client.get("/en/tiltak/")

    assert [i.pk for i in today.context["initiatives"]] == [fresh.pk, ageing.pk]
    assert [i.pk for i in next_day.context["initiatives"]] == [fresh.pk]
    assert CatalogueChange.objects.count() == log  # nothing was written
    assert 'In the last year <span class="facet__count">(2)</span>' in list_today.content.decode()
    assert (
        'In the last year <span class="facet__count">(1)</span>' in list_next_day.content.decode()
    )
    assert list(Initiative.objects.updated_recently()) == [fresh]


def test_an_update_brings_an_initiative_back_into_the_last_year(client):
    initiative = make_initiative(status=Status.PUBLISHED)
    initiative.note_owner_update(months_ago(14))
    assert client.get("/tiltak/?updated=year").context["paginator"].count == 0

    initiative.note_owner_update()

    assert [i.pk for i in client.get("/tiltak/?updated=year").context["initiatives"]] == [initiative.pk]  # fmt: skip


def test_adding_and_removing_a_campaign_link_updates_the_list(client):
    campaign = make_campaign(title="Tour de Trøndelag")
    first = make_initiative(status=Status.PUBLISHED)
    second = make_initiative(status=Status.PUBLISHED)
    url = f"/tiltak/?campaign={campaign.slug}"

    def shown() -> list[int]:
        return [i.pk for i in client.get(url).context["initiatives"]]

    assert shown() == []
    campaign.initiatives.add(first)  # from the campaign's side
    assert shown() == [first.pk]
    second.campaigns.add(campaign)  # from the initiative's side (the reverse relation)
    assert shown() == [second.pk, first.pk]
    first.campaigns.remove(campaign)
    assert shown() == [second.pk]
    campaign.initiatives.clear()
    assert shown() == []
    second.campaigns.add(campaign)
    second.campaigns.clear()
    assert shown() == []


def test_deleting_a_campaign_takes_it_out_of_the_engine():
    campaign = make_campaign()
    initiative = make_initiative(status=Status.PUBLISHED)
    campaign.initiatives.add(initiative)
    key = campaign.pk
    assert engine_module.engine().values("campaign", key)

    campaign.delete()

    assert not engine_module.engine().values("campaign", key)


def test_drafts_never_appear_through_either_facet(client):
    only_drafts = make_campaign(title="Bare utkast")
    draft = make_initiative(status=Status.DRAFT)
    draft.note_owner_update()
    only_drafts.initiatives.add(draft)
    submitted = make_initiative(status=Status.SUBMITTED)
    submitted.note_owner_update()
    public = make_initiative(status=Status.PUBLISHED)
    public.note_owner_update(months_ago(20))

    page = client.get("/en/tiltak/").content.decode()
    by_campaign = client.get(f"/en/tiltak/?campaign={only_drafts.slug}")
    recent = client.get("/en/tiltak/?updated=year")

    assert "Bare utkast" not in page
    assert "In the last year" not in page  # nothing published was updated in the last year
    assert by_campaign.context["paginator"].count == 0
    assert recent.context["paginator"].count == 0
    assert draft.title not in by_campaign.content.decode()


def test_unknown_values_are_ignored_with_a_message(client):
    make_initiative(status=Status.PUBLISHED)

    response = client.get("/en/tiltak/?updated=forever&campaign=finnes-ikke")

    assert response.status_code == 200
    assert response.context["paginator"].count == 1
    problems = [str(m) for m in response.context["messages"]]
    assert len(problems) == 2
    assert any("Last updated" in p for p in problems)
    assert any("Campaign" in p for p in problems)


def test_the_api_takes_both_parameters(client):
    campaign = make_campaign()
    recent = make_initiative(status=Status.PUBLISHED)
    recent.note_owner_update()
    old = make_initiative(status=Status.PUBLISHED)
    old.note_owner_update(months_ago(13))
    campaign.initiatives.add(recent, old)
    make_initiative(status=Status.PUBLISHED).note_owner_update()

    both = client.get(f"/api/v1/initiatives/?updated=year&campaign={campaign.slug}").json()
    answered = client.get(f"/api/v1/initiatives/?campaign={campaign.slug}").json()
    bad = client.get("/api/v1/initiatives/?updated=forever")
    unknown = client.get("/api/v1/initiatives/?campaign=finnes-ikke")

    assert [row["id"] for row in both["results"]] == [recent.pk]
    assert [row["id"] for row in answered["results"]] == [old.pk, recent.pk]
    assert bad.status_code == 400
    assert unknown.status_code == 400


def test_the_export_takes_the_lists_parameters(client):
    campaign = make_campaign()
    answered = make_initiative(status=Status.PUBLISHED, title="Svarte på kampanjen")
    campaign.initiatives.add(answered)
    make_initiative(status=Status.PUBLISHED, title="Svarte ikke")

    response = client.get(f"/tiltak/eksport.csv?campaign={campaign.slug}&updated=year")

    assert response.status_code == 200
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content), delimiter=content.split("\n")[0][5:6] or ";"))
    titles = [row for row in rows[1:] if row]
    assert len(titles) == 1
    assert "Svarte på kampanjen" in content
    assert "Svarte ikke" not in content


@pytest.mark.parametrize("items", [1, 20])
def test_the_list_with_both_facets_has_a_fixed_query_count(client, django_assert_num_queries, items):  # fmt: skip
    campaign = make_campaign()
    for _ in range(items):
        initiative = make_initiative(status=Status.PUBLISHED)
        initiative.note_owner_update()
        campaign.initiatives.add(initiative)
    engine_module.engine()
    url = f"/tiltak/?updated=year&campaign={campaign.slug}"

    # The change log, the session-free page's rows (with goals), and the filter panel's
    # campaign names and reference lists once per catalogue version.
    with django_assert_num_queries(10):
        response = client.get(url)

    assert response.context["paginator"].count == items


def test_a_campaign_made_after_its_address_was_asked_for_is_understood(client):
    before = client.get("/en/tiltak/", {"campaign": "ny-kampanje"})  # not there yet

    make_campaign(slug="ny-kampanje", title="Ny kampanje")
    after = client.get("/en/tiltak/", {"campaign": "ny-kampanje"})

    assert [str(m) for m in before.context["messages"]][0].startswith("The filter")
    assert list(after.context["messages"]) == []
    assert after.context["facets_chosen"]
