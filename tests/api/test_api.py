"""The JSON API /api/v1/: the same answers as the web list, nothing unpublished, conditional
GET, limits, CORS, language, bad input and its OpenAPI schema."""

import json
import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openapi_spec_validator import validate

from initiatives import engine
from initiatives.models import (
    ActorType,
    CatalogueChange,
    FocusArea,
    Initiative,
    Municipality,
    Organisation,
    Participation,
    Purpose,
    Target,
)
from tests.factories import (
    goal,
    make_adoption,
    make_attachment,
    make_event,
    make_initiative,
    make_link,
    make_membership,
    make_network,
    make_organisation,
    make_presentation,
    make_working_group,
    make_working_group_member,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
PHASES = Initiative.Phase.values
TAGS = ["matsvinn", "barnehage", "innkjop", "sykkel"]


@pytest.fixture(autouse=True)
def _no_leftover_counts():
    cache.clear()  # rate-limit counters and the engine's text hits of other tests
    yield
    cache.clear()


def published(rng: random.Random, **overrides) -> Initiative:
    """A published initiative with a random mix of every facet the list filters on."""
    municipality = rng.choice(list(Municipality.objects.order_by("number")[:6]))
    initiative = make_initiative(
        status=Initiative.Status.PUBLISHED,
        phase=rng.choice(PHASES),
        involvement=rng.choice(["", *Initiative.Involvement.values]),
        municipality=municipality,
        **overrides,
    )
    initiative.goals.set([goal(n) for n in rng.sample([4, 11, 12, 13], rng.randint(1, 2))])
    initiative.targets.set(Target.objects.filter(code__in=rng.sample(["4.7", "12.3", "12.5"], 1)))
    initiative.purposes.set(rng.sample(list(Purpose.objects.all()[:3]), rng.randint(0, 2)))
    initiative.actor_types.set(rng.sample(list(ActorType.objects.all()[:4]), rng.randint(0, 2)))
    initiative.focus_areas.set(rng.sample(list(FocusArea.objects.all()[:3]), rng.randint(0, 1)))
    initiative.tags.set(rng.sample(TAGS, rng.randint(0, 2)))
    if rng.random() < 0.3:
        make_adoption(initiative=initiative)
    Initiative.objects.filter(pk=initiative.pk).refresh_search_vectors()
    return initiative


def unpublished_set() -> list[Initiative]:
    """One initiative in every state the public must never see, each named "Hemmelig"."""
    drafts = [
        make_initiative(status=status, title=f"Hemmelig {status}", slug=f"hemmelig-{status}")
        for status in ("draft", "submitted", "rejected", "archived")
    ]
    withdrawn = make_initiative(
        status=Initiative.Status.PUBLISHED, title="Hemmelig trukket", slug="hemmelig-trukket"
    )
    Initiative.objects.filter(pk=withdrawn.pk).update(status=Initiative.Status.DRAFT)
    engine.initiatives_changed([withdrawn.pk])
    for initiative in [*drafts, withdrawn]:
        initiative.tags.set(["hemmelig-tagg"])
        initiative.goals.set([goal(12)])
    return [*drafts, withdrawn]


def get_json(client, url: str, status: int = 200, **headers):
    response = client.get(url, **headers)
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    return response.json()


# --- The same list as the web's ----------------------------------------------------------


def random_state(rng: random.Random) -> list[tuple[str, str]]:
    params = []
    if rng.random() < 0.5:
        params += [("goal", str(n)) for n in rng.sample([4, 11, 12, 13], rng.randint(1, 2))]
    if rng.random() < 0.2:
        params.append(("target", rng.choice(["4.7", "12.3", "12.5"])))
    if rng.random() < 0.3:
        params.append(("purpose", rng.choice(list(Purpose.objects.values_list("slug", flat=True)[:3]))))  # fmt: skip
    if rng.random() < 0.3:
        params.append(("actor_type", rng.choice(list(ActorType.objects.values_list("slug", flat=True)[:4]))))  # fmt: skip
    if rng.random() < 0.2:
        params.append(("group", rng.choice(ActorType.Group.values)))
    if rng.random() < 0.2:
        params.append(("focus_area", rng.choice(list(FocusArea.objects.values_list("slug", flat=True)[:3]))))  # fmt: skip
    if rng.random() < 0.3:
        params.append(("tag", rng.choice(TAGS)))
    if rng.random() < 0.2:
        params.append(("county", Municipality.objects.order_by("number").first().county.number))
    if rng.random() < 0.2:
        params.append(("municipality", rng.choice(list(Municipality.objects.order_by("number").values_list("number", flat=True)[:6]))))  # fmt: skip
    if rng.random() < 0.3:
        params.append(("phase", rng.choice(PHASES)))
    if rng.random() < 0.2:
        params.append(("involvement", rng.choice(Initiative.Involvement.values)))
    if rng.random() < 0.2:
        params.append(("adopted", rng.choice(["yes", "no"])))
    if rng.random() < 0.3:
        params.append(("q", rng.choice(["tiltak", "sammendrag", "hemmelig", "matsvinn"])))
    if rng.random() < 0.5:
        params.append(("sort", rng.choice(["newest", "title", "adopted", "relevance"])))
    return params


def test_initiative_list_gives_the_web_lists_ids_for_generated_states(client):
    rng = random.Random(13)
    for _ in range(30):
        published(rng)
    unpublished_set()

    for _ in range(60):
        params = random_state(rng)
        query = urlencode(params)
        web = client.get(f"/tiltak/?{query}")
        web_ids = [initiative.pk for initiative in web.context["initiatives"]]
        web_count = web.context["paginator"].count
        answer = get_json(client, f"{API}/initiatives/?{query}&page_size=20")

        assert ([row["id"] for row in answer["results"]], answer["count"]) == (web_ids, web_count), query  # fmt: skip


def test_initiative_list_pages_in_a_stable_order_without_gaps(client):
    rng = random.Random(7)
    made = [published(rng) for _ in range(7)]

    seen = []
    url = f"{API}/initiatives/?sort=title&page_size=3&lang=en"
    while url:
        answer = get_json(client, url.removeprefix("http://127.0.0.1:8000"))
        seen += [row["id"] for row in answer["results"]]
        url = answer["next"]
        if url:
            assert "lang=en" in url

    expected = [i.pk for i in sorted(made, key=lambda i: (i.title, i.pk))]
    assert (seen, answer["pages"], answer["previous"] is not None) == (expected, 3, True)


# --- Nothing unpublished -------------------------------------------------------------------


def every_public_url(client) -> list[str]:
    """Every list (each page) and every item the lists name."""
    urls = [f"{API}/", f"{API}/openapi.json"]
    for name in ("goals", "purposes", "actor-types", "focus-areas", "counties", "municipalities"):
        urls.append(f"{API}/reference/{name}/")
    for path, when in [
        ("initiatives", ""),
        ("organisations", ""),
        ("networks", ""),
        ("working-groups", ""),
        ("events", "&when=upcoming"),
        ("events", "&when=past"),
    ]:
        answer = get_json(client, f"{API}/{path}/?page_size=100{when}")
        urls.append(f"{API}/{path}/?page_size=100{when}")
        urls += [f"{API}/{path}/{row['slug']}/" for row in answer["results"]]
    for text in ("hemmelig", "tiltak"):
        urls.append(f"{API}/initiatives/?q={text}")
    return urls


def test_nothing_unpublished_reaches_any_endpoint(client):
    rng = random.Random(3)
    shown = published(rng)
    hidden = unpublished_set()
    # A proposed organisation: its name may show as a partner, as on the initiative's
    # page, but never its page (slug, address) nor in a list of organisations or members.
    proposed = make_organisation(
        name="Foreslått", slug="hemmelig-foreslatt", status=Organisation.Status.PROPOSED
    )
    network = make_network()
    make_membership(network=network, organisation=shown.lead_organisation)
    make_membership(network=network, organisation=proposed)
    group = make_working_group(host_network=network)
    group.proposed_initiatives.set([shown, hidden[0]])
    make_working_group_member(working_group=group, organisation=shown.lead_organisation)
    past = make_event(starts_at=timezone.now() - timedelta(days=3), organiser_organisation=None, organiser_network=network)  # fmt: skip
    upcoming = make_event(organiser_working_group=group, organiser_organisation=None)
    for event in (past, upcoming):
        make_presentation(event=event, initiative=shown)
        for initiative in hidden:
            make_presentation(event=event, initiative=initiative, presenter="Hemmelig person")
    Participation.objects.create(initiative=shown, organisation=proposed)

    urls = every_public_url(client)
    bodies = {url: client.get(url).content.decode() for url in urls}

    leaks = {url: body for url, body in bodies.items() if "hemmelig" in body.lower()}
    assert leaks == {}
    assert f"{API}/events/{past.slug}/" in bodies
    assert f"{API}/networks/{network.slug}/" in bodies
    assert shown.slug in bodies[f"{API}/events/{past.slug}/"]
    partners = json.loads(bodies[f"{API}/initiatives/{shown.slug}/"])["partners"]
    assert partners == [{"name": "Foreslått", "slug": None, "url": None, "role": "partner", "role_label": "Partner"}]  # fmt: skip


def test_unpublished_initiatives_answer_exactly_as_unknown_ones(client):
    hidden = unpublished_set()

    unknown = client.get(f"{API}/initiatives/finnes-ikke/")
    answers = {(r.status_code, r.content) for r in (client.get(f"{API}/initiatives/{i.slug}/") for i in hidden)}  # fmt: skip

    assert answers == {(404, unknown.content)}
    assert unknown.status_code == 404


def test_proposed_organisation_is_404_and_not_listed(client):
    proposed = make_organisation(slug="venter", status=Organisation.Status.PROPOSED)
    approved = make_organisation(slug="godkjent")

    listed = [row["slug"] for row in get_json(client, f"{API}/organisations/?page_size=100")["results"]]  # fmt: skip

    assert approved.slug in listed
    assert proposed.slug not in listed
    assert client.get(f"{API}/organisations/venter/").status_code == 404


# --- The detail --------------------------------------------------------------------------


def test_initiative_detail_shows_what_the_page_shows_and_no_contact_details(client):
    initiative = published(random.Random(1), contact_name="Kari", contact_role="Rådgiver",
                           contact_email="kari@example.org", contact_phone="99999999")  # fmt: skip
    initiative.goals.set([goal(12)])
    initiative.targets.set(Target.objects.filter(code="12.3"))
    partner = make_organisation(slug="partner-a")
    Participation.objects.create(initiative=initiative, organisation=partner, role="funder")
    make_link(initiative=initiative, title="Rapporten", url="https://example.org/r")
    attachment = make_attachment(initiative=initiative)
    event = make_event(slug="webinar-om-mat")
    make_presentation(event=event, initiative=initiative)

    body = get_json(client, f"{API}/initiatives/{initiative.slug}/?lang=en")

    assert body["goals"][0]["un_id"] == "http://metadata.un.org/sdg/12"
    assert body["targets"] == [{"code": "12.3", "text": Target.objects.get(code="12.3").text_en, "un_id": "http://metadata.un.org/sdg/12.3"}]  # fmt: skip
    assert body["partners"][0]["slug"] == "partner-a"
    assert body["partners"][0]["role_label"] == "Funder"
    assert body["attachments"][0]["url"].endswith(f"/en/tiltak/{initiative.slug}/vedlegg/{attachment.pk}/")  # fmt: skip
    assert [e["slug"] for e in body["presented_at"]] == ["webinar-om-mat"]
    assert body["contact"]["name"] == "Kari"
    assert body["contact"]["contact_form"]
    raw = json.dumps(body)
    assert "kari@example.org" not in raw
    assert "99999999" not in raw
    assert body["url"] == f"http://127.0.0.1:8000/en/tiltak/{initiative.slug}/"


# --- Query counts ---------------------------------------------------------------------------


def fill(n: int) -> dict[str, str]:
    rng = random.Random(n)
    network = make_network(slug="net")
    group = make_working_group(slug="wg", host_network=network)
    event = make_event(slug="ev", organiser_organisation=None, organiser_network=network)
    for _ in range(n):
        initiative = published(rng)
        make_link(initiative=initiative)
        Participation.objects.create(initiative=initiative, organisation=make_organisation())
        make_presentation(event=event, initiative=initiative)
        make_membership(network=network, organisation=initiative.lead_organisation)
        make_working_group_member(working_group=group, organisation=initiative.lead_organisation)
        make_network(parent=network)
        make_working_group(host_network=network)
        make_event(organiser_organisation=None, organiser_network=network)
        group.proposed_initiatives.add(initiative)
    return {"initiative": initiative.slug, "organisation": initiative.lead_organisation.slug}


# Each request: the rate-limit counter is in the cache, not the database. The initiative
# list: the engine's change log, the catalogue's last change, the page's rows, the goals
# and which of them each row has.
QUERY_URLS = [
    ("initiatives/?page_size=20", 5),
    ("initiatives/?goal=12&sort=title&page_size=20", 5),
    ("initiatives/{initiative}/", 12),
    ("organisations/?page_size=20", 2),
    ("organisations/{organisation}/", 4),
    ("networks/?page_size=20", 2),
    ("networks/net/", 6),
    ("working-groups/?page_size=20", 2),
    ("working-groups/wg/", 4),
    ("events/?page_size=20", 3),
    ("events/ev/", 3),
    ("reference/goals/", 2),
]


@pytest.mark.parametrize("rows", [1, 20])
@pytest.mark.parametrize(("url", "queries"), QUERY_URLS)
def test_query_count_does_not_grow_with_rows(client, url, queries, rows):
    slugs = fill(rows)
    engine.engine()  # built once per process, not per request
    address = f"{API}/{url.format(**slugs)}"
    client.get(address)  # the first request fills the caches every process keeps

    with CaptureQueriesContext(connection) as captured:
        response = client.get(address)

    assert response.status_code == 200
    assert len(captured) == queries, [q["sql"][:120] for q in captured]


# --- HTTP: conditional GET, limit, CORS, language ----------------------------------------------


@pytest.mark.parametrize(
    "path", ["initiatives/", "initiatives/{slug}/", "reference/goals/", "events/"]
)
def test_conditional_get_answers_304(client, path):
    initiative = published(random.Random(2))
    url = f"{API}/{path.format(slug=initiative.slug)}"

    first = client.get(url)
    by_etag = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get(url, HTTP_IF_MODIFIED_SINCE=first.get("Last-Modified", ""))

    assert first.status_code == 200
    assert first["ETag"]
    assert by_etag.status_code == 304
    if path != "events/":  # no events: nothing to date the empty list by
        assert by_date.status_code == 304


def last_modified_of(response) -> datetime:
    return parsedate_to_datetime(response["Last-Modified"])


def age_everything(minutes: int) -> None:
    """Date every change so far `minutes` ago: HTTP dates count whole seconds."""
    moment = timezone.now() - timedelta(minutes=minutes)
    CatalogueChange.objects.update(created=moment)
    Initiative.objects.update(updated=moment)
    Organisation.objects.update(updated=moment)


def test_list_is_not_304_after_a_publication_or_a_withdrawal(client):
    rng = random.Random(5)
    first = published(rng)
    age_everything(5)
    before = client.get(f"{API}/initiatives/")

    second = published(rng)
    after_publishing = client.get(
        f"{API}/initiatives/",
        HTTP_IF_NONE_MATCH=before["ETag"],
        HTTP_IF_MODIFIED_SINCE=before["Last-Modified"],
    )
    by_date_only = client.get(f"{API}/initiatives/", HTTP_IF_MODIFIED_SINCE=before["Last-Modified"])
    age_everything(2)
    published_state = client.get(f"{API}/initiatives/")
    Initiative.objects.filter(pk=second.pk).update(status=Initiative.Status.DRAFT)
    engine.initiatives_changed([second.pk])  # a withdrawal, as the move logs it
    after_withdrawing = client.get(
        f"{API}/initiatives/", HTTP_IF_MODIFIED_SINCE=published_state["Last-Modified"]
    )

    assert (after_publishing.status_code, by_date_only.status_code) == (200, 200)
    assert [r["id"] for r in after_publishing.json()["results"]] == [second.pk, first.pk]
    assert after_withdrawing.status_code == 200
    assert [r["id"] for r in after_withdrawing.json()["results"]] == [first.pk]
    assert last_modified_of(after_withdrawing) > last_modified_of(published_state)


def test_conditional_get_survives_compression(client):
    first = client.get(f"{API}/reference/municipalities/", HTTP_ACCEPT_ENCODING="gzip")

    again = client.get(
        f"{API}/reference/municipalities/",
        HTTP_ACCEPT_ENCODING="gzip",
        HTTP_IF_NONE_MATCH=first["ETag"],
    )

    assert first["Content-Encoding"] == "gzip"
    assert again.status_code == 304


def test_too_many_requests_is_429_json_with_retry_after(client, settings):
    settings.API_REQUESTS_PER_MINUTE = 3

    statuses = [client.get(f"{API}/reference/counties/").status_code for _ in range(4)]
    refused = client.get(f"{API}/reference/counties/")

    assert statuses == [200, 200, 200, 429]
    assert int(refused["Retry-After"]) >= 1
    assert "detail" in refused.json()
    assert refused["Access-Control-Allow-Origin"] == "*"


def test_cors_is_open_for_get_and_preflight(client):
    response = client.get(f"{API}/reference/counties/", HTTP_ORIGIN="https://example.com")
    preflight = client.options(
        f"{API}/initiatives/",
        HTTP_ORIGIN="https://example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )

    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    assert (preflight.status_code, preflight["Access-Control-Allow-Origin"]) == (204, "*")
    assert "GET" in preflight["Access-Control-Allow-Methods"]


def test_head_answers_headers_without_a_body(client):
    response = client.head(f"{API}/reference/counties/")

    assert (response.status_code, response.content) == (200, b"")
    assert response["ETag"]


def test_language_chooses_labels_and_is_said(client):
    nb = client.get(f"{API}/reference/actor-types/")
    en = client.get(f"{API}/reference/actor-types/?lang=en")
    first = ActorType.objects.order_by("group", "position", "name_nb").first()

    assert (nb["Content-Language"], en["Content-Language"]) == ("nb", "en")
    assert (nb.json()[0]["name"], en.json()[0]["name"]) == (first.name_nb, first.name_en)


# --- Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("lang=de", 400),
        ("lang=nb&lang=en", 400),
        ("page=abc", 400),
        ("page=0", 400),
        ("page=99", 404),
        ("page_size=1000", 400),
        ("page_size=-1", 400),
        ("goal=99", 400),
        ("goal=abc", 400),
        ("purpose=finnes-ikke", 400),
        ("tag=hemmelig-tagg", 400),
        ("county=zz", 400),
        ("phase=nope", 400),
        ("sort=random", 400),
        ("q=" + "x" * 5000, 400),
        ("q=%00", 400),
    ],
)
def test_bad_input_is_a_clear_4xx(client, query, status):
    unpublished_set()

    response = client.get(f"{API}/initiatives/?{query}")

    assert response.status_code == status
    if query != "q=%00":  # the NUL middleware answers before the API, with its own page
        body = response.json()
        assert body["detail"]
        assert isinstance(body["problems"], list)


def test_bad_when_and_unknown_slugs_are_4xx_json(client):
    for url, status in [
        (f"{API}/events/?when=soon", 400),
        (f"{API}/events/nei/", 404),
        (f"{API}/networks/nei/", 404),
        (f"{API}/working-groups/nei/", 404),
        (f"{API}/organisations/nei/", 404),
    ]:
        response = client.get(url)
        assert (response.status_code, "detail" in response.json()) == (status, True), url


# --- The schema and the docs ---------------------------------------------------------------------


def test_schema_is_valid_openapi_and_declares_the_list_filters(client):
    schema = get_json(client, f"{API}/openapi.json")

    validate(schema)
    parameters = {p["name"] for p in schema["paths"]["/api/v1/initiatives/"]["get"]["parameters"]}
    assert parameters >= {"goal", "target", "purpose", "actor_type", "group", "focus_area", "tag", "county", "municipality", "phase", "involvement", "adopted", "q", "sort", "page", "page_size", "lang"}  # fmt: skip


@pytest.mark.parametrize(("query", "page"), [("", "/api/dokumentasjon/"), ("?lang=en", "/en/api/dokumentasjon/")])  # fmt: skip
def test_docs_address_leads_to_the_api_reference_page(client, query, page):
    response = client.get(f"{API}/docs{query}")

    assert (response.status_code, response["Location"]) == (302, page)


def test_index_links_the_api_reference_page(client, settings):
    index = get_json(client, f"{API}/?lang=en")

    assert index["docs"] == f"{settings.SITE_URL}/en/api/dokumentasjon/"
