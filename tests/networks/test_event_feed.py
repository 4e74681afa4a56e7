"""The Atom feed of upcoming events."""

import re
from datetime import timedelta

import feedparser
import pytest
from django.conf import settings
from django.utils import timezone

from networks import feeds
from tests.factories import make_event, make_network

pytestmark = pytest.mark.django_db


def parse(client, url: str = "/arrangementer/feed/"):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


def test_event_feed_lists_upcoming_events_soonest_first(client):
    now = timezone.now()
    later = make_event(title="Senere", starts_at=now + timedelta(days=30))
    sooner = make_event(title="Snart", starts_at=now + timedelta(days=2))
    make_event(title="Forbi", starts_at=now - timedelta(days=3))

    parsed = parse(client)

    assert [entry.link for entry in parsed.entries] == [
        f"{settings.SITE_URL}{sooner.get_absolute_url()}",
        f"{settings.SITE_URL}{later.get_absolute_url()}",
    ]


def test_event_feed_entry_has_organiser_kind_and_time(client):
    network = make_network(name="Klimanettverket")
    event = make_event(
        title="Webinar om ombruk", organiser_network=network, description="Velkommen."
    )

    (entry,) = parse(client, "/en/arrangementer/feed/").entries

    assert entry.title == "Webinar om ombruk"
    assert entry.author_detail.name == "Klimanettverket"
    assert entry.author_detail.href == f"{settings.SITE_URL}/en/nettverk/{network.slug}/"
    assert [tag.term for tag in entry.tags] == ["Webinar"]
    assert entry.summary.startswith("Starts ")
    assert entry.summary.endswith("Velkommen.")
    assert entry.published_parsed[:6] == event.created.utctimetuple()[:6]


def test_event_feed_marks_cancelled_events(client):
    make_event(title="Avlyst møte", cancelled_at=timezone.now())

    (entry,) = parse(client, "/en/arrangementer/feed/").entries

    assert entry.title == "Cancelled: Avlyst møte"


def test_event_feed_is_bounded(client, monkeypatch):
    monkeypatch.setattr(feeds, "ENTRIES", 2)
    for days in (1, 2, 3):
        make_event(starts_at=timezone.now() + timedelta(days=days))

    assert len(parse(client).entries) == 2


def test_event_list_links_the_feed_in_head(client):
    response = client.get("/en/arrangementer/")

    head = response.text.split("</head>", 1)[0]
    assert re.findall(r'<link rel="alternate" type="application/atom\+xml"[^>]*>', head) == [
        '<link rel="alternate" type="application/atom+xml" title="Upcoming events (Atom)" '
        'href="/en/arrangementer/feed/">'
    ]


@pytest.mark.parametrize("items", [1, 20])
def test_event_feed_query_count(client, django_assert_num_queries, items):
    network = make_network()
    for _ in range(items):
        make_event(organiser_network=network)

    # Four for the event list's filter choices (organisers, working groups, months), one
    # for the entries.
    with django_assert_num_queries(5):
        response = client.get("/arrangementer/feed/")

    assert len(feedparser.parse(response.content).entries) == items


def test_event_feed_follows_the_event_lists_filters(client):
    make_event(title="Et webinar", kind="webinar")
    make_event(title="Et møte", kind="meeting")

    parsed = parse(client, "/en/arrangementer/feed/?kind=webinar")

    assert [entry.title for entry in parsed.entries] == ["Et webinar"]
    assert parsed.feed.title.startswith("Upcoming events, filtered")
    assert parsed.feed.link == f"{settings.SITE_URL}/en/arrangementer/?kind=webinar"


def test_event_feed_drops_a_filter_it_does_not_understand(client):
    make_event(title="Et webinar", kind="webinar")

    parsed = parse(client, "/en/arrangementer/feed/?kind=nonsense")

    assert [entry.title for entry in parsed.entries] == ["Et webinar"]
    assert parsed.feed.link == f"{settings.SITE_URL}/en/arrangementer/"


def test_a_filtered_event_list_links_the_feed_of_the_same_filters(client):
    response = client.get("/en/arrangementer/?kind=webinar")

    head = response.text.split("</head>", 1)[0]
    assert 'href="/en/arrangementer/feed/?kind=webinar"' in head
