"""Only published initiatives leave the bank, whatever door a machine uses: the JSON API,
the CSV and XLSX exports, the Atom feeds, the sitemap, the pages' JSON-LD and the DCAT
description. One catalogue holds an initiative in every other state (and a proposed
organisation, a draft's tag, an unpublished presentation); every output is read whole
and none of their words may appear."""

import io
import json

import pytest
from django.test import Client
from openpyxl import load_workbook

from initiatives.models import Goal, Initiative, Organisation
from tests.factories import (
    make_adoption,
    make_complete_initiative,
    make_event,
    make_initiative,
    make_network,
    make_organisation,
    make_presentation,
)

pytestmark = pytest.mark.django_db

Status = Initiative.Status
HIDDEN_STATES = [Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.ARCHIVED]


@pytest.fixture
def catalogue():
    """A published initiative and, beside it, one in each hidden state: each hidden one
    shares the public one's goal, organisation and event, so a leak cannot hide behind an
    empty facet."""
    organisation = make_organisation(name="Synlig kommune", slug="synlig-kommune")
    goal = Goal.objects.get(number=12)
    public = make_complete_initiative(
        title="Offentlig ombruksordning",
        slug="offentlig-ombruksordning",
        lead_organisation=organisation,
        status=Status.PUBLISHED,
    )
    public.goals.add(goal)
    public.tags.add("ombruk")
    event = make_event(title="Webinar om ombruk")
    make_presentation(event=event, initiative=public)
    markers = []
    for state in HIDDEN_STATES:
        marker = f"hemmelig{state}"
        hidden = make_complete_initiative(
            title=f"Skjult {marker}",
            slug=marker,
            summary=f"Sammendrag {marker}",
            lead_organisation=organisation,
            status=state,
        )
        hidden.goals.add(goal)
        hidden.tags.add(f"tagg{marker}")
        make_presentation(event=event, initiative=hidden)
        make_adoption(initiative=hidden)
        markers.append(marker)
    proposed = make_organisation(
        name="Foreslattorganisasjon", slug="foreslattorganisasjon", status="proposed"
    )
    make_initiative(
        title="Skjult hemmeligfraforeslatt", slug="hemmeligfraforeslatt", lead_organisation=proposed
    )
    make_network()
    return {
        "public": public,
        "organisation": organisation,
        "event": event,
        "markers": [*markers, "hemmeligfraforeslatt", "foreslattorganisasjon"],
    }


# Outputs that list no initiative (or, for a search for the hidden ones' word, none found).
WITHOUT_INITIATIVES = {
    "/api/v1/initiatives/?q=skjult",
    "/tiltak/eksport.csv?q=skjult",
    "/tiltak/feed/?q=skjult",
    "/api/v1/organisations/",
    "/api/v1/networks/",
    "/api/v1/working-groups/",
    "/api/v1/reference/goals/",
    "/api/v1/reference/purposes/",
    "/sitemap.xml",
    "/sitemap-organisations.xml",
    "/data/katalog.ttl",
    "/data/katalog.jsonld",
}


def text_of(response) -> str:
    """The whole body as text; an XLSX workbook as the text of all its cells."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    ):
        workbook = load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(
            str(cell)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
            if cell is not None
        )
    return body.decode("utf-8-sig")


def outputs(catalogue) -> list[str]:
    public, organisation, event = (
        catalogue["public"],
        catalogue["organisation"],
        catalogue["event"],
    )
    api = [
        "/api/v1/initiatives/",
        "/api/v1/initiatives/?goal=12",
        "/api/v1/initiatives/?q=skjult",
        "/api/v1/initiatives/?goal=12&lang=en",
        "/api/v1/initiatives/?tag=ombruk",
        f"/api/v1/initiatives/{public.slug}/",
        "/api/v1/organisations/",
        f"/api/v1/organisations/{organisation.slug}/",
        "/api/v1/networks/",
        "/api/v1/working-groups/",
        "/api/v1/events/",
        f"/api/v1/events/{event.slug}/",
        "/api/v1/reference/goals/",
        "/api/v1/reference/purposes/",
    ]
    exports = [
        "/tiltak/eksport.csv",
        "/en/tiltak/eksport.csv?goal=12",
        "/tiltak/eksport.csv?q=skjult",
        "/tiltak/eksport.xlsx",
        "/en/tiltak/eksport.xlsx?goal=12",
        "/arrangementer/eksport.csv",
    ]
    feeds = [
        "/tiltak/feed/",
        "/tiltak/feed/?q=skjult",
        "/barekraftsmal/12/feed/",
        f"/organisasjoner/{organisation.slug}/feed/",
        "/arrangementer/feed/",
    ]
    machine_pages = [
        "/sitemap.xml",
        "/sitemap-initiatives.xml",
        "/sitemap-organisations.xml",
        "/data/katalog.ttl",
        "/data/katalog.jsonld",
    ]
    # The pages themselves carry JSON-LD and Open Graph; a leak there is a leak too.
    pages = [
        public.get_absolute_url(),
        organisation.get_absolute_url(),
        event.get_absolute_url(),
        "/barekraftsmal/12/",
    ]
    return [*api, *exports, *feeds, *machine_pages, *pages]


def test_nothing_unpublished_leaves_through_any_machine_readable_door(catalogue):
    client = Client()
    seen_public, urls = [], outputs(catalogue)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        text = text_of(response).lower()
        for marker in catalogue["markers"]:
            assert marker not in text, f"{marker} in {url}"
        if "ombruk" in text:
            seen_public.append(url)
    # Each output was a real one, not an empty page that hides nothing because it shows
    # nothing: the public initiative is in all those that list initiatives.
    assert set(urls) - set(seen_public) == WITHOUT_INITIATIVES


def test_unpublished_initiatives_are_not_found_in_the_api(catalogue):
    client = Client()
    for marker in catalogue["markers"][:5]:
        response = client.get(f"/api/v1/initiatives/{marker}/")
        assert response.status_code == 404
        assert marker not in response.text
    response = client.get("/api/v1/organisations/foreslattorganisasjon/")
    assert response.status_code == 404


def test_api_counts_only_what_is_published(catalogue):
    body = json.loads(Client().get("/api/v1/initiatives/?goal=12").content)

    assert body["count"] == 1
    assert [row["slug"] for row in body["results"]] == ["offentlig-ombruksordning"]


def test_an_organisation_that_is_only_proposed_has_no_public_trace(catalogue):
    assert Organisation.objects.get(slug="foreslattorganisasjon").status == "proposed"
    response = Client().get("/organisasjoner/foreslattorganisasjon/feed/")
    assert response.status_code == 404
