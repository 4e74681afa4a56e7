"""The API's network, working-group and event lists take the web lists' filters and
answer with the same rows in the same order (one FilterSet each, networks/filters.py);
what the web list would drop with a message is a 400 listing the problems."""

import json
import random
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openapi_spec_validator import validate

from ideabank.api import api
from initiatives.models import County, Scope
from networks.models import OSLO, Event
from tests.factories import (
    goal,
    make_actor_type,
    make_event,
    make_focus_area,
    make_network,
    make_organisation,
    make_working_group,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"


def world(seed: int = 13) -> dict:
    """Networks, working groups and events with a spread of every filtered field; the
    values each filter can take, for drawing combinations."""
    rng = random.Random(seed)
    areas = [make_focus_area() for _ in range(3)]
    goals = [goal(n) for n in (3, 7, 12, 13)]
    counties = list(County.objects.order_by("number")[:3])
    networks = []
    for i in range(12):
        parent = rng.choice(networks) if networks and rng.random() < 0.3 else None
        network = make_network(
            name=f"Nettverk {rng.choice('ABCDE')}{i:02d}",
            scope=rng.choice(Scope.values),
            county=rng.choice([*counties, None]),
            parent=parent if parent is not None and parent.parent_id is None else None,
        )
        network.focus_areas.set(rng.sample(areas, rng.randint(0, 2)))
        network.goals.set(rng.sample(goals, rng.randint(0, 2)))
        networks.append(network)
    year = timezone.localdate().year
    groups = [
        make_working_group(
            name=f"Gruppe {i:02d}",
            year=rng.choice([year - 1, year, year + 1]),
            focus_area=rng.choice([*areas, None]),
            host_network=rng.choice(networks),
        )
        for i in range(10)
    ]
    audiences = [make_actor_type() for _ in range(3)]
    organisations = [make_organisation() for _ in range(2)]
    now = timezone.now()
    for i in range(16):
        starts = now + timedelta(days=rng.choice([-70, -40, -10, 5, 35, 65]) + i)
        organiser = rng.choice(
            [
                {"organiser_network": rng.choice(networks)},
                {"organiser_working_group": rng.choice(groups)},
                {"organiser_organisation": rng.choice(organisations)},
            ]
        )
        event = make_event(
            kind=rng.choice(Event.Kind.values),
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            **organiser,
        )
        event.audience.set(rng.sample(audiences, rng.randint(0, 2)))
    events = Event.objects.all()
    return {
        "networks": {
            "scope": Scope.values,
            "focus_area": [a.slug for a in areas],
            "goal": [str(g.number) for g in goals],
            "county": [c.number for c in counties],
        },
        "groups": {
            "year": [str(y) for y in (year - 1, year, year + 1)],
            "focus_area": [a.slug for a in areas],
        },
        "events": {
            "kind": Event.Kind.values,
            "organiser": [f"network:{n.slug}" for n in networks[:4]]
            + [f"group:{g.slug}" for g in groups[:3]]
            + [f"organisation:{o.slug}" for o in organisations],
            "audience": [a.slug for a in audiences],
            "month": sorted({f"{e.starts_at.astimezone(OSLO):%Y-%m}" for e in events}),
        },
    }


def combinations(values: dict[str, list[str]], seed: int, count: int = 25):
    rng = random.Random(seed)
    yield {}
    for _ in range(count):
        names = rng.sample(sorted(values), rng.randint(1, len(values)))
        yield {name: rng.choice(values[name]) for name in names}


LISTS = [
    # (the values' key, the web URL name, its context name, the API list, extra API params)
    ("networks", "networks:network_list", "networks", "networks/", {}),
    ("groups", "networks:working_group_list", "working_groups", "working-groups/", {}),
    ("events", "networks:event_list", "events", "events/", {"when": "upcoming"}),
    ("events", "networks:event_past_list", "events", "events/", {"when": "past"}),
]


@pytest.mark.parametrize(("values", "web", "context", "endpoint", "extra"), LISTS)
def test_api_lists_what_the_web_list_does(client, values, web, context, endpoint, extra):
    choices = world()[values]
    tried = found = 0
    for params in combinations(choices, seed=sum(map(ord, web))):
        query = urlencode(params)
        page = client.get(f"{reverse(web)}?{query}")
        assert page.status_code == 200
        assert not list(page.context["messages"]), (query, list(page.context["messages"]))
        shown = [row.slug for row in page.context[context]]
        assert page.context["paginator"].num_pages == 1  # all of them on one page
        answer = client.get(f"{API}/{endpoint}?{urlencode({**params, **extra})}&page_size=100")
        assert answer.status_code == 200, (query, answer.json())
        assert [row["slug"] for row in answer.json()["results"]] == shown, query
        assert answer.json()["count"] == len(shown)
        tried += 1
        found += bool(shown) and bool(params)
    assert tried == 26
    assert found >= 3  # the combinations find something, not only empty lists


BAD = [
    ("networks/?scope=galactic", None),
    ("networks/?focus_area=no-such-area", "focus_area"),
    ("networks/?goal=18", "goal"),
    ("networks/?goal=twelve", "goal"),
    ("networks/?county=99", "county"),
    (f"networks/?focus_area={'x' * 300}", "focus_area"),
    ("working-groups/?year=1999", "year"),
    ("working-groups/?year=2026.5", "year"),
    ("working-groups/?focus_area=nothing", "focus_area"),
    ("events/?kind=party", None),
    ("events/?organiser=network:no-such-network", "organiser"),
    ("events/?organiser=nonsense", "organiser"),
    ("events/?when=past&audience=nobody", "audience"),
    ("events/?month=2026-13", "month"),
    ("events/?month=september", "month"),
]


@pytest.mark.parametrize(("path", "name"), BAD)
def test_a_value_the_web_list_would_drop_is_a_400_with_the_problems(client, path, name):
    world()
    response = client.get(f"{API}/{path}&lang=en")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["detail"]
    assert body["problems"]
    if name is not None:
        # The web list's own message for the same value.
        web = {"networks": "networks:network_list", "working-groups": "networks:working_group_list"}
        address = reverse(web.get(path.split("/")[0], "networks:event_list"))
        query = path.split("?", 1)[1]
        if "when=past" in query:
            address = reverse("networks:event_past_list")
            query = query.replace("when=past&", "")
        page = client.get(f"/en{address}?{query}")
        messages = [str(m) for m in page.context["messages"]]
        assert body["problems"] == messages


@pytest.mark.parametrize(
    ("web", "context", "endpoint"),
    [
        ("networks:network_list", "networks", "networks/?scope=&focus_area=&goal=&county="),
        ("networks:working_group_list", "working_groups", "working-groups/?year=&focus_area="),
        ("networks:event_list", "events", "events/?kind=&organiser=&audience=&month="),
        (
            "networks:event_past_list",
            "events",
            "events/?when=past&kind=&organiser=&audience=&month=",
        ),
    ],
)
def test_the_web_forms_empty_choices_mean_all_as_on_the_web(client, web, context, endpoint):
    """What the web form sends with every filter left at "all"."""
    world()
    query = endpoint.split("?", 1)[1].replace("when=past&", "")
    shown = [row.slug for row in client.get(f"{reverse(web)}?{query}").context[context]]
    answer = client.get(f"{API}/{endpoint}&page_size=100")
    assert answer.status_code == 200, answer.json()
    assert [row["slug"] for row in answer.json()["results"]] == shown
    assert shown


def test_a_wellformed_month_or_past_organiser_with_nothing_is_an_empty_list(client):
    network = make_network()
    make_event(
        organiser_organisation=None,
        organiser_network=network,
        starts_at=timezone.now() - timedelta(days=3),
    )
    answer = client.get(f"{API}/events/?organiser=network:{network.slug}&month=2031-02")
    assert answer.status_code == 200
    assert answer.json()["results"] == []
    past = client.get(f"{API}/events/?when=past&organiser=network:{network.slug}")
    assert [row["slug"] for row in past.json()["results"]] == list(
        Event.objects.values_list("slug", flat=True)
    )


def fill(rows: int) -> dict:
    area = make_focus_area()
    audience = make_actor_type()
    network = make_network(scope="national")
    network.focus_areas.add(area)
    network.goals.add(goal(12))
    year = timezone.localdate().year
    for _ in range(rows - 1):
        other = make_network(scope="national")
        other.focus_areas.add(area)
        other.goals.add(goal(12))
    for _ in range(rows):
        make_working_group(year=year, focus_area=area, host_network=network)
        event = make_event(organiser_organisation=None, organiser_network=network)
        event.audience.add(audience)
    month = f"{Event.objects.first().starts_at.astimezone(OSLO):%Y-%m}"
    return {"area": area.slug, "audience": audience.slug, "network": network.slug, "month": month}


# Each filter with a model choice reads it once; the event lists read their organiser and
# month options (four queries) when filtered.
FILTERED_URLS = [
    ("networks/?scope=national&focus_area={area}&goal=12&page_size=20", 4),
    ("working-groups/?year={year}&focus_area={area}&page_size=20", 3),
    (
        "events/?kind=webinar&organiser=network:{network}&audience={audience}"
        "&month={month}&page_size=20",
        8,
    ),
]


@pytest.mark.parametrize("rows", [1, 20])
@pytest.mark.parametrize(("url", "queries"), FILTERED_URLS)
def test_filtered_query_count_does_not_grow_with_rows(client, url, queries, rows):
    values = fill(rows)
    address = f"{API}/{url.format(year=timezone.localdate().year, **values)}"
    client.get(address)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(address)

    assert response.status_code == 200, response.json()
    assert len(response.json()["results"]) == rows
    assert len(captured) == queries, [q["sql"][:120] for q in captured]


def test_the_schema_declares_the_web_lists_filters(client):
    validate(json.loads(json.dumps(api.get_openapi_schema())))  # as served: string keys
    schema = client.get(f"{API}/openapi.json").json()
    validate(schema)

    def parameters(path: str) -> set[str]:
        return {p["name"] for p in schema["paths"][f"{API}/{path}"]["get"]["parameters"]}

    paging = {"page", "page_size", "lang"}
    assert parameters("networks/") == {"scope", "focus_area", "goal", "county"} | paging
    assert parameters("working-groups/") == {"year", "focus_area"} | paging
    assert parameters("events/") == {"when", "kind", "organiser", "audience", "month"} | paging
