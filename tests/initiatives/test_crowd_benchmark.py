"""The crowd benchmark's parts that run without gunicorn: URLs, misspellings, statistics, HTTP."""

import gzip
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from initiatives.benchmark_baseline import BaselineList
from initiatives.management.commands import crowd_benchmark
from initiatives.management.commands.crowd_benchmark import (
    BASELINE_LIST,
    BASELINE_SEARCH,
    BENCHMARK_URLCONF,
    DETAIL,
    FACET,
    FLOOR,
    GOAL,
    LIST,
    MISSPELLING,
    ORGANISATION,
    SEARCH,
    SEARCH_FACET,
    SEQUENTIAL,
    HttpClient,
    Response,
    Timing,
    UrlBuilder,
    misspell,
    run_concurrently,
    timings_table,
)
from initiatives.models import ActorType, FocusArea, Initiative, Municipality, Purpose, Target
from tests.factories import goal, make_initiative, make_organisation

pytestmark = pytest.mark.django_db

# Page types whose every URL must list at least one initiative. Misspellings find something
# only with PostgreSQL's trigram fallback; the baseline's ILIKE reads titles and summaries only.
WITH_RESULTS = {LIST, FACET, SEARCH, SEARCH_FACET, ORGANISATION, GOAL, BASELINE_LIST}
CARD = b'initiative-card"'  # once per card (templates/includes/initiative_card.html)

TEXTS = [
    (
        "Matsvinn i barnehager i Asker",
        "Barnehagene måler matsvinn hver uke.",
        "Vi prøvde komposttønne.",
    ),  # fmt: skip
    (
        "Ombruk av møbler i skolene",
        "Skolene bytter møbler med hverandre.",
        "Et møbelverksted hjelper.",
    ),  # fmt: skip
    (
        "Matsvinn i kantinen",
        "Kantinen serverer restemat og måler matsvinn.",
        "Sildekasse på kjøkkenet.",
    ),  # fmt: skip
    (
        "Solceller på taket av skolene",
        "Skolene produserer egen strøm.",
        "Solcellelogg for elevene.",
    ),  # fmt: skip
    (
        "Reparasjonskafé i biblioteket",
        "Biblioteket reparerer klær og sykler.",
        "Tekstilbinge ved døra.",
    ),  # fmt: skip
    (
        "Ombruk av byggematerialer",
        "Kommunen ombruker dører og vinduer.",
        "Glassrampe til lageret.",
    ),  # fmt: skip
]


@pytest.fixture
def catalogue():
    """Six published initiatives with every kind of facet value, led by two organisations."""
    leads = [make_organisation(slug="asker-kommune"), make_organisation(slug="bjorkelia-skole")]
    municipalities = list(Municipality.objects.order_by("number")[:3])
    purposes = list(Purpose.objects.order_by("slug"))
    actor_types = list(ActorType.objects.order_by("slug"))
    focus_areas = list(FocusArea.objects.order_by("slug"))
    phases = Initiative.Phase.values
    for n, (title, summary, description) in enumerate(TEXTS):
        initiative = make_initiative(
            title=title,
            summary=summary,
            description=description,
            status=Initiative.Status.PUBLISHED,
            lead_organisation=leads[n % 2],
            municipality=municipalities[n % 3],
            phase=phases[n % len(phases)],
            involvement=Initiative.Involvement.values[n % 3],
        )
        initiative.goals.set([goal(12), goal(1 + n)])
        initiative.targets.set(Target.objects.filter(goal__number=12).order_by("code")[n : n + 1])
        initiative.purposes.set(purposes[n % 3 : n % 3 + 2])
        initiative.actor_types.set(actor_types[n % 4 : n % 4 + 2])
        initiative.focus_areas.set(focus_areas[n % 2 : n % 2 + 2])
        initiative.tags.set(["matsvinn", "ombruk"][n % 2 :])
    Initiative.objects.all().refresh_search_vectors()


@pytest.fixture
def benchmark_urls(settings):
    settings.ROOT_URLCONF = BENCHMARK_URLCONF


def test_url_builder_gives_urls_that_answer_with_results(client, catalogue, benchmark_urls):
    builder = UrlBuilder(random.Random(3))

    jobs = [job for kind in SEQUENTIAL for job in builder.batch(kind, 4)]

    for kind, url in jobs:
        response = client.get(url)
        assert response.status_code == 200, (kind, url)
        if kind in WITH_RESULTS:
            assert CARD in response.content, (kind, url)
    kinds = {kind for kind, _ in jobs}
    assert kinds == set(SEQUENTIAL)
    assert all(not url.startswith("/en/") for _, url in jobs)


def test_url_builder_makes_almost_every_url_once(catalogue, benchmark_urls):
    builder = UrlBuilder(random.Random(5))

    for kind in (FACET, SEARCH, SEARCH_FACET, MISSPELLING, GOAL, DETAIL):
        builder.batch(kind, 5)

    made, unique = builder.unique_share()
    assert made == 30
    assert unique >= 27


def test_url_builder_pages_stay_within_the_results(client, catalogue, benchmark_urls, monkeypatch):
    # Two a page, so six initiatives make pages to choose from.
    monkeypatch.setattr("initiatives.views.PER_PAGE", 2)
    monkeypatch.setattr(BaselineList, "paginate_by", 2)
    builder = UrlBuilder(random.Random(11))

    jobs = [job for kind in (LIST, FACET, SEARCH, ORGANISATION, BASELINE_LIST) for job in builder.batch(kind, 12)]  # fmt: skip

    pages = [int(parse_qs(urlsplit(url).query).get("page", ["1"])[0]) for _, url in jobs]
    assert max(pages) > 1
    for kind, url in jobs:
        assert client.get(url).status_code == 200, (kind, url)


def test_url_builder_scales_sample_counts_with_a_margin(catalogue, benchmark_urls):
    builder = UrlBuilder(random.Random(4))
    assert builder.at_least(6) == 6  # the sample is the whole catalogue: exact

    builder.total = 600  # as if the six were a sample of 600

    assert builder.at_least(1) == 0  # only the initiative the URL came from
    assert builder.at_least(6) == 0  # five others: too few to scale up
    assert builder.at_least(30) == 1284  # (29 - 3 × √29) × 100
    assert builder.search_pages("matsvinn") == 1


def test_url_builder_words_come_from_the_texts(catalogue, benchmark_urls):
    builder = UrlBuilder(random.Random(1))

    texts = " ".join(" ".join(text) for text in TEXTS).lower()
    assert {"matsvinn", "skolene"} <= set(builder.common_words)
    assert builder.rare_words != []
    assert all(word in texts for word in builder.rare_words)


def test_baseline_search_uses_the_same_words(catalogue, benchmark_urls):
    builder = UrlBuilder(random.Random(2))

    ours = reverse("initiatives:list") + "?q=m%C3%B8bler&page=2"

    assert builder.baseline_search(ours) == reverse("benchmark-baseline") + "?q=m%C3%B8bler"


def test_baseline_lists_and_searches_titles_and_summaries(client, catalogue, benchmark_urls):
    url = reverse("benchmark-baseline")

    found = client.get(url, {"q": "KANTINEN"})
    everything = client.get(url)

    assert found.status_code == everything.status_code == 200
    assert found.content.count(CARD) == 1
    assert everything.content.count(CARD) == 6
    assert client.get(url, {"page": "2"}).status_code == 404
    assert client.get(reverse("benchmark-floor")).status_code == 200


@pytest.mark.parametrize("seed", range(40))
def test_misspell_drops_or_swaps_one_letter_after_the_first(seed):
    word = "barnehage"

    slipped = misspell(word, random.Random(seed))

    dropped = any(word[:at] + word[at + 1 :] == slipped for at in range(1, len(word)))
    swapped = any(
        word[:at] + word[at + 1] + word[at] + word[at + 2 :] == slipped
        for at in range(1, len(word) - 1)
    )
    assert slipped != word
    assert slipped[0] == "b"
    assert dropped or swapped


@pytest.mark.parametrize("word", ["aaaa", "ab", "søk"])
def test_misspell_always_changes_the_word(word):
    assert misspell(word, random.Random(0)) != word


def test_timings_table_reports_percentiles_ratios_and_targets():
    floor = Timing(FLOOR, [4.0] * 100)
    timings = [
        floor,
        Timing(LIST, [float(n) for n in range(1, 101)], target_ms=100.0, against_floor=True),
        Timing(DETAIL, [50.0] * 20, target_ms=40.0, against_floor=True),
        Timing(SEARCH, [10.0] * 19, errors=1, target_ms=100.0, against_floor=True),
        Timing(GOAL, [120.0] * 10, against_floor=True),  # 30× the floor
        Timing(BASELINE_SEARCH, [500.0] * 10),  # not judged
    ]

    lines, failed = timings_table(timings, floor)

    row = {timing.kind: line for timing, line in zip(timings, lines[2:], strict=True)}
    assert row[LIST].split() == ["list", "100", "0", "50.0", "95.0", "99.0", "12.5", "23.8", "≤", "100", "PASS"]  # fmt: skip
    assert row[DETAIL].endswith("FAIL (p95)")
    assert row[SEARCH].endswith("FAIL (errors)")
    assert row[GOAL].endswith("FAIL (> 25× floor)")
    assert row[BASELINE_SEARCH].split()[-2:] == ["125.0", "125.0"]  # ratios, no result
    assert failed == [DETAIL, SEARCH, GOAL]


def test_timing_counts_what_did_not_answer_200_as_errors():
    responses = [
        Response(LIST, "/a", 200, 10.0),
        Response(LIST, "/b", 500, 5.0),
        Response(LIST, "/c", 0, 60000.0, error="timeout"),
        Response(DETAIL, "/d", 200, 3.0),
    ]

    timing = Timing.of(LIST, responses)

    assert timing.samples == [10.0]
    assert timing.errors == 2
    assert timing.target_ms == crowd_benchmark.PAGE_TARGET_MS


class Page(BaseHTTPRequestHandler):
    """A tiny server: a gzipped page with a cookie, 404 elsewhere, keep-alive."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (the standard library's name)
        if self.path.startswith("/page"):
            body = gzip.compress(f"<p>{self.headers.get('Cookie', '')}</p>".encode())
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Set-Cookie", "csrftoken=abc; Path=/; Secure")
        else:
            body = b"missing"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_port():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_http_client_keeps_cookies_and_reads_gzip(http_port):
    client = HttpClient(http_port, keep_body=True)

    first = client.fetch("page", "/page/1")
    second = client.fetch("page", "/page/2")
    missing = client.fetch("page", "/nothing")
    client.close()

    assert first.status == second.status == 200
    assert client.cookies == {"csrftoken": "abc"}
    assert second.text() == "<p>csrftoken=abc</p>"
    assert missing.status == 404
    assert not missing.ok
    assert first.ms > 0


def test_run_concurrently_answers_every_job_once(http_port):
    jobs = [(LIST, f"/page/{n}") for n in range(30)] + [(LIST, "/nothing")]

    run = run_concurrently(http_port, jobs, connections=4)

    assert sorted(r.url for r in run.responses) == sorted(url for _, url in jobs)
    assert [r.url for r in run.errors] == ["/nothing"]
    assert run.rate > 0


def test_http_client_reports_a_server_that_is_not_there():
    port = crowd_benchmark.free_port()

    response = HttpClient(port).fetch(LIST, "/")

    assert response.status == 0
    assert response.error
