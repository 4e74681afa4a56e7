"""Any query string gives a page with a clear message or a 404, never a 500."""

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from initiatives.facets import FACETS
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db

KEYS = [*FACETS, "q", "sort", "page", "x"]
NASTY = [
    "",
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "999999999999999999999999",
    "-1",
    "12.3",
    "' OR 1=1 --",
    "foo & !bar | (baz:*)",
    "<script>alert(1)</script>",
    "%",
    "%ZZ",
    "ø" * 300,
]
values = st.one_of(st.sampled_from(NASTY), st.text(max_size=300))
queries = st.lists(st.tuples(st.sampled_from(KEYS), values), max_size=8)


@pytest.fixture
def published():
    return make_initiative(status="published", title="Matsvinn i barnehagen")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pairs=queries)
def test_list_never_fails_on_generated_queries(client, published, pairs):
    query = "&".join(f"{quote(key)}={quote(value, safe='')}" for key, value in pairs)

    response = client.get(f"/tiltak/?{query}")

    has_nul = any("\x00" in key + value for key, value in pairs)
    assert response.status_code in ((400,) if has_nul else (200, 404))
    if response.status_code == 200:
        assert "<script>alert(1)</script>" not in response.text


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.text(alphabet="%=&+;abcZ0189\x00 ", max_size=60))
def test_list_never_fails_on_broken_percent_encoding(client, published, raw):
    response = client.get("/tiltak/", QUERY_STRING=raw)

    # A NUL byte, raw or as %00, is 400 on every page (ideabank.clean_input).
    assert response.status_code in (200, 400, 404)
    if response.status_code == 400:
        assert "%00" in response.wsgi_request.GET.urlencode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("goal=abc", "was not understood and was ignored"),
        ("purpose=no-such-purpose", "was not understood and was ignored"),
        ("county=99", "was not understood and was ignored"),
        (f"q={'x' * 500}", "was too long or contained invalid characters"),
    ],
)
def test_bad_filter_values_explained(client, published, query, message):
    response = client.get(f"/en/tiltak/?{query}")

    assert response.status_code == 200
    assert message in response.text
    assert response.context["paginator"].count == 1


@pytest.mark.parametrize("page", ["999999", "0", "abc", "-1", "99999999999999999999"])
def test_missing_pages_are_404(client, published, page):
    response = client.get(f"/tiltak/?page={page}")

    assert response.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/tiltak/finnes-ikke/",
        "/barekraftsmal/18/",
        "/barekraftsmal/0/",
        "/organisasjoner/x/",
        "/aktortyper/x/",
        "/formal/x/",
    ],
)
def test_unknown_objects_are_404(client, url):
    response = client.get(url)

    assert response.status_code == 404


def test_tsquery_operators_are_plain_text(client, published):
    response = client.get("/en/tiltak/", {"q": "matsvinn & | ! <-> :* ()"})

    assert response.status_code == 200


@pytest.mark.parametrize("query", ["q=%00", "status=a%00b", "x%00=1"])
def test_nul_in_a_filter_is_400(client, published, query):
    """PostgreSQL text cannot hold NUL; every page refuses it (ideabank.clean_input)."""
    response = client.get(f"/en/tiltak/?{query}")

    assert response.status_code == 400
