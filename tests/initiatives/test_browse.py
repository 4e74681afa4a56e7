"""The public initiative list and its facets, search, visibility and query counts."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse

from ideabank.models import profile_for
from initiatives.models import ActorType, County, Initiative, Municipality, Purpose
from tests.factories import goal, make_adoption, make_initiative, make_organisation

pytestmark = pytest.mark.django_db

Status = Initiative.Status
HIDDEN = [Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.ARCHIVED]


def publish(**fields) -> Initiative:
    goals = fields.pop("goals", [])
    purposes = fields.pop("purposes", [])
    actor_types = fields.pop("actor_types", [])
    tags = fields.pop("tags", [])
    initiative = make_initiative(status=fields.pop("status", Status.PUBLISHED), **fields)
    initiative.goals.set([goal(n) for n in goals])
    initiative.purposes.set(Purpose.objects.filter(slug__in=purposes))
    initiative.actor_types.set(ActorType.objects.filter(slug__in=actor_types))
    initiative.tags.set(tags)
    Initiative.objects.filter(pk=initiative.pk).refresh_search_vectors()
    return initiative


@pytest.fixture
def bank():
    """Three published initiatives with known facets, and hidden ones that must never count."""
    oslo = Municipality.objects.get(number="0301")
    trondelag = County.objects.get(number="50")
    a = publish(
        title="Matsvinn i barnehager",
        goals=[12, 4],
        purposes=["across-sectors"],
        actor_types=["kindergarten"],
        phase="running",
        municipality=oslo,
        tags=["matsvinn"],
    )
    b = publish(
        title="Ombruk av møbler",
        goals=[12],
        purposes=["across-sectors", "share-develop-scale"],
        actor_types=["municipality"],
        phase="pilot",
        scope="regional",
        municipality=None,
        county=trondelag,
        tags=["ombruk"],
    )
    c = publish(
        title="Bibliotek og bærekraft",
        goals=[4],
        purposes=["share-develop-scale"],
        actor_types=["library"],
        phase="running",
        scope="national",
        municipality=None,
    )
    make_adoption(initiative=a)
    for status in HIDDEN:
        publish(
            title=f"Hemmelig {status}",
            status=status,
            goals=[12, 4, 14],
            purposes=["across-sectors"],
            actor_types=["kindergarten"],
            phase="running",
            municipality=oslo,
            tags=["hemmelig"],
        )
    return {"a": a, "b": b, "c": c}


def facet_counts(response) -> dict[str, dict[str, int]]:
    return {
        facet.name: {o.value: o.count for o in facet.options}
        for facet in response.context["facets"]
    }


def titles(response) -> list[str]:
    return sorted(i.title for i in response.context["initiatives"])


def test_list_without_filters_counts_only_published(client, bank):
    response = client.get("/en/tiltak/")

    counts = facet_counts(response)
    assert titles(response) == [
        "Bibliotek og bærekraft",
        "Matsvinn i barnehager",
        "Ombruk av møbler",
    ]
    assert counts["goal"] == {"4": 2, "12": 2}
    assert counts["purpose"] == {"across-sectors": 2, "share-develop-scale": 2}
    assert counts["phase"] == {"running": 2, "pilot": 1}
    assert counts["county"] == {"03": 1, "50": 1}
    assert counts["adopted"] == {"yes": 1, "no": 2}
    assert counts["tag"] == {"matsvinn": 1, "ombruk": 1}


def test_facet_counts_with_combined_filters(client, bank):
    response = client.get("/en/tiltak/?goal=12&phase=running")

    counts = facet_counts(response)
    assert titles(response) == ["Matsvinn i barnehager"]
    # Multi-valued facets count on the current results ...
    assert counts["goal"] == {"4": 1, "12": 1}
    assert counts["purpose"] == {"across-sectors": 1}
    # ... single-valued ones on the results with every other facet applied.
    assert counts["phase"] == {"running": 1, "pilot": 1}
    assert counts["county"] == {"03": 1}
    assert counts["group"] == {"own_units": 1}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "goal=12",
        "goal=12&phase=running",
        "purpose=share-develop-scale",
        "county=50",
        "q=barnehager",
    ],
)
def test_every_facet_count_is_what_its_link_gives(client, bank, query):
    response = client.get(f"/en/tiltak/?{query}")

    for facet in response.context["facets"]:
        for option in facet.options:
            followed = client.get(f"/en/tiltak/{option.url}")
            expected = option.count if not option.selected else followed.context["paginator"].count
            assert followed.context["paginator"].count == expected, (facet.name, option.value)


def test_chips_and_clear_all(client, bank):
    response = client.get("/en/tiltak/?goal=12&purpose=across-sectors&q=matsvinn")

    chips = [(chip.label, chip.url) for chip in response.context["chips"]]
    assert [label for label, _ in chips] == [
        "Search: matsvinn",
        "Sustainable Development Goal: 12. Responsible consumption and production",
        "Purpose: Collaboration across sectors",
    ]
    assert chips[1][1] == "?purpose=across-sectors&q=matsvinn"
    assert response.context["clear_all_url"] == "?q=matsvinn"


def test_empty_result_explains_itself(client, bank):
    response = client.get("/en/tiltak/?goal=4&phase=pilot")

    assert response.context["paginator"].count == 0
    assert "No initiatives match" in response.text
    assert "Remove Phase: Pilot" in response.text


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("title", ["Bibliotek og bærekraft", "Matsvinn i barnehager", "Ombruk av møbler"]),
        ("adopted", ["Matsvinn i barnehager"]),
    ],
)
def test_sorting(client, bank, sort, expected):
    response = client.get(f"/en/tiltak/?sort={sort}")

    shown = [i.title for i in response.context["initiatives"]]
    assert shown[: len(expected)] == expected


@pytest.mark.parametrize("status", HIDDEN)
def test_hidden_initiative_detail_is_404(client, status):
    initiative = make_initiative(status=status)

    response = client.get(reverse("initiatives:detail", args=[initiative.slug]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/tiltak/",
        "/tiltak/?q=hemmelig",
        "/tiltak/?tag=hemmelig",
        "/barekraftsmal/14/",
        "/aktortyper/kindergarten/",
        "/formal/across-sectors/",
        "/",
    ],
)
def test_hidden_initiatives_never_leak(client, bank, url):
    response = client.get(url)

    assert response.status_code == 200
    assert "Hemmelig" not in response.text
    if "facets" in response.context:
        counts = facet_counts(response)
        assert "14" not in counts.get("goal", {})
        assert counts.get("tag", {}).get("hemmelig", 0) == 0


def test_organisation_page_shows_only_published(client, bank):
    organisation = make_organisation(name="Skjult kommune")
    publish(title="Hemmelig utkast", status=Status.DRAFT, lead_organisation=organisation)
    shown = publish(title="Synlig tiltak", lead_organisation=organisation)

    response = client.get(reverse("initiatives:organisation", args=[organisation.slug]))

    assert [i.title for i in response.context["initiatives"]] == [shown.title]
    assert response.context["led_count"] == 1
    assert "Hemmelig" not in response.text


def test_related_initiatives_share_goals_and_stay_public(client, bank):
    response = client.get(reverse("initiatives:detail", args=[bank["a"].slug]))

    related = [i.title for i in response.context["related"]]
    assert set(related) == {"Ombruk av møbler", "Bibliotek og bærekraft"}


def test_goal_page_fixes_the_goal(client, bank):
    response = client.get("/en/barekraftsmal/4/")

    assert titles(response) == ["Bibliotek og bærekraft", "Matsvinn i barnehager"]
    assert "goal" not in facet_counts(response)
    assert len(response.context["targets"]) == 10


def test_detail_page_title_and_description(client, bank):
    response = client.get(reverse("initiatives:detail", args=[bank["a"].slug]))

    assert "<title>Matsvinn i barnehager" in response.text
    assert f'content="{bank["a"].summary}"' in response.text


def test_contact_details_only_for_confirmed_accounts(client, bank, submitter):
    initiative = bank["a"]
    Initiative.objects.filter(pk=initiative.pk).update(
        contact_name="Kari", contact_email="kari@example.org"
    )

    anonymous = client.get(initiative.get_absolute_url())
    client.force_login(submitter)
    unconfirmed = client.get(initiative.get_absolute_url())
    profile_for(submitter).confirm_email()
    confirmed = client.get(initiative.get_absolute_url())

    assert "kari@example.org" not in anonymous.text
    assert "kari@example.org" not in unconfirmed.text
    assert "kari@example.org" in confirmed.text


@pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text search is PostgreSQL's")
class TestPostgresqlSearch:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("barnehagene", ["Matsvinn i barnehager"]),  # inflected form
            ("barnehge", ["Matsvinn i barnehager"]),  # misspelled
            ("MØBLER", ["Ombruk av møbler"]),  # case
            ("mobler", ["Ombruk av møbler"]),  # accent
            ("bærekraft -bibliotek", []),  # web-search syntax
            ('"ombruk av møbler"', ["Ombruk av møbler"]),
        ],
    )
    def test_search_finds(self, client, bank, text, expected):
        response = client.get("/en/tiltak/", {"q": text})

        assert titles(response) == expected

    def test_title_ranks_above_description(self, client, bank):
        publish(title="Et annet tiltak", description="Noe om ombruk i kommunen.")

        response = client.get("/en/tiltak/", {"q": "ombruk"})

        assert [i.title for i in response.context["initiatives"]] == [
            "Ombruk av møbler",
            "Et annet tiltak",
        ]

    def test_goal_names_tags_and_organisations_are_searchable(self, client, bank):
        by_goal = client.get("/en/tiltak/", {"q": "utdanning"})
        by_tag = client.get("/en/tiltak/", {"q": "matsvinn"})

        assert titles(by_goal) == ["Bibliotek og bærekraft", "Matsvinn i barnehager"]
        assert titles(by_tag) == ["Matsvinn i barnehager"]


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite fallback")
def test_simple_search_finds_words_in_title_summary_and_description(client, bank):
    publish(title="Et annet tiltak", description="Noe om ombruk i kommunen.")

    response = client.get("/en/tiltak/", {"q": "ombruk"})

    assert titles(response) == ["Et annet tiltak", "Ombruk av møbler"]


def test_clear_all_offered_only_with_a_facet_chosen(client, bank):
    search_only = client.get("/en/tiltak/?q=matsvinn")
    with_facet = client.get("/en/tiltak/?q=matsvinn&goal=12")

    assert "Clear all filters" not in search_only.text
    assert "Clear all filters" in with_facet.text


def notices(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("status", HIDDEN)
@pytest.mark.parametrize(
    "page", ["/en/tiltak/", "/en/barekraftsmal/12/", "/en/formal/across-sectors/"]
)
def test_a_tag_only_hidden_initiatives_have_is_answered_as_one_that_does_not_exist(
    client, status, page
):
    make_initiative(status=status).tags.set(["Kun i utkastet"])
    publish(title="Offentlig", goals=[12], purposes=["across-sectors"], tags=["synlig"])

    hidden = client.get(page, {"tag": "kun-i-utkastet"})
    missing = client.get(page, {"tag": "finnes-ikke"})

    assert hidden.context["chips"] == missing.context["chips"] == []
    assert "Kun i utkastet" not in hidden.text
    assert notices(hidden) == [n.replace("finnes-ikke", "kun-i-utkastet") for n in notices(missing)]
    assert len(notices(hidden)) == 1
    assert hidden.context["paginator"].count == missing.context["paginator"].count == 1


def test_a_tag_shows_as_a_chip_once_a_published_initiative_has_it(client):
    publish(title="Offentlig", tags=["Kun i utkastet"])

    response = client.get("/en/tiltak/", {"tag": "kun-i-utkastet"})

    assert [chip.label for chip in response.context["chips"]] == ["Tag: Kun i utkastet"]
