"""Atom feeds of new initiatives: what the list shows, newest first, nothing unpublished."""

import re

import feedparser
import pytest
from django.conf import settings

from initiatives import engine, feeds
from initiatives.models import ActorType, Initiative, Organisation, Purpose
from tests.factories import goal, make_initiative, make_organisation

pytestmark = pytest.mark.django_db

Status = Initiative.Status
HIDDEN = [Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.ARCHIVED]


def publish(**fields) -> Initiative:
    goals = fields.pop("goals", [])
    purposes = fields.pop("purposes", [])
    actor_types = fields.pop("actor_types", [])
    initiative = make_initiative(status=fields.pop("status", Status.PUBLISHED), **fields)
    initiative.goals.set([goal(n) for n in goals])
    initiative.purposes.set(Purpose.objects.filter(slug__in=purposes))
    initiative.actor_types.set(ActorType.objects.filter(slug__in=actor_types))
    Initiative.objects.filter(pk=initiative.pk).refresh_search_vectors()
    return initiative


@pytest.fixture
def lead() -> Organisation:
    return make_organisation(name="Grønn kommune", slug="gronn-kommune")


@pytest.fixture
def bank(lead):
    """Published initiatives with known facets, and hidden ones with the same facets and
    words that must never appear."""
    publish(
        title="Matsvinn i barnehager",
        summary="Mindre matsvinn.",
        goals=[12, 4],
        purposes=["across-sectors"],
        actor_types=["kindergarten"],
        lead_organisation=lead,
    )
    publish(
        title="Ombruk av møbler",
        goals=[12],
        purposes=["across-sectors", "share-develop-scale"],
        actor_types=["municipality"],
    )
    publish(title="Bibliotek og matsvinn", goals=[4], purposes=["share-develop-scale"])
    for status in HIDDEN:
        publish(
            title=f"Hemmelig matsvinn {status}",
            status=status,
            goals=[12, 4],
            purposes=["across-sectors"],
            actor_types=["kindergarten"],
            lead_organisation=lead,
        )


def entries(client, url: str) -> list:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    return parsed.entries


def entry_slugs(client, url: str) -> list[str]:
    return [entry.link.rstrip("/").rsplit("/", 1)[-1] for entry in entries(client, url)]


def listed_slugs(client, url: str) -> list[str]:
    separator = "&" if "?" in url else "?"
    response = client.get(f"{url}{separator}sort=newest")
    return [initiative.slug for initiative in response.context["initiatives"]]


def feed_of(page: str) -> str:
    path, _, query = page.partition("?")
    return f"{path}feed/" + (f"?{query}" if query else "")


PAGES = [
    "/tiltak/",
    "/tiltak/?goal=12",
    "/tiltak/?goal=12&purpose=across-sectors",
    "/tiltak/?q=matsvinn",
    "/tiltak/?q=matsvinn&goal=4",
    "/tiltak/?purpose=share-develop-scale&q=bibliotek",
    "/barekraftsmal/12/",
    "/barekraftsmal/4/?purpose=across-sectors",
    "/aktortyper/kindergarten/",
    "/formal/across-sectors/",
    "/organisasjoner/gronn-kommune/",
    "/en/tiltak/?goal=4",
]


@pytest.mark.parametrize("page", PAGES)
def test_feed_entries_are_the_lists_newest_first(client, bank, page):
    listed = listed_slugs(client, page)

    slugs = entry_slugs(client, feed_of(page))

    assert slugs == listed
    assert listed  # every case lists something: an empty match would prove nothing


@pytest.mark.parametrize("page", PAGES)
def test_feed_shows_nothing_unpublished(client, bank, page):
    response = client.get(feed_of(page))

    assert "Hemmelig" not in response.text
    published = set(Initiative.objects.published().values_list("slug", flat=True))
    assert set(entry_slugs(client, feed_of(page))) <= published


def test_feed_entry_says_what_where_when_who_and_which_goals(client, bank, lead):
    initiative = Initiative.objects.get(title="Matsvinn i barnehager")

    (entry,) = entries(client, "/tiltak/feed/?q=barnehager")

    assert entry.title == "Matsvinn i barnehager"
    assert entry.link == f"{settings.SITE_URL}/tiltak/{initiative.slug}/"
    assert entry.summary == "Mindre matsvinn."
    assert entry.published_parsed[:6] == initiative.published_at.utctimetuple()[:6]
    assert entry.updated_parsed >= entry.published_parsed
    assert entry.author_detail.name == "Grønn kommune"
    assert entry.author_detail.href == f"{settings.SITE_URL}/organisasjoner/gronn-kommune/"
    assert [tag.term for tag in entry.tags] == [str(goal(4)), str(goal(12))]


def test_english_feed_has_english_labels(client, bank):
    response = client.get("/en/tiltak/feed/?goal=12")
    parsed = feedparser.parse(response.content)

    assert parsed.feed.title == f"New initiatives, filtered – {settings.SITE_NAME}"
    assert parsed.feed.link == f"{settings.SITE_URL}/en/tiltak/?goal=12"
    assert parsed.feed.language == "en"
    assert {tag.term for entry in parsed.entries for tag in entry.tags} == {
        f"4. {goal(4).short_en}",
        f"12. {goal(12).short_en}",
    }


def test_feed_title_says_the_search(client, bank):
    parsed = feedparser.parse(client.get("/en/tiltak/feed/?q=matsvinn&sort=title&page=2").content)

    assert parsed.feed.title == f"New initiatives, search: “matsvinn” – {settings.SITE_NAME}"
    # The feed follows the list state, not its sort or page.
    assert parsed.feed.link == f"{settings.SITE_URL}/en/tiltak/?q=matsvinn"


def test_feed_is_bounded_to_the_newest(client, bank, monkeypatch):
    monkeypatch.setattr(feeds, "ENTRIES", 2)
    newest = listed_slugs(client, "/tiltak/")[:2]

    slugs = entry_slugs(client, "/tiltak/feed/")

    assert slugs == newest


@pytest.mark.parametrize(
    "query",
    ["goal=99", "purpose=ingen-slik&goal=12", "q=" + "x" * 300, "sort=nonsense&phase=unknown"],
)
def test_feed_ignores_what_the_list_does_not_understand(client, bank, query):
    listed = listed_slugs(client, f"/tiltak/?{query}")

    slugs = entry_slugs(client, f"/tiltak/feed/?{query}")

    assert slugs == listed


@pytest.mark.parametrize(
    "url",
    [
        "/barekraftsmal/18/feed/",
        "/aktortyper/ingen-slik/feed/",
        "/formal/ingen-slik/feed/",
        "/organisasjoner/foreslatt/feed/",
    ],
)
def test_feed_of_what_has_no_page_is_404(client, url):
    make_organisation(slug="foreslatt", status=Organisation.Status.PROPOSED)

    response = client.get(url)

    assert response.status_code == 404


HEAD_LINK = re.compile(
    r'<link rel="alternate" type="application/atom\+xml" title="([^"]+)" href="([^"]+)">'
)


@pytest.mark.parametrize(
    ("page", "title"),
    [
        ("/tiltak/", None),
        ("/tiltak/?goal=12&q=matsvinn&sort=title", None),
        ("/barekraftsmal/12/", None),
        ("/aktortyper/kindergarten/", None),
        ("/formal/across-sectors/", None),
        ("/organisasjoner/gronn-kommune/", None),
        ("/en/tiltak/", "New initiatives (Atom)"),
        ("/en/tiltak/?goal=12&q=matsvinn&sort=title", "New initiatives in this search (Atom)"),
        ("/en/barekraftsmal/12/", "New initiatives for goal 12 (Atom)"),
        (
            "/en/formal/across-sectors/",
            "New initiatives: purpose Collaboration across sectors (Atom)",
        ),
        ("/en/organisasjoner/gronn-kommune/", "New initiatives from Grønn kommune (Atom)"),
    ],
)
def test_list_pages_link_their_feed_in_head(client, bank, page, title):
    response = client.get(page)

    head = response.text.split("</head>", 1)[0]
    (found,) = HEAD_LINK.findall(head)
    found_title, href = found
    if title is not None:
        assert found_title == title
    assert href.replace("&amp;", "&") == feed_of(page.replace("&sort=title", ""))
    assert entry_slugs(client, href.replace("&amp;", "&")) == listed_slugs(client, page)


def test_list_has_a_visible_follow_link(client, bank):
    response = client.get("/en/tiltak/?q=matsvinn")

    assert (
        '<a class="ds-link" href="/en/tiltak/feed/?q=matsvinn">Subscribe (Atom)'
        '<span class="ds-sr-only"> to new initiatives in this list</span></a>'
    ) in response.text


FEEDS = [
    "/tiltak/feed/",
    "/tiltak/feed/?goal=12&purpose=across-sectors",
    "/barekraftsmal/12/feed/",
    "/aktortyper/kindergarten/feed/",
    "/formal/across-sectors/feed/",
    "/organisasjoner/gronn-kommune/feed/",
]
# The change log, the initiatives and their goals; the page's own row where it has one, and
# the choices' checks (purpose, actor type) the first time a list state is seen.
QUERIES = {
    "/tiltak/feed/": 3,
    "/tiltak/feed/?goal=12&purpose=across-sectors": 4,
    "/barekraftsmal/12/feed/": 4,
    "/aktortyper/kindergarten/feed/": 5,
    "/formal/across-sectors/feed/": 5,
    "/organisasjoner/gronn-kommune/feed/": 4,
}


@pytest.mark.parametrize("items", [1, 20])
@pytest.mark.parametrize("url", FEEDS)
def test_feed_query_count(client, django_assert_num_queries, lead, url, items):
    for _ in range(items):
        publish(goals=[12, 4], purposes=["across-sectors"], actor_types=["kindergarten"], lead_organisation=lead)  # fmt: skip
    engine.engine()  # built once per process, not per request

    with django_assert_num_queries(QUERIES[url]):
        response = client.get(url)

    assert len(feedparser.parse(response.content).entries) == items
