"""The API reference page (/api/dokumentasjon/, ideabank/api_docs.py): every endpoint of the
JSON API as the OpenAPI schema describes it, in our own accessible markup, in both languages."""

import re

import pytest

from ideabank import api_docs
from ideabank.api import api
from initiatives.models import Initiative
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db

SITE = "https://idebanken.example"
PAGES = [("/api/dokumentasjon/", "nb"), ("/en/api/dokumentasjon/", "en")]


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE


def page_html(client, path: str = "/en/api/dokumentasjon/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def schema_operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return [(method, path) for path, methods in schema["paths"].items() for method in methods]


def section(html: str, anchor: str) -> str:
    """The HTML of one operation's <section>."""
    start = html.index(f'<section class="api-operation flow" aria-labelledby="{anchor}">')
    return html[start : html.index("</section>", start)]


@pytest.mark.parametrize(("path", "language"), PAGES)
def test_api_reference_renders_in_both_languages(client, path, language):
    html = page_html(client, path)

    assert f'<html lang="{language}"' in html
    assert 'href="/api/v1/openapi.json"' in html
    assert f"<code>{SITE}/api/v1/</code>" in html
    assert "swagger" not in html.lower()


def test_api_reference_has_a_section_for_every_operation_of_the_schema(client):
    html = page_html(client)

    anchors = re.findall(r'<h3 class="ds-heading" data-size="sm" id="([^"]+)" tabindex="-1">', html)
    expected = [api_docs.anchor(method, path) for method, path in schema_operations()]
    assert sorted(anchors) == sorted(expected)
    assert len(expected) == 17
    # The contents list leads to each of them.
    assert all(f'href="#{anchor}"' in html for anchor in expected)


def test_api_reference_headings_go_h1_group_h2_operation_h3(client):
    html = page_html(client)

    main = html[html.index("<main") : html.index("</main>")]
    levels = [int(level) for level in re.findall(r"<h([1-6])[ >]", main)]
    assert (levels[0], levels.count(1)) == (1, 1)
    assert all(after - before <= 1 for before, after in zip(levels, levels[1:], strict=False))
    groups = re.findall(r'<h2 class="ds-heading" data-size="md" id="(group-[^"]+)"', html)
    assert groups == [
        "group-index",
        "group-reference",
        "group-initiatives-and-organisations",
        "group-networks-working-groups-and-events",
    ]


def test_parameters_show_where_type_allowed_values_and_default(client):
    html = section(page_html(client), "get-api-v1-initiatives")

    names = re.findall(
        r'<th scope="row"><code>([a-z_]+)</code></th>\s*<td data-label="In">query string</td>', html
    )
    assert names == ["goal", "target", "purpose", "actor_type", "group", "focus_area", "tag", "county", "municipality", "phase", "involvement", "adopted", "updated", "campaign", "q", "sort", "page", "page_size", "lang"]  # fmt: skip
    assert "<code>string[]</code>" in html
    phases = "".join(f"<code>{value}</code>, " for value in Initiative.Phase.values)[:-2]
    assert f"Allowed values: {phases}" in html
    assert "From <code>1</code> to <code>100</code>." in html
    assert "Default: <code>20</code>" in html
    assert "At most 200 characters." in html
    assert html.count("From <code>") == 2  # page and page_size, no other parameter
    assert "At least" not in html
    # A query string has no null, only a parameter left out.
    assert "null" not in html.split("<caption>Response fields")[0]


def test_path_parameters_are_required(client):
    html = section(page_html(client), "get-api-v1-initiatives-slug")

    row = re.search(r'<th scope="row"><code>slug</code></th>(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td[^>]*>([^<]*)</td>", row)[:2] == ["path", "Yes"]


def test_response_fields_resolve_references_one_level_deep(client):
    html = page_html(client)
    initiatives = section(html, "get-api-v1-initiatives")
    goals = section(html, "get-api-v1-reference-goals")

    assert "an object, <code>InitiativePage</code>" in initiatives
    assert '<th scope="row"><code>count</code></th>' in initiatives
    assert "How many there are in all." in initiatives
    assert '<th scope="row"><code>results[].lead_organisation</code></th>' in initiatives
    # One level deep: the organisation's own fields are not spelt out here.
    assert "results[].lead_organisation." not in initiatives
    assert "a list, <code>GoalWithTargets[]</code>" in goals
    assert '<th scope="row"><code>targets[].code</code></th>' in goals


def test_error_answers_are_listed_with_their_meaning(client):
    html = section(page_html(client), "get-api-v1-events")

    statuses = re.findall(r'<th scope="row">(\d{3})</th>\s*<td lang="en">([^<]+)</td>', html)
    assert [status for status, _meaning in statuses] == ["400", "404", "429"]
    assert dict(statuses)["429"] == "Too Many Requests"


def test_curl_examples_use_the_site_address_and_the_page_language(client):
    english = page_html(client)
    bokmal = page_html(client, "/api/dokumentasjon/")

    assert f'<code>curl "{SITE}/api/v1/initiatives/?lang=en"</code>' in english
    assert f'<code>curl "{SITE}/api/v1/initiatives/&lt;slug&gt;/?lang=en"</code>' in english
    assert f'<code>curl "{SITE}/api/v1/events/"</code>' in bokmal


def test_schema_texts_are_marked_english_on_the_bokmal_page(client):
    html = section(page_html(client, "/api/dokumentasjon/"), "get-api-v1-events")

    assert '<h3 class="ds-heading" data-size="sm" id="get-api-v1-events" tabindex="-1"><span lang="en">Events</span></h3>' in html  # fmt: skip
    assert re.search(
        r'<div class="flow site-prose" lang="en"><p class="ds-paragraph">Upcoming', html
    )


def test_schema_text_becomes_escaped_paragraphs_with_code():
    text = "First <b>line</b>\nwith `lang=nb|en` and `<x>`.\n\n  Second.\n"

    assert api_docs.paragraphs(text) == [
        "First &lt;b&gt;line&lt;/b&gt; with <code>lang=nb|en</code> and <code>&lt;x&gt;</code>.",
        "Second.",
    ]
    assert api_docs.paragraphs(None) == []


@pytest.mark.parametrize(
    ("schema", "name"),
    [
        ({"type": "integer"}, "integer"),
        ({"type": "string", "format": "date"}, "string (date)"),
        ({"type": "array", "items": {"$ref": "#/components/schemas/Term"}}, "Term[]"),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "string | null"),
        (
            {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
            "(string | null)[]",
        ),  # fmt: skip
        ({"type": "object", "additionalProperties": {"type": "string"}}, "object<string, string>"),
        ({}, "any"),
    ],
)
def test_type_names(schema, name):
    assert api_docs.type_name(schema) == name


def test_open_data_page_links_the_api_reference(client):
    html = page_html(client, "/en/apne-data/")

    assert 'href="/en/api/dokumentasjon/"' in html


@pytest.mark.parametrize("rows", [1, 20])
@pytest.mark.parametrize(("path", "language"), PAGES)
def test_api_reference_query_count_is_constant(client, django_assert_num_queries, rows, path, language):  # fmt: skip
    for number in range(rows):
        make_initiative(title=f"Tiltak {number}", status=Initiative.Status.PUBLISHED)

    with django_assert_num_queries(0):
        response = client.get(path)

    assert response.status_code == 200
