"""Found by search engines and readable by machines: sitemap.xml, robots.txt, canonical
and hreflang links, schema.org JSON-LD (read back as RDF by rdflib) and Open Graph."""

import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from rdflib import Graph, Literal, URIRef

from initiatives.models import Goal, Initiative, Organisation, Target
from tests.factories import (
    confirmed,
    make_event,
    make_initiative,
    make_network,
    make_org_member,
    make_organisation,
    make_working_group,
)

pytestmark = pytest.mark.django_db

SITE = "https://idebanken.example"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"
SCHEMA = "https://schema.org/"
Status = Initiative.Status


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE


@pytest.fixture(autouse=True)
def _bokmal_paths():
    # get_absolute_url() and reverse() in the tests give the Bokmål paths (no prefix).
    with translation.override("nb"):
        yield


def sitemap_urls(client) -> dict[str, dict[str, str]]:
    """Every <loc> of every section, with its {hreflang: href} alternates."""
    index = client.get("/sitemap.xml")
    assert index.status_code == 200
    urls = {}
    for loc in ET.fromstring(index.content).iter(f"{SM}loc"):
        path = re.sub(r"^https?://[^/]+", "", loc.text)
        section = client.get(path)
        assert section.status_code == 200
        for url in ET.fromstring(section.content).iter(f"{SM}url"):
            links = {link.get("hreflang"): link.get("href") for link in url.iter(f"{XHTML}link")}
            urls[url.find(f"{SM}loc").text] = links
    return urls


def test_sitemap_lists_the_public_pages_in_both_languages_and_nothing_else(client):
    published = make_initiative(status=Status.PUBLISHED, slug="publisert")
    hidden = [
        make_initiative(slug="utkast"),
        make_initiative(status=Status.SUBMITTED, slug="innsendt"),
        make_initiative(status=Status.ARCHIVED, slug="arkivert"),
        make_initiative(status=Status.REJECTED, slug="avvist"),
    ]
    approved = make_organisation(slug="godkjent")
    proposed = make_organisation(slug="foreslatt", status=Organisation.Status.PROPOSED)
    network = make_network(slug="nettverket")
    group = make_working_group(slug="gruppa")
    event = make_event(slug="seminaret")

    urls = sitemap_urls(client)

    for path in [
        published.get_absolute_url(),
        approved.get_absolute_url(),
        network.get_absolute_url(),
        group.get_absolute_url(),
        event.get_absolute_url(),
        reverse("initiatives:goal", args=[12]),
    ]:
        nb, en = f"{SITE}{path}", f"{SITE}/en{path}"
        assert nb in urls
        assert en in urls
        assert urls[nb] == {"nb": nb, "en": en, "x-default": nb}
    text = " ".join(urls)
    for initiative in hidden:
        assert f"/{initiative.slug}/" not in text
    assert f"/{proposed.slug}/" not in text
    assert "/min-side/" not in text
    assert "/konto/" not in text


def test_sitemap_lastmod_is_the_initiatives_last_change(client):
    published = make_initiative(status=Status.PUBLISHED)
    section = client.get(reverse("sitemap_section", args=["initiatives"]))
    tree = ET.fromstring(section.content)
    url = next(u for u in tree.iter(f"{SM}url") if published.slug in u.find(f"{SM}loc").text)
    assert url.find(f"{SM}lastmod").text == published.updated.date().isoformat()


def test_robots_txt_points_to_the_sitemap_and_keeps_out_of_member_pages(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "User-agent: *" in lines
    assert "Allow: /" in lines
    for path in ["/admin/", "/konto/", "/min-side/", "/en/konto/"]:
        assert f"Disallow: {path}" in lines
    assert f"Sitemap: {SITE}/sitemap.xml" in lines


def head_links(text: str) -> dict:
    head = text.split("</head>")[0]
    canonical = re.findall(r'<link rel="canonical" href="([^"]*)">', head)
    alternates = dict(re.findall(r'<link rel="alternate" hreflang="([^"]*)" href="([^"]*)">', head))
    return {"canonical": canonical, "alternates": alternates}


@pytest.mark.parametrize("path", ["/", "/om/", "/tiltak/", "/arrangementer/"])
def test_every_page_has_a_canonical_url_and_its_language_versions(client, path):
    links = head_links(client.get(path).text)
    assert links["canonical"] == [f"{SITE}{path}"]
    assert links["alternates"] == {
        "nb": f"{SITE}{path}",
        "en": f"{SITE}/en{path}",
        "x-default": f"{SITE}{path}",
    }
    english = head_links(client.get(f"/en{path}").text)
    assert english["canonical"] == [f"{SITE}/en{path}"]
    assert english["alternates"] == links["alternates"]


def test_canonical_url_keeps_the_filters_and_drops_the_page(client):
    links = head_links(client.get("/tiltak/?goal=12&page=2").text)
    assert links["canonical"] == [f"{SITE}/tiltak/?goal=12"]
    assert links["alternates"]["en"] == f"{SITE}/en/tiltak/?goal=12"


def json_ld(text: str) -> list[dict]:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', text, re.S)
    return [json.loads(block) for block in blocks]


def graph_of(data: dict) -> Graph:
    # The @context is a local object ({"@vocab": "https://schema.org/"}): nothing is fetched.
    return Graph().parse(data=json.dumps(data), format="json-ld")


@pytest.fixture
def initiative():
    lead = make_organisation(name="Bergen kommune", slug="bergen")
    initiative = make_initiative(
        status=Status.PUBLISHED,
        slug="matsvinn",
        title="Mindre matsvinn",
        summary="Kantiner kaster mindre </script><script>alert(1)</script> & mer.",
        lead_organisation=lead,
        language="nb",
    )
    initiative.goals.add(Goal.objects.get(number=12))
    initiative.targets.add(Target.objects.get(code="12.3"))
    initiative.tags.add("matsvinn", "kantine")
    return initiative


def test_initiative_json_ld_is_linked_data_with_the_sdg_identifiers(client, initiative):
    response = client.get(initiative.get_absolute_url())
    [data] = json_ld(response.text)
    graph = graph_of(data)
    page = URIRef(f"{SITE}/tiltak/matsvinn/")
    about = set(graph.objects(page, URIRef(f"{SCHEMA}about")))
    assert about == {
        URIRef("http://metadata.un.org/sdg/12"),
        URIRef("http://metadata.un.org/sdg/12.3"),
    }
    assert (page, URIRef(f"{SCHEMA}name"), Literal("Mindre matsvinn")) in graph
    assert (page, URIRef(f"{SCHEMA}inLanguage"), Literal("nb")) in graph
    lead = URIRef(f"{SITE}/organisasjoner/bergen/")
    assert (page, URIRef(f"{SCHEMA}author"), lead) in graph
    assert (lead, URIRef(f"{SCHEMA}name"), Literal("Bergen kommune")) in graph
    assert data["@type"] == "CreativeWork"
    assert data["keywords"] == "kantine, matsvinn"
    assert data["datePublished"]
    assert data["dateModified"]


def test_user_text_cannot_close_the_json_ld_script(client, initiative):
    text = client.get(initiative.get_absolute_url()).text
    script = re.search(r'<script type="application/ld\+json">(.*?)</script>', text, re.S)[1]
    assert "<" not in script
    assert ">" not in script
    assert "&" not in script
    assert "\\u003C/script\\u003E" in script
    assert "<script>alert(1)" not in text.split("</head>")[0]
    [data] = json_ld(text)
    assert data["description"].startswith("Kantiner kaster mindre </script>")


def test_initiative_open_graph(client, initiative):
    initiative.image.save("bilde.png", ContentFile(b"\x89PNG\r\n\x1a\n" + bytes(32)))
    initiative.image_alt = "En kantine"
    initiative.save()
    head = client.get("/en" + initiative.get_absolute_url()).text.split("</head>")[0]
    assert '<meta property="og:title" content="Mindre matsvinn">' in head
    assert '<meta property="og:type" content="article">' in head
    assert f'<meta property="og:url" content="{SITE}/en/tiltak/matsvinn/">' in head
    assert '<meta property="og:locale" content="en_GB">' in head
    assert '<meta property="og:locale:alternate" content="nb_NO">' in head
    image = f"{SITE}{reverse('initiatives:image', args=['matsvinn'])}"
    assert f'<meta property="og:image" content="{image}">' in head
    assert "&lt;/script&gt;" in head  # og:description, escaped as any attribute


def test_default_open_graph_on_other_pages(client):
    head = client.get("/").text.split("</head>")[0]
    assert '<meta property="og:type" content="website">' in head
    assert '<meta property="og:locale" content="nb_NO">' in head
    assert f'<meta property="og:url" content="{SITE}/">' in head
    assert json_ld(head) == []


def test_a_drafts_preview_has_no_json_ld_and_is_noindex(client):
    lead = make_organisation()
    draft = make_initiative(lead_organisation=lead, summary="Hemmelig utkast")
    client.force_login(confirmed(make_org_member(organisation=lead).user))
    response = client.get(reverse("initiatives:preview", args=[draft.slug]))
    assert response.status_code == 200
    head = response.text.split("</head>")[0]
    assert "application/ld+json" not in response.text
    assert 'property="og:' not in head
    assert '<meta name="robots" content="noindex">' in head
    my_page = client.get(reverse("initiatives:my_page")).text.split("</head>")[0]
    assert '<meta name="robots" content="noindex">' in my_page


def test_organisation_and_network_json_ld(client):
    organisation = make_organisation(
        slug="oslo", name="Oslo kommune", website="https://www.oslo.kommune.no/"
    )
    [data] = json_ld(client.get(organisation.get_absolute_url()).text)
    node = URIRef(f"{SITE}/organisasjoner/oslo/")
    graph = graph_of(data)
    assert (
        node,
        URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
        URIRef(f"{SCHEMA}Organization"),
    ) in graph
    assert (node, URIRef(f"{SCHEMA}sameAs"), URIRef("https://www.oslo.kommune.no/")) in graph or (
        node,
        URIRef(f"{SCHEMA}sameAs"),
        Literal("https://www.oslo.kommune.no/"),
    ) in graph

    parent = make_network(slug="hoved", name="Hovednettverket")
    network = make_network(slug="under", name="Undernettverket", parent=parent)
    [data] = json_ld(client.get(network.get_absolute_url()).text)
    graph = graph_of(data)
    node = URIRef(f"{SITE}/nettverk/under/")
    assert (node, URIRef(f"{SCHEMA}parentOrganization"), URIRef(f"{SITE}/nettverk/hoved/")) in graph


def test_event_json_ld_online_offline_and_cancelled(client):
    organiser = make_organisation(slug="arrangor", name="Arrangøren")
    online = make_event(
        slug="nett", online_url="https://meet.example/x", organiser_organisation=organiser
    )
    [data] = json_ld(client.get(online.get_absolute_url()).text)
    assert data["@type"] == "Event"
    assert data["eventAttendanceMode"] == f"{SCHEMA}OnlineEventAttendanceMode"
    assert data["eventStatus"] == f"{SCHEMA}EventScheduled"
    assert data["location"] == {"@type": "VirtualLocation", "url": "https://meet.example/x"}
    assert data["organizer"]["url"] == f"{SITE}/organisasjoner/arrangor/"
    graph = graph_of(data)
    node = URIRef(f"{SITE}/arrangementer/nett/")
    assert (node, URIRef(f"{SCHEMA}startDate"), None) in graph

    physical = make_event(slug="fysisk", venue="Rådhuset, Bergen", cancelled_at=timezone.now())
    [data] = json_ld(client.get(physical.get_absolute_url()).text)
    assert data["eventStatus"] == f"{SCHEMA}EventCancelled"
    assert data["eventAttendanceMode"] == f"{SCHEMA}OfflineEventAttendanceMode"
    assert data["location"]["name"] == "Rådhuset, Bergen"
    graph_of(data)


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_json_ld_adds_no_queries_per_goal_target_or_tag(client, initiative):
    queries(client, initiative.get_absolute_url())  # warm: the facet engine, caches
    before = queries(client, initiative.get_absolute_url())
    initiative.goals.add(*Goal.objects.filter(number__in=[2, 13]))
    initiative.targets.add(*Target.objects.filter(code__in=["12.5", "13.1"]))
    initiative.tags.add("skole", "barnehage")
    queries(client, initiative.get_absolute_url())  # warm again after the change
    assert queries(client, initiative.get_absolute_url()) == before
