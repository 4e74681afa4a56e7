"""The list as CSV and XLSX: the page's initiatives, in its order, nothing unpublished,
labels in the chosen language, formulas disarmed, a fixed number of queries per chunk."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from initiatives import exports
from initiatives.models import ActorType, Initiative, Purpose
from tests.factories import (
    goal,
    make_adoption,
    make_initiative,
    make_link,
    make_organisation,
    make_participation,
)

pytestmark = pytest.mark.django_db

Status = Initiative.Status


def publish(**fields) -> Initiative:
    goals = fields.pop("goals", [])
    purposes = fields.pop("purposes", [])
    actor_types = fields.pop("actor_types", [])
    tags = fields.pop("tags", [])
    initiative = make_initiative(status=fields.pop("status", Status.PUBLISHED), **fields)
    initiative.goals.set([goal(n) for n in goals])
    initiative.purposes.set(Purpose.objects.filter(slug__in=purposes))
    initiative.actor_types.set(ActorType.objects.filter(slug__in=actor_types))
    initiative.tags.add(*tags)
    Initiative.objects.filter(pk=initiative.pk).refresh_search_vectors()
    return initiative


def csv_rows(response) -> list[dict]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def xlsx_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def page_count(client, query: str) -> int:
    html = client.get(f"/en/tiltak/?{query}").content.decode()
    match = re.search(r'id="results-heading"[^>]*>\s*(\d+) initiative', html)
    assert match, html[:200]
    return int(match.group(1))


@pytest.fixture
def bank():
    lead = make_organisation(name="Grønn kommune", organisation_number="974760673")
    publish(
        title="Matsvinn i barnehager",
        summary="Mindre matsvinn.",
        goals=[12, 4],
        purposes=["across-sectors"],
        actor_types=["kindergarten"],
        tags=["matsvinn"],
        lead_organisation=lead,
    )
    publish(title="Ombruk av møbler", goals=[12], purposes=["share-develop-scale"])
    publish(title="Bibliotek og matsvinn", goals=[4], purposes=["share-develop-scale"])
    for status in (Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.ARCHIVED):
        publish(title=f"Hemmelig matsvinn {status}", status=status, goals=[12, 4])


@pytest.mark.parametrize(
    "query",
    ["", "goal=12", "goal=4&goal=12", "q=matsvinn", "q=matsvinn&goal=4", "sort=title", "goal=9"],
)
def test_csv_export_has_the_pages_count_and_order(client, bank, query):
    rows = csv_rows(client.get(f"/en/tiltak/eksport.csv?{query}"))

    assert len(rows) == page_count(client, query)
    page = client.get(f"/en/tiltak/?{query}").context["initiatives"]
    assert [row["slug"] for row in rows] == [initiative.slug for initiative in page][: len(rows)]
    assert not any("Hemmelig" in row["title"] for row in rows)


def test_xlsx_export_has_the_same_rows_as_the_csv(client, bank):
    from_csv = csv_rows(client.get("/tiltak/eksport.csv?q=matsvinn"))
    response = client.get("/tiltak/eksport.xlsx?q=matsvinn")

    from_xlsx = xlsx_rows(response)
    assert response["Content-Type"] == exports.XLSX_TYPE
    assert response["Content-Disposition"].startswith('attachment; filename="idebanken-tiltak-')
    assert [row["slug"] for row in from_xlsx] == [row["slug"] for row in from_csv]
    assert [row["goals"] for row in from_xlsx] == [row["goals"] for row in from_csv]


def test_csv_export_names_a_dated_attachment_in_the_chosen_language(client, bank):
    nb = client.get("/tiltak/eksport.csv")
    en = client.get("/en/tiltak/eksport.csv")

    assert re.fullmatch(
        r'attachment; filename="idebanken-tiltak-\d{4}-\d\d-\d\d\.csv"', nb["Content-Disposition"]
    )
    assert "-initiatives-" in en["Content-Disposition"]
    assert nb["Content-Type"] == "text/csv; charset=utf-8"


def test_labels_follow_the_language_and_codes_do_not(client, bank):
    nb = {row["title"]: row for row in csv_rows(client.get("/tiltak/eksport.csv"))}
    en = {row["title"]: row for row in csv_rows(client.get("/en/tiltak/eksport.csv"))}

    row_nb, row_en = nb["Matsvinn i barnehager"], en["Matsvinn i barnehager"]
    assert row_en["goals"] == row_nb["goals"] == "4;12"
    assert row_en["phase"] == row_nb["phase"] == "idea"
    assert row_en["phase_label"] == "Idea"
    assert row_en["goals_label"].startswith("4. Quality education")
    assert row_nb["goals_label"] != row_en["goals_label"]
    assert row_en["lead_organisation"] == "Grønn kommune"
    assert row_en["lead_organisation_number"] == "974760673"
    assert row_en["tags"] == "matsvinn"
    assert list(row_en) == exports.HEADER


def test_formula_cells_are_disarmed(client):
    publish(title='=HYPERLINK("http://evil.example")', summary="+1", goals=[1])
    initiative = Initiative.objects.get()
    make_link(initiative=initiative, title="@SUM(A1)", url="https://example.org/")

    csv_row = csv_rows(client.get("/tiltak/eksport.csv"))[0]
    xlsx_row = xlsx_rows(client.get("/tiltak/eksport.xlsx"))[0]

    for row in (csv_row, xlsx_row):
        assert row["title"] == '\'=HYPERLINK("http://evil.example")'
        assert row["summary"] == "'+1"
        assert row["links"] == "'@SUM(A1) <https://example.org/>"


def test_partners_links_and_adoptions_are_in_the_row(client):
    initiative = publish(title="Delt tiltak", goals=[12])
    partner = make_organisation(name="Miljøfyrtårn", organisation_number="987654325")
    make_participation(initiative=initiative, organisation=partner, role="funder")
    make_link(initiative=initiative, title="Rapport", url="https://example.org/rapport")
    make_adoption(initiative=initiative)

    row = csv_rows(client.get("/tiltak/eksport.csv"))[0]

    assert row["partners"] == "funder: Miljøfyrtårn [987654325]"
    assert row["links"] == "Rapport <https://example.org/rapport>"
    assert row["adoptions"] == "1"
    assert row["url"].endswith(f"/tiltak/{initiative.slug}/")


def test_an_empty_list_exports_only_the_header(client, bank):
    rows = csv_rows(client.get("/tiltak/eksport.csv?goal=17"))

    assert rows == []


def test_bad_parameters_are_ignored_as_on_the_page(client, bank):
    response = client.get("/tiltak/eksport.csv?goal=99&sort=nonsense&page=x")

    assert response.status_code == 200
    assert len(csv_rows(response)) == 3


def test_links_on_the_list_carry_its_state_and_count(client, bank):
    html = client.get("/en/tiltak/?goal=12&sort=title").content.decode()

    assert 'href="/en/tiltak/eksport.csv?goal=12&amp;sort=title"' in html
    assert 'href="/en/tiltak/eksport.xlsx?goal=12&amp;sort=title"' in html
    assert 'CSV<span class="ds-sr-only">, 2 initiatives</span>' in html


def test_a_goal_page_exports_its_goal(client, bank):
    html = client.get("/en/barekraftsmal/4/").content.decode()

    assert 'href="/en/tiltak/eksport.csv?goal=4"' in html


@pytest.mark.parametrize("url", ["/tiltak/eksport.csv", "/tiltak/eksport.xlsx"])
def test_queries_per_export_do_not_grow_with_rows(client, url, settings):
    def queries(rows: int) -> int:
        Initiative.objects.all().delete()
        for n in range(rows):
            initiative = publish(title=f"Tiltak {n}", goals=[12, 13], tags=[f"tagg{n}"])
            make_participation(initiative=initiative)
            make_link(initiative=initiative)
        client.get(url)  # the engine reads the catalogue once
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
            b"".join(response.streaming_content)
        return len(captured)

    assert queries(1) == queries(30)


def test_queries_per_chunk_are_fixed(client, monkeypatch):
    for n in range(5):
        publish(title=f"Tiltak {n}", goals=[12])
    client.get("/tiltak/eksport.csv")

    def queries(chunk: int) -> int:
        monkeypatch.setattr(exports, "CHUNK", chunk)
        with CaptureQueriesContext(connection) as captured:
            rows = csv_rows(client.get("/tiltak/eksport.csv"))
        assert len(rows) == 5
        return len(captured)

    # A chunk is its rows and eight relations: nine queries, however many rows it holds.
    assert queries(1) - queries(5) == 4 * 9


# --- The event list as CSV ------------------------------------------------------------------


def test_event_export_has_the_lists_events_and_filters(client):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import make_event

    make_event(title="Webinar om ombruk", slug="webinar-om-ombruk")
    make_event(title="Workshop", slug="workshop", kind="workshop")
    make_event(title="=cmd|' /C calc'!A0", slug="farlig")
    make_event(title="Over", slug="over", starts_at=timezone.now() - timedelta(days=3))

    everything = csv_rows(client.get("/en/arrangementer/eksport.csv"))
    workshops = csv_rows(client.get("/arrangementer/eksport.csv?kind=workshop"))
    past = csv_rows(client.get("/arrangementer/tidligere/eksport.csv"))
    page = client.get("/en/arrangementer/").content.decode()

    assert [row["slug"] for row in everything] == ["webinar-om-ombruk", "workshop", "farlig"]
    assert [row["kind_label"] for row in everything][:2] == ["Webinar", "Workshop"]
    assert everything[2]["title"] == "'=cmd|' /C calc'!A0"
    assert [row["slug"] for row in workshops] == ["workshop"]
    assert [row["slug"] for row in past] == ["over"]
    assert 'href="/en/arrangementer/eksport.csv" download>Download 3 upcoming events as CSV' in page


def test_event_export_queries_do_not_grow_with_events(client):
    from tests.factories import make_event

    def queries(events: int) -> int:
        for _n in range(events):
            event = make_event()
            event.audience.set(ActorType.objects.all()[:2])
        with CaptureQueriesContext(connection) as captured:
            b"".join(client.get("/arrangementer/eksport.csv").streaming_content)
        return len(captured)

    assert queries(1) == queries(20)


# --- Limits per client address --------------------------------------------------------------


def test_exports_per_address_are_limited(client, bank, monkeypatch):
    from ideabank.ratelimit import Limit

    monkeypatch.setattr(exports, "EXPORTS_PER_IP", Limit("export-ip", limit=2, window=3600))

    # CSV and XLSX count together.
    assert client.get("/en/tiltak/eksport.csv").status_code == 200
    assert client.get("/en/tiltak/eksport.xlsx").status_code == 200
    refused = client.get("/en/tiltak/eksport.csv?goal=12&sort=title")

    assert refused.status_code == 429
    assert not refused.streaming
    assert 0 < int(refused["Retry-After"]) <= 3600
    html = refused.content.decode()
    assert "Too many downloads" in html
    assert re.search(r"Wait \d+ minutes? and try again", html)
    assert 'href="/en/tiltak/?goal=12&amp;sort=title"' in html
    assert client.get("/en/tiltak/eksport.xlsx").status_code == 429
    assert client.get("/tiltak/eksport.csv").status_code == 429  # the Bokmål page too
    # Another address has its own count.
    assert client.get("/en/tiltak/eksport.csv", REMOTE_ADDR="192.0.2.7").status_code == 200


def test_event_exports_per_address_are_limited(client, monkeypatch):
    from ideabank.ratelimit import Limit
    from networks import views as network_views

    limit = Limit("event-export-ip", limit=1, window=3600)
    monkeypatch.setattr(network_views, "EVENT_EXPORTS_PER_IP", limit)

    assert client.get("/en/arrangementer/eksport.csv").status_code == 200
    refused = client.get("/en/arrangementer/tidligere/eksport.csv?kind=workshop")

    assert refused.status_code == 429
    assert "Retry-After" in refused
    assert 'href="/en/arrangementer/tidligere/?kind=workshop"' in refused.content.decode()


def test_the_csv_is_sent_a_chunk_at_a_time(client, monkeypatch):
    for n in range(5):
        publish(title=f"Tiltak {n}", goals=[12])
    monkeypatch.setattr(exports, "CHUNK", 2)

    pieces = list(client.get("/tiltak/eksport.csv").streaming_content)

    # The header, then one piece per chunk of rows (2 + 2 + 1), not one per row.
    assert len(pieces) == 4
    assert [piece.count(b"\n") for piece in pieces[1:]] == [2, 2, 1]


@pytest.mark.parametrize(
    "value", ["", "plain", "=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'quoted", "a=b", 7, None]
)
def test_a_guarded_row_guards_each_text_as_guarded_does(value):
    from ideabank.spreadsheets import guarded, guarded_row

    expected = guarded(value) if isinstance(value, str) else value
    assert guarded_row([value, "ok"]) == [expected, "ok"]
