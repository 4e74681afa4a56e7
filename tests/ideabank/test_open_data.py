"""The open-data description for the national data catalogue (DCAT-AP-NO, Turtle and
JSON-LD, read back with rdflib) and the public «Åpne data» page that documents it all."""

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic

from ideabank import open_data
from initiatives.models import Initiative
from tests.factories import make_event, make_initiative
from tests.ideabank.test_settings import run_django

pytestmark = pytest.mark.django_db

SITE = "https://idebanken.example"
# Plain namespaces: rdflib's closed ones warn when pytest looks at their attributes.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
XSD_DATE = URIRef("http://www.w3.org/2001/XMLSchema#date")
EU = "http://publications.europa.eu/resource/authority/"
CATALOGUE = URIRef(f"{SITE}/data/katalog#catalogue")
INITIATIVES = URIRef(f"{SITE}/data/katalog#initiatives")
EVENTS = URIRef(f"{SITE}/data/katalog#events")
API = URIRef(f"{SITE}/data/katalog#api")
Status = Initiative.Status


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE
    settings.DATA_PUBLISHER_NAME = "Idébanken-nettverket"
    settings.DATA_PUBLISHER_ORGANISATION_NUMBER = ""
    settings.DATA_CONTACT_EMAIL = "data@idebanken.example"
    settings.DATA_LICENCE = "CC_BY_4_0"


def turtle_graph(client) -> Graph:
    response = client.get("/data/katalog.ttl")
    assert response.status_code == 200
    return Graph().parse(data=response.content.decode(), format="turtle")


def jsonld_graph(client) -> Graph:
    response = client.get("/data/katalog.jsonld")
    assert response.status_code == 200
    return Graph().parse(data=response.content.decode(), format="json-ld")


def languages(graph: Graph, subject: URIRef, predicate: URIRef) -> list[str]:
    return sorted(value.language for value in graph.objects(subject, predicate))


def distributions(graph: Graph, dataset: URIRef) -> dict[str, URIRef]:
    """A data set's distributions by the path of their access URL."""
    return {
        str(graph.value(item, DCAT.accessURL)).removeprefix(SITE): item
        for item in graph.objects(dataset, DCAT.distribution)
    }


def publish(**overrides) -> Initiative:
    return make_initiative(status=Status.PUBLISHED, **overrides)


def set_times(initiative: Initiative, **stamps) -> None:
    # update(): auto_now would stamp `updated` with the time of the save itself.
    Initiative.objects.filter(pk=initiative.pk).update(**stamps)


# --- The description -------------------------------------------------------------------


def test_turtle_and_jsonld_describe_the_same_graph(client):
    publish()
    make_event()

    turtle, jsonld = turtle_graph(client), jsonld_graph(client)

    assert len(turtle) > 100
    assert isomorphic(turtle, jsonld)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/data/katalog.ttl", "text/turtle; charset=utf-8"),
        ("/data/katalog.jsonld", "application/ld+json; charset=utf-8"),
    ],
)
def test_description_formats_have_their_media_types(client, path, content_type):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Access-Control-Allow-Origin"] == "*"


def test_jsonld_uses_short_names(client):
    response = client.get("/data/katalog.jsonld")

    document = json.loads(response.content)

    assert document["@context"]["dcat"] == str(DCAT)
    assert "dcat:Dataset" in response.content.decode()


@pytest.mark.parametrize(
    ("accept", "content_type", "location"),
    [
        ("", "text/turtle; charset=utf-8", "/data/katalog.ttl"),
        ("text/turtle", "text/turtle; charset=utf-8", "/data/katalog.ttl"),
        ("application/ld+json", "application/ld+json; charset=utf-8", "/data/katalog.jsonld"),
        (
            "application/ld+json;q=0.9, text/turtle;q=0.5",
            "application/ld+json; charset=utf-8",
            "/data/katalog.jsonld",
        ),
        ("text/html,*/*;q=0.8", "text/turtle; charset=utf-8", "/data/katalog.ttl"),
    ],
)
def test_catalogue_address_negotiates_the_format(client, accept, content_type, location):
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = client.get("/data/katalog", **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Location"] == location
    assert "Accept" in response["Vary"]


@pytest.mark.parametrize("path", ["/data/katalog", "/data/katalog.ttl", "/data/katalog.jsonld"])
def test_description_is_read_only(client, path):
    head = client.head(path)
    post = client.post(path)

    assert head.status_code == 200
    assert post.status_code == 405


def test_description_is_the_same_under_every_language(client):
    # Outside the language prefixes: /en/data/katalog.ttl does not exist.
    response = client.get("/en/data/katalog.ttl")

    assert response.status_code == 404


def test_catalogue_and_data_sets_have_title_and_description_in_bokmal_and_english(client):
    graph = turtle_graph(client)

    for subject in (CATALOGUE, INITIATIVES, EVENTS, API):
        assert languages(graph, subject, DCTERMS.title) == ["en", "nb"], subject
        assert languages(graph, subject, DCTERMS.description) == ["en", "nb"], subject
    titles = {value.language: str(value) for value in graph.objects(INITIATIVES, DCTERMS.title)}
    assert titles["en"] == "Initiatives in Idébanken"


def test_initiatives_description_counts_only_published_ones(client):
    publish()
    publish()
    make_initiative(status=Status.SUBMITTED)
    make_initiative(status=Status.DRAFT)

    graph = turtle_graph(client)

    english = next(v for v in graph.objects(INITIATIVES, DCTERMS.description) if v.language == "en")
    assert str(english).startswith("2 published sustainability initiatives from")


def test_catalogue_lists_both_data_sets_and_the_api(client):
    graph = turtle_graph(client)

    assert set(graph.objects(CATALOGUE, DCAT.dataset)) == {INITIATIVES, EVENTS}
    assert graph.value(CATALOGUE, DCAT.service) == API
    assert (INITIATIVES, RDF.type, DCAT.Dataset) in graph
    assert (API, RDF.type, DCAT.DataService) in graph
    assert graph.value(API, DCAT.endpointURL) == URIRef(f"{SITE}/api/v1/")
    assert graph.value(API, DCAT.endpointDescription) == URIRef(f"{SITE}/api/v1/openapi.json")
    assert set(graph.objects(API, DCAT.servesDataset)) == {INITIATIVES, EVENTS}


def test_initiatives_distributions_are_the_api_exports_feed_and_sitemap(client):
    graph = turtle_graph(client)

    found = distributions(graph, INITIATIVES)

    assert sorted(found) == [
        "/api/v1/initiatives/",
        "/sitemap.xml",
        "/tiltak/eksport.csv",
        "/tiltak/eksport.xlsx",
        "/tiltak/feed/",
    ]
    formats = {path: graph.value(item, DCTERMS["format"]) for path, item in found.items()}
    assert formats["/tiltak/eksport.csv"] == URIRef(f"{EU}file-type/CSV")
    assert formats["/tiltak/eksport.xlsx"] == URIRef(f"{EU}file-type/XLSX")
    assert formats["/tiltak/feed/"] == URIRef(f"{EU}file-type/ATOM")
    assert formats["/api/v1/initiatives/"] == URIRef(f"{EU}file-type/JSON")
    assert graph.value(found["/tiltak/eksport.csv"], DCAT.downloadURL) == URIRef(
        f"{SITE}/tiltak/eksport.csv"
    )
    assert graph.value(found["/api/v1/initiatives/"], DCAT.accessService) == API


def test_events_distributions(client):
    graph = turtle_graph(client)

    found = distributions(graph, EVENTS)

    assert sorted(found) == [
        "/api/v1/events/",
        "/arrangementer/eksport.csv",
        "/arrangementer/feed/",
        "/arrangementer/kalender.ics",
    ]


def test_every_distribution_has_licence_format_and_media_type_under_the_site(client):
    graph = turtle_graph(client)

    items = list(graph.subjects(RDF.type, DCAT.Distribution))

    assert len(items) == 9
    for item in items:
        assert str(graph.value(item, DCAT.accessURL)).startswith(f"{SITE}/")
        assert list(graph.objects(item, DCTERMS.license)) == [URIRef(f"{EU}licence/CC_BY_4_0")]
        assert len(list(graph.objects(item, DCTERMS["format"]))) == 1
        media_type = str(graph.value(item, DCAT.mediaType))
        assert media_type.startswith("https://www.iana.org/assignments/media-types/")
        assert languages(graph, item, DCTERMS.title) == ["en", "nb"]


def test_licence_follows_the_setting(client, settings):
    settings.DATA_LICENCE = "NLOD_2_0"

    graph = turtle_graph(client)

    licences = {
        graph.value(item, DCTERMS.license) for item in graph.subjects(RDF.type, DCAT.Distribution)
    }
    assert licences == {URIRef(f"{EU}licence/NLOD_2_0")}
    assert (URIRef(f"{EU}licence/NLOD_2_0"), SKOS.inScheme, URIRef(f"{EU}licence")) in graph


def test_publisher_without_organisation_number_is_named_without_identifier(client):
    graph = turtle_graph(client)

    publisher = graph.value(INITIATIVES, DCTERMS.publisher)
    assert publisher == URIRef(f"{SITE}/data/katalog#publisher")
    assert graph.value(publisher, FOAF.name) == Literal("Idébanken-nettverket")
    assert graph.value(publisher, DCTERMS.identifier) is None
    assert (publisher, RDF.type, FOAF.Agent) in graph


def test_publisher_with_organisation_number_is_the_registers_organisation(client, settings):
    settings.DATA_PUBLISHER_ORGANISATION_NUMBER = "974760673"

    graph = turtle_graph(client)

    publisher = URIRef(
        "https://organization-catalog.fellesdatakatalog.digdir.no/organizations/974760673"
    )
    for subject in (CATALOGUE, INITIATIVES, EVENTS, API):
        assert list(graph.objects(subject, DCTERMS.publisher)) == [publisher]
    assert graph.value(publisher, DCTERMS.identifier) == Literal("974760673")


def test_contact_point_is_a_vcard_with_the_data_address(client):
    graph = turtle_graph(client)

    contact = graph.value(INITIATIVES, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Organization) in graph
    assert graph.value(contact, VCARD.hasEmail) == URIRef("mailto:data@idebanken.example")
    assert graph.value(contact, VCARD.hasURL) == URIRef(f"{SITE}/apne-data/")
    assert graph.value(contact, VCARD.fn) == Literal("Idébanken-nettverket")


@pytest.mark.parametrize("dataset", [INITIATIVES, EVENTS])
def test_data_sets_say_access_frequency_theme_place_and_language(client, dataset):
    graph = turtle_graph(client)

    assert graph.value(dataset, DCTERMS.accessRights) == URIRef(f"{EU}access-right/PUBLIC")
    assert graph.value(dataset, DCTERMS.accrualPeriodicity) == URIRef(f"{EU}frequency/CONT")
    themes = set(graph.objects(dataset, DCAT.theme))
    assert {URIRef(f"{EU}data-theme/ENVI"), URIRef(f"{EU}data-theme/GOVE")} <= themes
    assert URIRef(f"{EU}country/NOR") in set(graph.objects(dataset, DCTERMS.spatial))
    assert set(graph.objects(dataset, DCTERMS.language)) == {
        URIRef(f"{EU}language/NOB"),
        URIRef(f"{EU}language/ENG"),
    }
    keywords = list(graph.objects(dataset, DCAT.keyword))
    assert {keyword.language for keyword in keywords} == {"nb", "en"}


def test_modified_is_the_newest_change_of_a_published_initiative(client):
    now = timezone.now()
    older, newer = publish(), publish()
    set_times(older, updated=now - timedelta(days=3), published_at=now - timedelta(days=5))
    set_times(newer, updated=now - timedelta(days=2), published_at=now - timedelta(days=1))
    # Edited later, but no one outside sees them: they must not move the date.
    for status in (Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.ARCHIVED):
        hidden = make_initiative(status=status)
        set_times(hidden, updated=now, published_at=now - timedelta(hours=1))

    graph = turtle_graph(client)

    modified = graph.value(INITIATIVES, DCTERMS.modified).toPython()
    assert modified == now - timedelta(days=1)


@pytest.mark.parametrize("move", ["archive", "withdraw"])
def test_modified_moves_when_an_initiative_leaves_the_public(client, moderator, move):
    now = timezone.now()
    staying, leaving = publish(), publish()
    set_times(staying, updated=now - timedelta(days=3), published_at=now - timedelta(days=3))
    set_times(leaving, updated=now - timedelta(days=2), published_at=now - timedelta(days=2))
    leaving.refresh_from_db()
    getattr(leaving, move)(by=moderator)
    left_at = leaving.status_changes.get(from_status=Status.PUBLISHED).created
    # Edited after it left: no one outside sees that.
    set_times(leaving, updated=now + timedelta(hours=1))

    graph = turtle_graph(client)

    assert graph.value(INITIATIVES, DCTERMS.modified).toPython() == left_at
    english = next(v for v in graph.objects(INITIATIVES, DCTERMS.description) if v.language == "en")
    assert str(english).startswith("1 published sustainability initiative from")


def test_modified_is_absent_while_nothing_is_published(client):
    make_initiative(status=Status.SUBMITTED)

    graph = turtle_graph(client)

    assert graph.value(INITIATIVES, DCTERMS.modified) is None
    assert graph.value(INITIATIVES, DCTERMS.issued) == Literal(
        open_data.ISSUED.isoformat(), datatype=XSD_DATE
    )


def test_events_modified_is_the_newest_event_change(client):
    event = make_event()

    graph = turtle_graph(client)

    event.refresh_from_db()
    assert graph.value(EVENTS, DCTERMS.modified).toPython() == event.updated


@pytest.mark.parametrize("rows", [1, 20])
def test_description_reads_three_queries_whatever_the_size(client, rows):
    for _ in range(rows):
        publish()
        make_event()

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/data/katalog.ttl")

    assert response.status_code == 200
    assert len(queries) == 3


# DCAT-AP-NO 3's mandatory properties, from its SHACL shapes (core shapes, "mandatory").
MANDATORY = {
    DCAT.Catalog: [DCTERMS.title, DCTERMS.description, DCTERMS.publisher, DCAT.contactPoint],
    DCAT.Dataset: [
        DCTERMS.title,
        DCTERMS.description,
        DCTERMS.publisher,
        DCAT.contactPoint,
        DCAT.theme,
    ],
    DCAT.Distribution: [DCAT.accessURL],
    DCAT.DataService: [DCAT.endpointURL, DCAT.contactPoint, DCTERMS.title, DCTERMS.publisher],
    FOAF.Agent: [FOAF.name],
    VCARD.Organization: [VCARD.fn],
}
# At most one value (per language for texts).
AT_MOST_ONE = {
    DCAT.Dataset: [DCTERMS.publisher, DCTERMS.accessRights, DCTERMS.accrualPeriodicity],
    DCAT.Distribution: [DCTERMS["format"], DCTERMS.license, DCAT.mediaType],
    DCAT.DataService: [DCAT.endpointURL, DCTERMS.publisher, DCTERMS.license],
    DCAT.Catalog: [DCTERMS.publisher, DCTERMS.modified, DCTERMS.issued],
}


def test_description_has_what_dcat_ap_no_requires(client):
    publish()
    graph = turtle_graph(client)

    for cls, properties in MANDATORY.items():
        subjects = list(graph.subjects(RDF.type, cls))
        assert subjects, cls
        for subject in subjects:
            for prop in properties:
                assert graph.value(subject, prop) is not None, (subject, prop)
    for cls, properties in AT_MOST_ONE.items():
        for subject in graph.subjects(RDF.type, cls):
            for prop in properties:
                assert len(list(graph.objects(subject, prop))) <= 1, (subject, prop)
    for subject, _predicate, text in graph.triples((None, DCTERMS.title, None)):
        assert text.language in {"nb", "en"}, subject
    # Every value from an EU vocabulary is a concept of its scheme (the vocabulary shapes).
    for predicate in (DCAT.theme, DCTERMS.license, DCTERMS["format"], DCTERMS.language):
        for value in graph.objects(None, predicate):
            if str(value).startswith(EU):
                scheme = URIRef(str(value).rsplit("/", 1)[0])
                assert (value, SKOS.inScheme, scheme) in graph, value
    contact = graph.value(INITIATIVES, DCAT.contactPoint)
    assert graph.value(contact, VCARD.hasEmail) or graph.value(contact, VCARD.hasURL)


def test_nothing_in_the_description_names_an_unpublished_initiative(client):
    hidden = make_initiative(status=Status.SUBMITTED, title="Hemmelig tiltak", slug="hemmelig")

    body = client.get("/data/katalog.ttl").content.decode()

    assert hidden.title not in body
    assert hidden.slug not in body


@pytest.mark.parametrize("number", ["12345678", "abcdefghi", "1234567890"])
def test_settings_refuse_a_malformed_organisation_number(number):
    result = run_django(["manage.py", "check"], DATA_PUBLISHER_ORGANISATION_NUMBER=number)

    assert result.returncode != 0
    assert "DATA_PUBLISHER_ORGANISATION_NUMBER must be nine digits" in result.stderr


# --- The «Åpne data» page --------------------------------------------------------------


@pytest.mark.parametrize(("path", "language"), [("/apne-data/", "nb"), ("/en/apne-data/", "en")])
def test_open_data_page_renders_in_both_languages(client, path, language):
    response = client.get(path)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}"' in html
    assert f'href="{path}" aria-current="page"' in html
    assert 'href="/data/katalog.ttl"' in html
    assert 'href="/data/katalog.jsonld"' in html
    assert f'href="{path.removesuffix("apne-data/")}api/dokumentasjon/"' in html
    assert 'href="/api/v1/openapi.json"' in html
    assert f'curl "{SITE}/api/v1/initiatives/?goal=12&amp;q=matsvinn&amp;lang=en"' in html
    assert f"<code>{SITE}/data/katalog.ttl</code>" in html
    assert 'href="https://creativecommons.org/licenses/by/4.0/"' in html
    assert 'href="mailto:data@idebanken.example"' in html


def test_open_data_page_english_text(client):
    html = client.get("/en/apne-data/").content.decode()

    assert "<title>Open data – Idébanken</title>" in html
    assert '<h1 class="ds-heading" data-size="lg">Open data</h1>' in html
    assert "600 requests a minute from each address" in html
    assert "At most 100 initiatives a page" in html
    assert "<code>pre_project</code>" in html
    assert "<code>relevance</code>" in html


def test_open_data_page_states_the_api_rate_limit_setting(client, settings):
    settings.API_REQUESTS_PER_MINUTE = 120

    html = client.get("/en/apne-data/").content.decode()

    assert "120 requests a minute from each address" in html


@pytest.mark.parametrize(("prefix"), ["", "/en"])
def test_open_data_page_links_the_downloads_feeds_and_calendar(client, prefix):
    html = client.get(f"{prefix}/apne-data/").content.decode()

    for path in (
        "/tiltak/eksport.csv",
        "/tiltak/eksport.xlsx",
        "/arrangementer/eksport.csv",
        "/tiltak/feed/",
        "/arrangementer/feed/",
        "/arrangementer/kalender.ics",
    ):
        assert f'href="{prefix}{path}"' in html, path
    assert 'href="/sitemap.xml"' in html
    assert 'href="/robots.txt"' in html


@pytest.mark.parametrize("path", ["/", "/om/", "/en/tiltak/"])
def test_footer_links_the_open_data_page(client, path):
    html = client.get(path).content.decode()

    target = "/en/apne-data/" if path.startswith("/en/") else "/apne-data/"
    assert f'<a class="ds-link" href="{target}">' in html


def test_open_data_page_has_headings_in_order(client):
    html = client.get("/en/apne-data/").content.decode()

    levels = [int(level) for level in re.findall(r"<h([1-6])", html)]
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))


@pytest.mark.parametrize("rows", [1, 20])
def test_open_data_page_reads_nothing_from_the_database(client, rows):
    for _ in range(rows):
        publish()

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/apne-data/")

    assert response.status_code == 200
    assert len(queries) == 0
