"""The bank's data sets described for the national data catalogue (data.norge.no): a
DCAT-AP-NO catalogue, built with rdflib, served in Turtle and JSON-LD (ideabank/views.py).

Two data sets: the published initiatives and the events. Each lists its distributions,
the ways a machine gets at it (the JSON API, the CSV and XLSX exports, the Atom feeds,
the calendar, the sitemap), with the licence, the publisher and the contact point from
settings (DATA_*). What DCAT-AP-NO requires (its SHACL shapes, version 3) is there: titles
and descriptions in Bokmål and English, a publisher given by a URI (the organisation
catalogue's, from the organisation number), a vCard contact point, themes from the EU
data-theme vocabulary, access rights, frequency, language, spatial coverage, licence and
file type from the EU vocabularies; each value from a controlled vocabulary is typed as
a skos:Concept in its scheme, so the description validates on its own.

Every address is the site's own (settings.SITE_URL), never the request's Host. Nothing
about a single initiative is in it, so nothing unpublished can be: the only figures read
from the database are the number of published initiatives and the newest change of
what the public sees (dct:modified), three queries in all (freshness()).
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import Count, Max
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, RDF, SKOS, XSD

from ideabank.api import MAX_PAGE_SIZE
from initiatives.models import Initiative, InitiativeStatusChange
from networks.models import Event

# The JSON API's base path (ideabank/api.py mounts it there); the page and the
# distributions name it from here.
API_BASE = "/api/v1/"
API_DOCS = f"{API_BASE}docs"
API_SCHEMA = f"{API_BASE}openapi.json"
# The largest page the API gives (page_size), as the «Åpne data» page states it.
API_PAGE_SIZE_MAX = MAX_PAGE_SIZE
# The description's own stable, language-independent addresses (ideabank/urls.py).
CATALOGUE_PATH = "/data/katalog"
# When the data sets were first published here; dct:modified says when they last changed.
ISSUED = date(2026, 12, 6)
LANGUAGES = ("nb", "en")

EU = "http://publications.europa.eu/resource/authority/"
DATA_THEME = URIRef(f"{EU}data-theme")
ACCESS_RIGHT = URIRef(f"{EU}access-right")
FREQUENCY = URIRef(f"{EU}frequency")
LANGUAGE = URIRef(f"{EU}language")
LICENCE = URIRef(f"{EU}licence")
FILE_TYPE = URIRef(f"{EU}file-type")
COUNTRY = URIRef(f"{EU}country")
IANA = "https://www.iana.org/assignments/media-types/"
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
# DCAT-AP-NO's URI for an organisation in Enhetsregisteret, until Brønnøysund sets its own.
ORGANISATION_CATALOGUE = "https://organization-catalog.fellesdatakatalog.digdir.no/organizations/"
# The Norwegian theme vocabulary (LOS), which DCAT-AP-NO asks for beside the EU themes.
LOS_NATURE_CLIMATE_ENVIRONMENT = URIRef("https://psi.norge.no/los/tema/natur-klima-og-miljo")
# Kartverket's URI for Norway, which DCAT-AP-NO asks for beside the EU country.
NORWAY_KARTVERKET = URIRef("https://data.geonorge.no/administrativeEnheter/nasjon/id/173163")

# The licences an operator is likely to choose, by their code in the EU licence vocabulary:
# a name and the human-readable page the «Åpne data» page links to.
LICENCES = {
    "CC_BY_4_0": ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "CC0": ("CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "NLOD_2_0": ("NLOD 2.0", "https://data.norge.no/nlod/no/2.0"),
}

KEYWORDS = [
    _("sustainability"),
    _("Sustainable Development Goals"),
    _("municipalities"),
    _("collaboration"),
    _("circular economy"),
    _("climate"),
]


@dataclass(frozen=True)
class Licence:
    code: str
    name: str
    url: str  # the licence's own page, for people
    uri: URIRef  # its concept in the EU licence vocabulary, for machines


def licence() -> Licence:
    code = settings.DATA_LICENCE
    name, url = LICENCES.get(code, (code, f"{LICENCE}/{code}"))
    return Licence(code, name, url, URIRef(f"{LICENCE}/{code}"))


@dataclass(frozen=True)
class Format:
    """A distribution's file type (EU vocabulary) and media type (IANA)."""

    file_type: str
    media_type: str


JSON = Format("JSON", "application/json")
CSV = Format("CSV", "text/csv")
XLSX = Format("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
ATOM = Format("ATOM", "application/atom+xml")
ICS = Format("ICS", "text/calendar")
XML = Format("XML", "application/xml")


@dataclass(frozen=True)
class Distribution:
    """One way to get a data set. `route` is a URL name (reversed in Bokmål, the paths
    without a language prefix) or, for the API, a literal path under API_BASE."""

    key: str
    route: str
    format: Format
    title: str
    description: str
    download: bool = False  # the address gives the whole file, not a page of it

    def path(self) -> str:
        if self.route.startswith("/"):
            return self.route
        with translation.override(settings.LANGUAGE_CODE):
            return reverse(self.route)


INITIATIVE_DISTRIBUTIONS = [
    Distribution(
        "initiatives-api",
        f"{API_BASE}initiatives/",
        JSON,
        _("JSON API"),
        _(
            "The published initiatives, up to 100 a page, with the same filters and text "
            "search as the list on the web. Documented in OpenAPI 3."
        ),
    ),
    Distribution(
        "initiatives-csv",
        "initiatives:export_csv",
        CSV,
        _("CSV export"),
        _(
            "Every published initiative, one row each; the list's filters and search "
            "narrow it (the same parameters as the list on the web)."
        ),
        download=True,
    ),
    Distribution(
        "initiatives-xlsx",
        "initiatives:export_xlsx",
        XLSX,
        _("Excel export (XLSX)"),
        _("The same as the CSV export, as a spreadsheet."),
        download=True,
    ),
    Distribution(
        "initiatives-atom",
        "initiatives:list_feed",
        ATOM,
        _("Atom feed"),
        _(
            "The 50 newest published initiatives; the list's filters and search narrow "
            "it. Every goal, organisation, actor type and purpose page has its own."
        ),
    ),
    Distribution(
        "initiatives-sitemap",
        "sitemap",
        XML,
        _("Sitemap"),
        _("The address of every published initiative's page, in Bokmål and English."),
    ),
]

EVENT_DISTRIBUTIONS = [
    Distribution(
        "events-api",
        f"{API_BASE}events/",
        JSON,
        _("JSON API"),
        _("Events with their programmes: upcoming ones, or past ones with ?when=past."),
    ),
    Distribution(
        "events-csv",
        "networks:event_export_csv",
        CSV,
        _("CSV export"),
        _("Upcoming events, one row each; the event list's filters narrow it."),
        download=True,
    ),
    Distribution(
        "events-atom",
        "networks:event_feed",
        ATOM,
        _("Atom feed"),
        _("Upcoming events."),
    ),
    Distribution(
        "events-ics",
        "networks:calendar",
        ICS,
        _("Calendar (iCalendar)"),
        _("Every event, to subscribe to in a calendar program."),
    ),
]


@dataclass(frozen=True)
class Freshness:
    """What the description reads from the database: counts and the newest changes."""

    initiatives: int
    initiatives_modified: datetime | None
    events: int
    events_modified: datetime | None


def freshness() -> Freshness:
    """Three queries, whatever the size of the bank. The initiatives data set changes when
    an initiative is published, when a published one is edited and when one leaves the
    public (archived or taken back: its status history says when); a draft never counts."""
    published = Initiative.objects.published().aggregate(
        count=Count("pk"), updated=Max("updated"), published=Max("published_at")
    )
    left = InitiativeStatusChange.objects.filter(from_status=Initiative.Status.PUBLISHED).aggregate(
        at=Max("created")
    )["at"]
    events = Event.objects.aggregate(count=Count("pk"), updated=Max("updated"))
    stamps = [stamp for stamp in (published["updated"], published["published"], left) if stamp]
    return Freshness(
        initiatives=published["count"],
        initiatives_modified=max(stamps) if stamps else None,
        events=events["count"],
        events_modified=events["updated"],
    )


def site(path: str) -> URIRef:
    return URIRef(f"{settings.SITE_URL}{path}")


def node(key: str) -> URIRef:
    """A thing the description itself names: the catalogue, a data set, a distribution."""
    return site(f"{CATALOGUE_PATH}#{key}")


def in_languages(text, **params) -> list[Literal]:
    """A translatable text as one literal per language (DCAT-AP-NO: one per language),
    its %(name)s placeholders filled with `params`."""
    literals = []
    for language in LANGUAGES:
        with translation.override(language):
            literals.append(Literal(str(text) % params if params else str(text), lang=language))
    return literals


def publisher() -> URIRef:
    number = settings.DATA_PUBLISHER_ORGANISATION_NUMBER
    return URIRef(f"{ORGANISATION_CATALOGUE}{number}") if number else node("publisher")


class Description:
    """The catalogue graph, built from settings and one Freshness."""

    def __init__(self, fresh: Freshness) -> None:
        self.fresh = fresh
        self.graph = Graph()
        self.licence = licence()
        for prefix, namespace in {
            "dcat": DCAT,
            "dct": DCTERMS,
            "foaf": FOAF,
            "org": ORG,
            "skos": SKOS,
            "vcard": VCARD,
            "xsd": XSD,
        }.items():
            self.graph.bind(prefix, namespace)

    def add(self, subject: URIRef, predicate: URIRef, *objects) -> None:
        for value in objects:
            self.graph.add((subject, predicate, value))

    def texts(self, subject: URIRef, predicate: URIRef, text, **params) -> None:
        self.add(subject, predicate, *in_languages(text, **params))

    def concept(self, scheme: URIRef, code: str) -> URIRef:
        """A value from an EU vocabulary, typed as its concept so validators need not
        fetch the vocabulary to see that it is one."""
        uri = URIRef(f"{scheme}/{code}")
        self.add(uri, RDF.type, SKOS.Concept)
        self.add(uri, SKOS.inScheme, scheme)
        return uri

    def build(self) -> Graph:
        catalogue = node("catalogue")
        agent, contact = self.agent(), self.contact()
        datasets = [self.initiatives(agent, contact), self.events(agent, contact)]
        api = self.api(agent, contact, datasets)
        self.add(catalogue, RDF.type, DCAT.Catalog)
        self.texts(
            catalogue,
            DCTERMS.title,
            _("Open data from %(site)s"),
            site=settings.SITE_NAME,
        )
        self.texts(
            catalogue,
            DCTERMS.description,
            _(
                "Sustainability initiatives shared by Nordic municipalities and the "
                "organisations around them, and the events where they are presented."
            ),
        )
        self.add(catalogue, DCTERMS.publisher, agent)
        self.add(catalogue, DCAT.contactPoint, contact)
        self.add(catalogue, FOAF.homepage, site("/"))
        self.add(catalogue, DCTERMS.license, self.licence_concept())
        self.add(catalogue, DCTERMS.language, *self.languages())
        self.add(catalogue, DCTERMS.issued, Literal(ISSUED, datatype=XSD.date))
        modified = [m for m in (self.fresh.initiatives_modified, self.fresh.events_modified) if m]
        if modified:
            self.add(catalogue, DCTERMS.modified, Literal(max(modified), datatype=XSD.dateTime))
        self.add(catalogue, DCAT.themeTaxonomy, DATA_THEME)
        self.add(catalogue, DCAT.dataset, *datasets)
        self.add(catalogue, DCAT.service, api)
        return self.graph

    def agent(self) -> URIRef:
        agent = publisher()
        self.add(agent, RDF.type, FOAF.Agent, ORG.Organization)
        self.add(agent, FOAF.name, Literal(settings.DATA_PUBLISHER_NAME))
        if settings.DATA_PUBLISHER_ORGANISATION_NUMBER:
            self.add(
                agent, DCTERMS.identifier, Literal(settings.DATA_PUBLISHER_ORGANISATION_NUMBER)
            )
        return agent

    def contact(self) -> URIRef:
        contact = node("contact")
        self.add(contact, RDF.type, VCARD.Organization)
        self.add(contact, VCARD.fn, Literal(settings.DATA_PUBLISHER_NAME))
        self.add(contact, VCARD.hasEmail, URIRef(f"mailto:{settings.DATA_CONTACT_EMAIL}"))
        with translation.override(settings.LANGUAGE_CODE):
            self.add(contact, VCARD.hasURL, site(reverse("open_data")))
        return contact

    def licence_concept(self) -> URIRef:
        return self.concept(LICENCE, self.licence.code)

    def languages(self) -> list[URIRef]:
        return [self.concept(LANGUAGE, "NOB"), self.concept(LANGUAGE, "ENG")]

    def dataset(self, key: str, agent: URIRef, contact: URIRef, landing_route: str) -> URIRef:
        """What the two data sets share: publisher, access, themes, place, language."""
        dataset = node(key)
        self.add(dataset, RDF.type, DCAT.Dataset)
        self.add(dataset, DCTERMS.publisher, agent)
        self.add(dataset, DCAT.contactPoint, contact)
        self.add(dataset, DCTERMS.accessRights, self.concept(ACCESS_RIGHT, "PUBLIC"))
        self.add(dataset, DCTERMS.accrualPeriodicity, self.concept(FREQUENCY, "CONT"))
        self.add(dataset, DCTERMS.language, *self.languages())
        self.add(dataset, DCTERMS.spatial, self.concept(COUNTRY, "NOR"), NORWAY_KARTVERKET)
        self.add(dataset, DCTERMS.issued, Literal(ISSUED, datatype=XSD.date))
        self.add(
            dataset,
            DCAT.theme,
            self.concept(DATA_THEME, "ENVI"),
            self.concept(DATA_THEME, "GOVE"),
            LOS_NATURE_CLIMATE_ENVIRONMENT,
        )
        # A theme must be a concept (the vocabulary shapes), LOS's as well as the EU's.
        self.add(LOS_NATURE_CLIMATE_ENVIRONMENT, RDF.type, SKOS.Concept)
        for keyword in KEYWORDS:
            self.texts(dataset, DCAT.keyword, keyword)
        with translation.override(settings.LANGUAGE_CODE):
            self.add(dataset, DCAT.landingPage, site(reverse(landing_route)))
            self.add(dataset, FOAF.page, site(reverse("open_data")))
        return dataset

    def initiatives(self, agent: URIRef, contact: URIRef) -> URIRef:
        dataset = self.dataset("initiatives", agent, contact, "initiatives:list")
        self.texts(dataset, DCTERMS.title, _("Initiatives in %(site)s"), site=settings.SITE_NAME)
        count = self.fresh.initiatives
        for language in LANGUAGES:
            with translation.override(language):
                text = ngettext(
                    "%(count)s published sustainability initiative from Nordic "
                    "municipalities, county councils and the organisations around them: "
                    "what was done, by whom, for which purposes and Sustainable Development "
                    "Goals, where, with which results, and who took it up.",
                    "%(count)s published sustainability initiatives from Nordic "
                    "municipalities, county councils and the organisations around them: "
                    "what was done, by whom, for which purposes and Sustainable Development "
                    "Goals, where, with which results, and who took it up.",
                    count,
                ) % {"count": count}
            self.add(dataset, DCTERMS.description, Literal(text, lang=language))
        if self.fresh.initiatives_modified:
            self.add(
                dataset,
                DCTERMS.modified,
                Literal(self.fresh.initiatives_modified, datatype=XSD.dateTime),
            )
        self.distributions(dataset, INITIATIVE_DISTRIBUTIONS)
        return dataset

    def events(self, agent: URIRef, contact: URIRef) -> URIRef:
        dataset = self.dataset("events", agent, contact, "networks:event_list")
        self.texts(dataset, DCTERMS.title, _("Events in %(site)s"), site=settings.SITE_NAME)
        self.texts(
            dataset,
            DCTERMS.description,
            _(
                "Webinars, meetings, workshops, conferences and open events of the networks "
                "and working groups, with their programmes: which initiatives are presented."
            ),
        )
        if self.fresh.events_modified:
            self.add(
                dataset,
                DCTERMS.modified,
                Literal(self.fresh.events_modified, datatype=XSD.dateTime),
            )
        self.distributions(dataset, EVENT_DISTRIBUTIONS)
        return dataset

    def distributions(self, dataset: URIRef, distributions: list[Distribution]) -> None:
        for item in distributions:
            distribution = node(item.key)
            url = site(item.path())
            self.add(dataset, DCAT.distribution, distribution)
            self.add(distribution, RDF.type, DCAT.Distribution)
            self.texts(distribution, DCTERMS.title, item.title)
            self.texts(distribution, DCTERMS.description, item.description)
            self.add(distribution, DCAT.accessURL, url)
            if item.download:
                self.add(distribution, DCAT.downloadURL, url)
            self.add(distribution, DCTERMS.format, self.concept(FILE_TYPE, item.format.file_type))
            self.add(distribution, DCAT.mediaType, URIRef(f"{IANA}{item.format.media_type}"))
            self.add(distribution, DCTERMS.license, self.licence_concept())
            if item.route.startswith(API_BASE):
                self.add(distribution, DCAT.accessService, node("api"))
                self.add(distribution, FOAF.page, site(API_DOCS))

    def api(self, agent: URIRef, contact: URIRef, datasets: list[URIRef]) -> URIRef:
        api = node("api")
        self.add(api, RDF.type, DCAT.DataService)
        self.texts(api, DCTERMS.title, _("%(site)s JSON API"), site=settings.SITE_NAME)
        self.texts(
            api,
            DCTERMS.description,
            _(
                "A read-only JSON API for published initiatives, organisations, networks, "
                "working groups, events and the reference lists. Open to all, no key."
            ),
        )
        self.add(api, DCAT.endpointURL, site(API_BASE))
        self.add(api, DCAT.endpointDescription, site(API_SCHEMA))
        self.add(api, FOAF.page, site(API_DOCS))
        self.add(api, DCTERMS.publisher, agent)
        self.add(api, DCAT.contactPoint, contact)
        self.add(api, DCTERMS.license, self.licence_concept())
        self.add(api, DCTERMS.accessRights, self.concept(ACCESS_RIGHT, "PUBLIC"))
        self.add(api, DCTERMS.format, self.concept(FILE_TYPE, "JSON"))
        self.add(api, DCAT.servesDataset, *datasets)
        return api


def catalogue() -> Graph:
    """The whole description, in the site's default language's paths."""
    return Description(freshness()).build()


# JSON-LD with short names: the same graph as the Turtle, readable by people too.
JSON_LD_CONTEXT = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "org": str(ORG),
    "skos": str(SKOS),
    "vcard": str(VCARD),
    "xsd": str(XSD),
}


def turtle(graph: Graph) -> str:
    return graph.serialize(format="turtle")


def json_ld(graph: Graph) -> str:
    return graph.serialize(format="json-ld", context=JSON_LD_CONTEXT, indent=2)
