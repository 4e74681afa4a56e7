"""Time the public pages as a crowd uses them: over HTTP, through gunicorn, nearly every URL new.

The command starts gunicorn itself (production settings: DEBUG off, the same
DATABASE_URL and REDIS_URL as this command, persistent database connections,
gunicorn.conf.py when there is one) with the URLconf
ideabank.benchmark_urls, which adds a bare floor page and a naive baseline list
(initiatives/benchmark_baseline.py) to the site. It then:

1. builds the URLs from the database with a seeded random: facet combinations
   taken from real published initiatives (so each has results), common and
   rare words from their texts, misspellings of them, search with a facet,
   random pages, organisation, goal and detail pages, the home page, the JSON
   API's list (/api/v1/initiatives/: the same list URLs, a random page_size), and
   `/om/` as the floor; every URL is made once where the data allows;
2. requests `--requests` URLs of each page type one after another;
3. requests a mixed workload at `--concurrency` connections;
4. at the same concurrency, our search and facet pages against the naive
   baseline's search and list pages: the ratio of requests per second;
5. withdraws and resubmits one initiative in this process, publishes it over
   HTTP as a moderator through the admin's review page, and times that request
   and the first visit of ten new facet combinations right after it;
6. the statistics page while the catalogue changes: this process reports an
   adoption every few seconds while visitors ask /statistikk/ in both
   languages without pause, first with no task worker (the naive way: the first
   visitor after a change counts the figures), then with the site's worker
   (`manage.py worker`), which counts them after each change. The adoptions
   are deleted afterwards.

Times are wall-clock on the client (standard library only: http.client, one
connection per thread, kept alive when the server allows; gunicorn's sync
workers close it after each answer), so they include the HTTP round trip and
the client's own work on the same machine. Anything but 200 counts as an
error. The targets are the constants below, from the issue.
"""

import gzip
import http.client
import math
import os
import platform
import queue
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import django
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from ideabank.models import profile_for
from initiatives import engine as engine_module
from initiatives import statistics
from initiatives.management.commands.benchmark import percentile
from initiatives.models import Adoption, Initiative, Organisation

BENCHMARK_URLCONF = "ideabank.benchmark_urls"
URLCONF_VARIABLE = "IDEABANK_ROOT_URLCONF"  # read by ideabank/settings.py

# The targets (issue: "a benchmark a crowd would recognise"), for 2 workers and new URLs.
PAGE_TARGET_MS = 100.0
DETAIL_TARGET_MS = 40.0
FLOOR_RATIO_MAX = 25.0
MIXED_RATE_MIN = 60.0
BASELINE_RATIO_MIN = 3.0
PUBLISH_TARGET_MS = 150.0
FIRST_VISIT_TARGET_MS = 150.0
STATISTICS_TARGET_MS = 150.0  # issue 14: the statistics page's p95
MEMORY_TARGET_MB = 400.0
FIRST_VISITS = 10
# The statistics phase: catalogue changes, seconds between them, visitors at once.
STATISTICS_CHANGES = 15
STATISTICS_CHANGE_EVERY = 3.0
STATISTICS_VISITORS = 2
# A statistics visit slower than this counted the figures itself (cached: ~10 ms).
STATISTICS_SLOW_MS = 150.0

# Page types, in the order of the tables.
FLOOR = "floor /om/"
BARE = "bare base.html"
LIST = "list"
FACET = "facet"
SEARCH = "search"
SEARCH_FACET = "search+facet"
MISSPELLING = "misspelling"
ORGANISATION = "organisation"
GOAL = "goal"
HOME = "home"
DETAIL = "detail"
API_LIST = "api list"
STATISTICS = "statistics"
BASELINE_LIST = "baseline list"
BASELINE_SEARCH = "baseline search"
OURS = [LIST, FACET, SEARCH, SEARCH_FACET, MISSPELLING, ORGANISATION, GOAL, HOME, DETAIL, API_LIST, STATISTICS]  # fmt: skip
# The list URLs the API's list is drawn from (as JSON, with its own page size).
API_SOURCES = [LIST, FACET, SEARCH, SEARCH_FACET]
API_MAX_PAGE_SIZE = 100
SEQUENTIAL = [FLOOR, BARE, *OURS, BASELINE_LIST, BASELINE_SEARCH]
TARGETS = {kind: PAGE_TARGET_MS for kind in OURS} | {DETAIL: DETAIL_TARGET_MS, STATISTICS: STATISTICS_TARGET_MS}  # fmt: skip
# The same URL every time: left out of the count of unique URLs. The statistics page has
# one URL per language (the Bokmål one here, as every URL of the run): its first request
# after a start or a publication computes the figures, the rest read them from the cache.
FIXED = {FLOOR, BARE, HOME, STATISTICS}
# The baseline caches nothing, so a repeated URL costs it the same: not kept apart.
NOT_DEDUPLICATED = FIXED | {BASELINE_LIST, BASELINE_SEARCH}
# The concurrent mixed workload: how often each page type comes up.
MIX = {
    LIST: 10,
    FACET: 20,
    SEARCH: 15,
    SEARCH_FACET: 10,
    MISSPELLING: 5,
    ORGANISATION: 8,
    GOAL: 8,
    HOME: 4,
    DETAIL: 20,
}

# Facet parameters in the order the list's own links write them.
FACET_ORDER = ["goal", "target", "purpose", "group", "actor_type", "focus_area", "tag"]
FACET_ORDER += ["county", "municipality", "phase", "involvement"]
SINGLE_VALUED = {"group", "county", "municipality", "phase", "involvement"}
WORD = re.compile(r"\w+")
# PostgreSQL's Norwegian stop words of five letters or more: a search for one finds nothing.
STOP_WORDS = {
    "ikkje", "hadde", "eller", "blitt", "kunne", "ville", "deres", "etter", "skulle", "denne",
    "meget", "hvorfor", "dette", "disse", "hvordan", "ingen", "samme", "hvilken", "hvilke",
    "mellom", "fordi", "mange", "begge", "siden", "dykkar", "deira", "deires", "elles", "honom",
    "henne", "hennar", "hennes", "hossen", "inkje", "korleis", "korso", "kvarhelst", "kvifor",
    "medan", "mykje", "nokon", "nokor", "nokre", "sidan", "somme", "verte", "varte",
}  # fmt: skip
COMMON_SEEDS = ["barnehage", "matsvinn", "skole", "ombruk", "klima", "energi"]
COMMON_SHARE = 0.01  # a word in at least this share of the sampled titles is common
HTTP_TIMEOUT = 60.0
START_TIMEOUT = 300.0  # the master builds the facet engine first: a minute at 1 000 000
ERRORS_SHOWN = 5


def per_page() -> int:
    try:
        from initiatives.views import PER_PAGE
    except ImportError:
        return 20
    return PER_PAGE


def search_cap() -> int:
    try:
        from initiatives.search import CAP
    except ImportError:
        return 1000
    return CAP


# --- Words --------------------------------------------------------------------------------


def words_of(text: str) -> list[str]:
    """The searchable words of `text`: letters only, five or more, no stop words."""
    return [
        word
        for word in WORD.findall(text.lower())
        if len(word) >= 5 and word.isalpha() and word not in STOP_WORDS
    ]


def inflected(word: str, other: str) -> bool:
    """Whether `other` is `word` or an inflection of it (barnehage: barnehagen, barnehagene)."""
    return other.startswith(word) and len(other) - len(word) <= 3


def misspell(word: str, rng: random.Random) -> str:
    """`word` with one letter dropped or two neighbours swapped, never the first letter.

    The kind of slip a hurried visitor makes; the result always differs from `word`.
    """
    if len(word) < 3:
        return word + word[-1]
    for _ in range(20):
        at = rng.randrange(1, len(word) - 1)
        if rng.random() < 0.5:
            slipped = word[:at] + word[at + 1 :]
        else:
            slipped = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        if slipped != word:
            return slipped
    return word[:-1]  # every swap gave the same word ("aaaa"): drop the last letter


# --- The URLs -----------------------------------------------------------------------------


@dataclass
class Sampled:
    """A published initiative as the URL builder uses it."""

    slug: str
    lead_slug: str | None  # None when the lead has no public page
    text_words: list[str]  # from its title and summary
    description_words: list[str]
    choices: list[tuple[tuple[str, str], ...]]  # facet choices; a target comes with its goal
    pairs: set[tuple[str, str]] = field(init=False)  # every facet value, as a URL parameter
    words: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.pairs = {pair for choice in self.choices for pair in choice}
        self.words = set(self.text_words)


def facet_choices(initiative: Initiative) -> list[tuple[tuple[str, str], ...]]:
    """Every facet value `initiative` has, as URL parameters; each alone keeps it in the results."""
    goals = {goal.number for goal in initiative.goals.all()}
    choices = [(("goal", str(number)),) for number in sorted(goals)]
    for target in initiative.targets.all():
        if target.goal.number in goals:
            choices.append((("goal", str(target.goal.number)), ("target", target.code)))
        else:
            choices.append((("target", target.code),))
    choices += [(("purpose", purpose.slug),) for purpose in initiative.purposes.all()]
    actor_types = list(initiative.actor_types.all())
    choices += [(("actor_type", actor_type.slug),) for actor_type in actor_types]
    choices += [(("group", group),) for group in sorted({a.group for a in actor_types})]
    choices += [(("focus_area", area.slug),) for area in initiative.focus_areas.all()]
    choices += [(("tag", tag.slug),) for tag in initiative.tags.all()]
    county = initiative.county or (initiative.municipality and initiative.municipality.county)
    if county:
        choices.append((("county", county.number),))
    if initiative.municipality:
        choices.append((("municipality", initiative.municipality.number),))
    choices.append((("phase", initiative.phase),))
    if initiative.involvement:
        choices.append((("involvement", initiative.involvement),))
    return choices


def combine(choices: list[tuple[tuple[str, str], ...]]) -> list[tuple[str, str]]:
    """The URL parameters of some facet choices, in the list's order, each once."""
    pairs = sorted(
        {pair for choice in choices for pair in choice}, key=lambda p: (FACET_ORDER.index(p[0]), p)
    )
    return pairs


class UrlBuilder:
    """URLs of every page type, drawn with a seeded random from the published initiatives.

    `make(kind)` gives a URL not given before when it can (it tries a few draws).
    """

    ATTEMPTS = 30

    def __init__(self, rng: random.Random, *, sample_size: int = 2000) -> None:
        self.rng = rng
        self.per_page = per_page()
        self.cap = search_cap()
        published = Initiative.objects.published()
        self.ids = list(published.order_by("pk").values_list("pk", flat=True))
        if not self.ids:
            raise CommandError(
                "There are no published initiatives: run generate_initiatives first."
            )
        self.total = len(self.ids)
        self.seen: set[str] = set()
        self.given: Counter[str] = Counter()  # URLs made per page type
        self.sample = self.load(rng.sample(self.ids, min(sample_size, self.total)))
        self.detail_order = [s.slug for s in self.sample]
        rng.shuffle(self.detail_order)
        self.details_given = 0
        self.with_lead = [s for s in self.sample if s.lead_slug]
        self.with_goal = [s for s in self.sample if any(c[0][0] == "goal" for c in s.choices)]
        self.common_words, self.rare_words = self.vocabulary(self.sample)
        self.word_hits: dict[str, int] = {}
        self.led = dict(
            published.filter(lead_organisation__status=Organisation.Status.APPROVED)
            .values_list("lead_organisation__slug")
            .annotate(n=Count("pk"))
        )
        with translation.override(settings.LANGUAGE_CODE):
            self.list_url = reverse("initiatives:list")
            self.home_url = reverse("home")
            self.statistics_url = reverse("initiatives:statistics")
            self.floor_url = reverse("about")
        self.bare_url = reverse("benchmark-floor", urlconf=BENCHMARK_URLCONF)
        self.baseline_url = reverse("benchmark-baseline", urlconf=BENCHMARK_URLCONF)
        self.api_list_url = reverse("api:initiative_list")

    # --- what the URLs are made of --------------------------------------------------------

    def load(self, ids: list[int]) -> list[Sampled]:
        sampled = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = {
                row.pk: row
                for row in Initiative.objects.published()
                .filter(pk__in=chunk)
                .select_related("lead_organisation", "county", "municipality__county")
                .prefetch_related(
                    "goals", "targets__goal", "purposes", "actor_types", "focus_areas", "tags"
                )
            }
            for pk in chunk:
                row = rows[pk]
                lead = row.lead_organisation
                sampled.append(
                    Sampled(
                        slug=row.slug,
                        lead_slug=lead.slug if lead.is_approved else None,
                        text_words=words_of(f"{row.title} {row.summary}"),
                        description_words=words_of(row.description),
                        choices=facet_choices(row),
                    )
                )
        return sampled

    def vocabulary(self, sample: list[Sampled]) -> tuple[list[str], list[str]]:
        """Common words (in many sampled titles and summaries) and rare ones (in one text)."""
        in_titles = Counter(word for s in sample for word in set(s.text_words))
        in_texts = Counter(
            word for s in sample for word in set(s.text_words) | set(s.description_words)
        )
        least = max(2, math.ceil(COMMON_SHARE * len(sample)))
        common = sorted(word for word, n in in_titles.items() if n >= least)
        # The usual words people type, where the texts have them (as such or inflected).
        seeds = [
            w for w in COMMON_SEEDS if w not in common and any(inflected(w, t) for t in in_texts)
        ]
        rare = sorted(word for word, n in in_texts.items() if n == 1 and len(word) >= 7)
        if not rare:
            rare = sorted(word for word, n in in_texts.items() if n <= 2)
        return common + seeds, rare

    def at_least(self, hits: int) -> int:
        """How many published initiatives have something that `hits` sampled ones have, at least.

        Exact when the sample is the whole catalogue. Otherwise scaled up from the sample,
        less three standard deviations and the sampled initiative the URL was drawn from:
        a page chosen below it exists all but surely, without counting in the database
        (a count per URL took seconds at 100 000 initiatives).
        """
        if len(self.sample) == self.total:
            return hits
        others = max(0, hits - 1)
        return max(0, math.floor((others - 3 * math.sqrt(others)) * self.total / len(self.sample)))

    def facet_pages(self, params: list[tuple[str, str]]) -> int:
        wanted = set(params)
        return self.pages(self.at_least(sum(wanted <= s.pairs for s in self.sample)))

    def search_pages(self, word: str) -> int:
        """Pages a search for `word` has at least: initiatives with the word in title or summary."""
        if word not in self.word_hits:
            self.word_hits[word] = sum(word in s.words for s in self.sample)
        return self.pages(min(self.at_least(self.word_hits[word]), self.cap))

    def pages(self, matches: int) -> int:
        return max(1, math.ceil(matches / self.per_page))

    def random_page(self, pages: int) -> list[tuple[str, str]]:
        return [("page", str(self.rng.randint(2, pages)))] if pages > 1 else []

    def some_choices(self, sampled: Sampled, most: int = 3) -> list[tuple[tuple[str, str], ...]]:
        """One to `most` of an initiative's facet choices, at most one per single-valued facet."""
        wanted = self.rng.randint(1, most)
        chosen, singles = [], set()
        for choice in self.rng.sample(sampled.choices, len(sampled.choices)):
            names = {name for name, _ in choice} & SINGLE_VALUED
            if names & singles:
                continue
            chosen.append(choice)
            singles |= names
            if len(chosen) == wanted:
                break
        return chosen

    def url(self, path: str, params: list[tuple[str, str]]) -> str:
        return f"{path}?{urlencode(params)}" if params else path

    # --- one URL of each type -----------------------------------------------------------

    def make(self, kind: str) -> str:
        self.given[kind] += 1
        if kind in NOT_DEDUPLICATED:
            return self.draw(kind)
        for _ in range(self.ATTEMPTS):
            url = self.draw(kind)
            if url not in self.seen:
                break
        self.seen.add(url)
        return url

    def draw(self, kind: str) -> str:
        rng = self.rng
        sampled = rng.choice(self.sample)
        if kind == LIST:
            pages = self.pages(self.total)
            return self.url(self.list_url, [("page", str(rng.randint(1, pages)))])
        if kind == FACET:
            params = combine(self.some_choices(sampled))
            if rng.random() < 1 / 3:
                params += self.random_page(self.facet_pages(params))
            return self.url(self.list_url, params)
        if kind == SEARCH:
            if rng.random() < 0.5 and self.common_words:
                word = rng.choice(self.common_words)
                page = self.random_page(self.search_pages(word)) if rng.random() < 1 / 3 else []
                return self.url(self.list_url, [("q", word), *page])
            return self.url(self.list_url, [("q", rng.choice(self.rare_words))])
        if kind == SEARCH_FACET:
            # A word of the initiative's own title or summary: it is among the results.
            word = rng.choice(sampled.text_words or self.rare_words)
            return self.url(self.list_url, [("q", word), *combine(self.some_choices(sampled, 1))])
        if kind == MISSPELLING:
            words = self.common_words if rng.random() < 0.5 else self.rare_words
            return self.url(
                self.list_url, [("q", misspell(rng.choice(words or self.rare_words), rng))]
            )
        if kind == ORGANISATION:
            return self.organisation(sampled)
        if kind == GOAL:
            return self.goal(sampled)
        if kind == DETAIL:
            # Each sampled initiative once, then again from the start.
            slug = self.detail_order[self.details_given % len(self.detail_order)]
            self.details_given += 1
            with translation.override(settings.LANGUAGE_CODE):
                return reverse("initiatives:detail", args=[slug])
        if kind == API_LIST:
            return self.api_list(self.draw(rng.choice(API_SOURCES)))
        if kind == BASELINE_LIST:
            pages = self.pages(self.total)
            return self.url(self.baseline_url, [("page", str(rng.randint(1, pages)))])
        if kind == BASELINE_SEARCH:
            return self.baseline_search(self.draw(SEARCH))
        fixed = {HOME: self.home_url, STATISTICS: self.statistics_url}
        return {**fixed, FLOOR: self.floor_url, BARE: self.bare_url}[kind]

    def organisation(self, sampled: Sampled) -> str:
        # The lead of a random initiative: busy organisations come up more often, as in life.
        if not sampled.lead_slug:
            if not self.with_lead:
                raise CommandError("No published initiative has an approved lead organisation.")
            sampled = self.rng.choice(self.with_lead)
        with translation.override(settings.LANGUAGE_CODE):
            path = reverse("initiatives:organisation", args=[sampled.lead_slug])
        pages = self.pages(self.led.get(sampled.lead_slug, 0))
        if pages > 1 and self.rng.random() < 0.5:
            return self.url(path, self.random_page(pages))
        if self.rng.random() < 0.5:
            # A facet of an initiative it leads, so there are results.
            return self.url(path, combine(self.some_choices(sampled, 1)))
        return path

    def goal(self, sampled: Sampled) -> str:
        if not self.with_goal:
            raise CommandError("No published initiative has a goal.")
        goals = [value for choice in sampled.choices for name, value in choice if name == "goal"]
        if not goals:
            sampled = self.rng.choice(self.with_goal)
            goals = [v for choice in sampled.choices for name, v in choice if name == "goal"]
        # The page fixes its goal; the extra facet is any other kind of value it has.
        extras = [c for c in sampled.choices if all(name != "goal" for name, _ in c)]
        with translation.override(settings.LANGUAGE_CODE):
            path = reverse("initiatives:goal", args=[int(self.rng.choice(goals))])
        return self.url(path, combine([self.rng.choice(extras)]) if extras else [])

    def api_list(self, ours: str) -> str:
        """One of our list URLs as the API's: a random page size, and the page that starts
        at the same result (so it exists)."""
        size = self.rng.randint(1, API_MAX_PAGE_SIZE)
        params = [
            (name, str((int(value) - 1) * self.per_page // size + 1) if name == "page" else value)
            for name, value in parse_qsl(urlsplit(ours).query)
        ]
        return self.url(self.api_list_url, [*params, ("page_size", str(size))])

    def baseline_search(self, ours: str) -> str:
        """The baseline's search for the same words as one of our search URLs (page 1)."""
        return self.url(self.baseline_url, [("q", parse_qs(urlsplit(ours).query)["q"][0])])

    def batch(self, kind: str, count: int) -> list[tuple[str, str]]:
        return [(kind, self.make(kind)) for _ in range(count)]

    def mixed(self, count: int) -> list[tuple[str, str]]:
        kinds = self.rng.choices(list(MIX), weights=list(MIX.values()), k=count)
        return [(kind, self.make(kind)) for kind in kinds]

    def unique_share(self) -> tuple[int, int]:
        """How many URLs of the varying page types were made, and how many were new."""
        made = sum(n for kind, n in self.given.items() if kind not in NOT_DEDUPLICATED)
        return made, len(self.seen)


# --- HTTP -----------------------------------------------------------------------------------


@dataclass
class Response:
    kind: str
    url: str
    status: int  # 0: no answer (the error says why)
    ms: float
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200

    def text(self) -> str:
        body = self.body
        if dict((k.lower(), v) for k, v in self.headers).get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        return body.decode("utf-8", "replace")


class HttpClient:
    """One keep-alive connection to the server, as one browser tab holds it."""

    def __init__(self, port: int, *, keep_body: bool = False) -> None:
        self.port = port
        self.keep_body = keep_body
        self.connection: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def fetch(
        self, kind: str, url: str, *, method: str = "GET", form: dict | None = None
    ) -> Response:
        body = urlencode(form).encode() if form is not None else None
        headers = {
            "Accept": "text/html",
            "Accept-Encoding": "gzip",
            "User-Agent": "crowd-benchmark",
        }
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            reused = self.connection is not None
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=HTTP_TIMEOUT
                )
            started = time.perf_counter()
            try:
                self.connection.request(method, url, body=body, headers=headers)
                answer = self.connection.getresponse()
                content = answer.read()
            except (http.client.HTTPException, OSError) as error:
                self.close()
                if reused and attempt == 1 and method == "GET":
                    continue  # the server closed an idle keep-alive connection: once more, anew
                return Response(
                    kind, url, 0, (time.perf_counter() - started) * 1000, error=repr(error)
                )
            ms = (time.perf_counter() - started) * 1000
            if answer.will_close:
                self.close()
            for name, value in answer.getheaders():
                if name.lower() == "set-cookie":
                    for morsel in SimpleCookie(value).values():
                        self.cookies[morsel.key] = morsel.value
            return Response(
                kind,
                url,
                answer.status,
                ms,
                body=content if self.keep_body or answer.status != 200 else b"",
                headers=answer.getheaders(),
            )
        raise AssertionError("unreachable")


@dataclass
class Run:
    responses: list[Response]
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.responses) / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> list[Response]:
        return [r for r in self.responses if not r.ok]


def run_sequentially(port: int, jobs: list[tuple[str, str]]) -> Run:
    client = HttpClient(port)
    started = time.perf_counter()
    responses = [client.fetch(kind, url) for kind, url in jobs]
    client.close()
    return Run(responses, time.perf_counter() - started)


def run_concurrently(
    port: int, jobs: list[tuple[str, str]], connections: int, duration: float | None = None
) -> Run:
    """`jobs` shared by `connections` threads, each on its own connection, until done or late."""
    waiting: queue.SimpleQueue = queue.SimpleQueue()
    for job in jobs:
        waiting.put(job)
    responses: list[Response] = []
    started = time.perf_counter()
    deadline = started + duration if duration else math.inf

    def visitor() -> None:
        client = HttpClient(port)
        while time.perf_counter() < deadline:
            try:
                kind, url = waiting.get_nowait()
            except queue.Empty:
                break
            responses.append(client.fetch(kind, url))
        client.close()

    threads = [threading.Thread(target=visitor, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Run(responses, time.perf_counter() - started)


# --- Statistics ----------------------------------------------------------------------------


@dataclass
class Timing:
    """The requests of one page type in one phase."""

    kind: str
    samples: list[float]  # ms of the answers with status 200
    errors: int = 0
    target_ms: float | None = None
    against_floor: bool = False  # held to FLOOR_RATIO_MAX × the floor's p95

    @classmethod
    def of(cls, kind: str, responses: list[Response], *, judged: bool = True) -> "Timing":
        """The timing of `kind` among `responses`; `judged` holds it to its targets."""
        mine = [r for r in responses if r.kind == kind]
        return cls(
            kind,
            [r.ms for r in mine if r.ok],
            errors=sum(not r.ok for r in mine),
            target_ms=TARGETS.get(kind) if judged else None,
            against_floor=judged and kind in OURS,
        )

    def p(self, fraction: float) -> float | None:
        return percentile(self.samples, fraction) if self.samples else None


def timings_table(timings: list[Timing], floor: Timing) -> tuple[list[str], list[str]]:
    """The table of a phase (p50/p95/p99, ratios to the floor, target, result) and what failed."""
    floor_p50, floor_p95 = floor.p(0.5), floor.p(0.95)
    header = (
        f"{'page type':<16} {'n':>5} {'errors':>6} {'p50':>8} {'p95':>8} {'p99':>8} "
        f"{'p50/floor':>9} {'p95/floor':>9} {'target p95':>11}  result"
    )
    lines, failed = [header, "-" * len(header)], []

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    def ratio(value: float | None, base: float | None) -> str:
        return "-" if value is None or not base else f"{value / base:.1f}"

    for timing in timings:
        p50, p95, p99 = timing.p(0.5), timing.p(0.95), timing.p(0.99)
        result, target = "", ""
        if timing.target_ms is not None or timing.against_floor:
            problems = []
            if timing.errors or p95 is None:
                problems.append("errors")
            if timing.target_ms is not None:
                target = f"≤ {timing.target_ms:.0f}"
                if p95 is not None and p95 > timing.target_ms:
                    problems.append("p95")
            ratio_max = FLOOR_RATIO_MAX * floor_p95 if floor_p95 else None
            if timing.against_floor and p95 is not None and ratio_max and p95 > ratio_max:
                problems.append(f"> {FLOOR_RATIO_MAX:.0f}× floor")
            result = "PASS" if not problems else "FAIL (" + ", ".join(problems) + ")"
            if problems:
                failed.append(timing.kind)
        lines.append(
            f"{timing.kind:<16} {len(timing.samples) + timing.errors:>5} {timing.errors:>6} "
            f"{ms(p50):>8} {ms(p95):>8} {ms(p99):>8} {ratio(p50, floor_p50):>9} "
            f"{ratio(p95, floor_p95):>9} {target:>11}  {result}"
        )
    return lines, failed


@dataclass
class Check:
    name: str
    measured: str
    target: str
    passed: bool


# --- The server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn with production settings, serving the benchmark's URLconf, in a subprocess."""

    def __init__(self, port: int, workers: int, folder: Path) -> None:
        self.port = port
        self.workers = workers
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.log_path = folder / "gunicorn.log"
        self.environment = self.production_environment()
        conf = Path(settings.BASE_DIR) / "gunicorn.conf.py"
        self.command = [str(Path(sys.executable).parent / "gunicorn")]
        if conf.exists():
            self.command += ["-c", str(conf)]
        self.command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
        self.command += ["ideabank.wsgi:application"]

    def production_environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "DEBUG": "false",
            # A key of this run only: the sessions it makes are of no use afterwards.
            "SECRET_KEY": "crowd-benchmark-" + secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
            "REDIS_URL": os.environ.get("REDIS_URL", ""),
            "DATABASE_CONN_MAX_AGE": "60",
            URLCONF_VARIABLE: BENCHMARK_URLCONF,
            "STATIC_ROOT": str(self.folder / "static"),
            # The publication e-mails the submitter: into the log, never to anyone.
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            # Every request comes from this one address: the API's limit per address would
            # count the whole crowd as one client.
            "API_REQUESTS_PER_MINUTE": "1000000",
        }

    def collect_static(self) -> None:
        # The production storage serves hashed names from a manifest that collectstatic writes.
        done = subprocess.run(
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "collectstatic",
                "--noinput",
            ],
            env=self.environment,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise CommandError(f"collectstatic failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        self.collect_static()
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command,
            env=self.environment,
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: Ctrl-C reaches this command, which then stops it cleanly.
            start_new_session=True,
        )
        log.close()
        self.wait_until_ready()

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        path = reverse("benchmark-floor", urlconf=BENCHMARK_URLCONF)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CommandError(
                    f"gunicorn stopped (exit {self.process.returncode}):\n{self.log_tail()}"
                )
            response = HttpClient(self.port).fetch("start", path)
            if response.status == 200:
                return
            if response.status == 404:
                raise CommandError(
                    f"The server answers but not with {BENCHMARK_URLCONF}: ideabank/settings.py "
                    f"must read ROOT_URLCONF from the {URLCONF_VARIABLE} environment variable."
                )
            if response.status:
                raise CommandError(f"The server answered {response.status}:\n{self.log_tail()}")
            time.sleep(0.2)
        raise CommandError(
            f"gunicorn did not answer within {START_TIMEOUT:.0f} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # gunicorn's graceful stop
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Worker:
    """The site's task worker (`manage.py worker`) with the server's settings, in a subprocess."""

    def __init__(self, environment: dict[str, str], folder: Path) -> None:
        self.environment = environment
        self.log_path = folder / "worker.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "worker",
                "--interval",
                "0.2",
            ],  # fmt: skip
            env=self.environment,
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # the worker finishes its task, then stops
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- The command ----------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Start gunicorn with production settings and time the public pages over HTTP with "
        "URLs that are nearly all new: sequentially, at 10 connections, against a naive "
        "ListView baseline, and right after a publication."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requests", type=int, default=200, help="Sequential requests per page type (default 200).")  # fmt: skip
        parser.add_argument("--concurrency", type=int, default=10, help="Connections at once in the concurrent phases (default 10).")  # fmt: skip
        parser.add_argument("--concurrent-requests", type=int, default=1000, help="Requests of the concurrent mixed workload (default 1000).")  # fmt: skip
        parser.add_argument("--compare-requests", type=int, default=200, help="Requests of each side and page type in the baseline comparison (default 200).")  # fmt: skip
        parser.add_argument("--duration", type=float, default=None, help="Stop each concurrent run after this many seconds, even with requests left.")  # fmt: skip
        parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2).")  # fmt: skip
        parser.add_argument("--port", type=int, default=0, help="Port on 127.0.0.1 (default: a free one).")  # fmt: skip
        parser.add_argument("--seed", type=int, default=None, help="Random seed for the URLs; default: chosen and printed.")  # fmt: skip
        parser.add_argument("--skip-publication", action="store_true", help="Leave the database alone: no withdraw and publish.")  # fmt: skip
        parser.add_argument("--skip-statistics-changes", action="store_true", help="Leave out the statistics page under catalogue changes (phase 6).")  # fmt: skip
        parser.add_argument("--check", action="store_true", help="Exit with an error when a target is missed.")  # fmt: skip

    def handle(self, *args, **options) -> None:
        counts = ["requests", "concurrency", "concurrent_requests", "compare_requests", "workers"]
        for name in counts:
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be 1 or more.")
        self.warn_about_environment()
        seed = options["seed"]
        if seed is None:
            seed = random.SystemRandom().randrange(1_000_000)
        rng = random.Random(seed)
        self.checks: list[Check] = []
        self.table_failures: list[str] = []
        self.header(seed, options)

        started = time.perf_counter()
        builder = UrlBuilder(rng)
        n, concurrency = options["requests"], options["concurrency"]
        sequential = [job for kind in SEQUENTIAL for job in builder.batch(kind, n)]
        rng.shuffle(sequential)  # interleaved, so a busy moment of the machine hits every type
        mixed = builder.mixed(options["concurrent_requests"])
        compared = {
            kind: builder.batch(kind, options["compare_requests"])
            for kind in (SEARCH, FACET, BASELINE_LIST)
        }
        # The baseline searches for the very words of our comparison searches.
        compared[BASELINE_SEARCH] = [
            (BASELINE_SEARCH, builder.baseline_search(url)) for _, url in compared[SEARCH]
        ]
        # The ceiling: what this client and these workers manage when a page does nothing.
        compared[BARE] = builder.batch(BARE, options["compare_requests"])
        first_visits = builder.batch(FACET, FIRST_VISITS)
        made, unique = builder.unique_share()
        self.say(
            f"URLs: {made} of the varying page types, {unique} unique ({unique / made:.1%}); home "
            f"and the floors are the same URL each time. {len(builder.common_words)} common words, "
            f"{len(builder.rare_words)} rare ones, from {len(builder.sample)} sampled initiatives. "
            f"Built in {time.perf_counter() - started:.1f} s."
        )

        folder = Path(tempfile.mkdtemp(prefix="crowd-benchmark-"))
        server = self.server = Server(options["port"] or free_port(), options["workers"], folder)
        self.say(f"Server: {' '.join(server.command)}")
        try:
            server.start()
            self.warm_up(server.port, builder, options["workers"])
            self.phase_sequential(server.port, sequential)
            self.phase_mixed(server.port, mixed, concurrency, options["duration"])
            self.phase_compare(server.port, compared, concurrency, options["duration"])
            if not options["skip_publication"]:
                self.phase_publication(server.port, builder, first_visits)
            if not options["skip_statistics_changes"]:
                self.phase_statistics_changes(server, builder, folder)
            self.report_memory(server)
        finally:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)
        failed = self.verdict()
        if failed and options["check"]:
            raise CommandError(f"Targets missed: {', '.join(failed)}.")

    # --- set-up ---------------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def warn_about_environment(self) -> None:
        if connection.vendor != "postgresql":
            self.stderr.write(
                self.style.WARNING(
                    f"This is {connection.vendor}, not PostgreSQL: set DATABASE_URL for numbers that mean something."
                )
            )
        if not os.environ.get("REDIS_URL"):
            self.stderr.write(
                self.style.WARNING(
                    "REDIS_URL is not set: each gunicorn worker and this command cache on their own."
                )
            )

    def header(self, seed: int, options: dict) -> None:
        database = connection.vendor
        if database == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                database = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
        try:
            gunicorn = version("gunicorn")
        except PackageNotFoundError:
            gunicorn = "not installed"
        self.say(
            f"Crowd benchmark {timezone.localtime():%Y-%m-%d %H:%M} · Django {django.get_version()} · "
            f"Python {platform.python_version()} · {database} · gunicorn {gunicorn} · "
            f"{os.cpu_count()} CPUs · load average {load()}\n"
            f"{Initiative.objects.published().count()} published initiatives · seed {seed} · "
            f"{options['workers']} workers · {options['requests']} sequential requests per page type · "
            f"{options['concurrent_requests']} mixed at {options['concurrency']} connections · "
            f"times in ms on the client, over HTTP"
        )

    def warm_up(self, port: int, builder: UrlBuilder, workers: int) -> None:
        """A few requests per worker to pages outside the measured set: imports, templates,
        database connections. Nothing measured is asked before it is measured."""
        urls = [builder.bare_url, builder.floor_url, builder.home_url, builder.list_url]
        urls.append(builder.baseline_url)
        # One of each kind of template, from URLs taken out of the set (never measured).
        urls += [builder.make(kind) for kind in (DETAIL, GOAL, ORGANISATION)]
        run_concurrently(port, [("warm-up", url) for url in urls * 3 * workers], workers * 2)

    # --- phases ---------------------------------------------------------------------------

    def phase_sequential(self, port: int, jobs: list[tuple[str, str]]) -> None:
        before = load()
        run = run_sequentially(port, jobs)
        self.say(
            f"\n1. Sequential: {len(jobs)} requests, one at a time, page types interleaved "
            f"({run.seconds:.0f} s). Load average before {before}, after {load()}."
        )
        timings = [Timing.of(kind, run.responses) for kind in SEQUENTIAL]
        lines, failed = timings_table(timings, timings[0])
        self.say("\n".join(lines))
        self.show_errors(run)
        self.table_failures = failed

    def phase_mixed(self, port: int, jobs, concurrency: int, duration: float | None) -> None:
        before = load()
        run = run_concurrently(port, jobs, concurrency, duration)
        self.say(
            f"\n2. Mixed workload at {concurrency} connections: {len(run.responses)} requests in "
            f"{run.seconds:.1f} s = {run.rate:.1f} requests/s, {len(run.errors)} errors. "
            f"Load average before {before}, after {load()}.\n"
            f"   Mix: " + ", ".join(f"{kind} {weight}" for kind, weight in MIX.items())
        )
        timings = [Timing.of(kind, run.responses, judged=False) for kind in MIX]
        lines, _ = timings_table(timings, Timing(FLOOR, []))
        self.say("\n".join(lines))
        self.show_errors(run)
        self.checks.append(
            Check(
                f"mixed at {concurrency} connections",
                f"{run.rate:.1f} req/s",
                f"≥ {MIXED_RATE_MIN:.0f} req/s",
                run.rate >= MIXED_RATE_MIN,
            )
        )
        self.checks.append(Check("mixed errors", str(len(run.errors)), "0", not run.errors))

    def phase_compare(self, port: int, compared, concurrency: int, duration: float | None) -> None:
        self.say(f"\n3. Ours against the naive ListView baseline, {concurrency} connections each:")
        rates = {}
        for kind, jobs in compared.items():
            before = load()
            run = run_concurrently(port, jobs, concurrency, duration)
            rates[kind] = run.rate
            timing = Timing(kind, [r.ms for r in run.responses if r.ok])
            self.say(
                f"   {kind:<16} {len(run.responses):>5} requests {run.seconds:>6.1f} s "
                f"{run.rate:>7.1f} req/s  errors {len(run.errors):>3}  p50 {timing.p(0.5) or 0:>7.1f}  "
                f"p95 {timing.p(0.95) or 0:>7.1f}  load {before} → {load()}"
            )
            self.show_errors(run)
            if kind in (SEARCH, FACET) and run.errors:
                self.checks.append(
                    Check(f"{kind} errors at {concurrency}", str(len(run.errors)), "0", False)
                )
        self.say(
            f"   ({BARE} is the ceiling: this client and these workers, a page doing nothing.)"
        )
        for ours, theirs in ((SEARCH, BASELINE_SEARCH), (FACET, BASELINE_LIST)):
            ratio = rates[ours] / rates[theirs] if rates[theirs] else math.inf
            self.say(f"   {ours} / {theirs}: {ratio:.1f}× the requests per second")
            self.checks.append(
                Check(
                    f"{ours} vs {theirs}",
                    f"{ratio:.1f}×",
                    f"≥ {BASELINE_RATIO_MIN:.0f}×",
                    ratio >= BASELINE_RATIO_MIN,
                )
            )

    def phase_publication(self, port: int, builder: UrlBuilder, first_visits) -> None:
        before = load()
        initiative, moderator, submitter, password = self.publication_people(builder)
        try:
            # Set-up in this process, nobody told by e-mail: back to draft, submitted again.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
                initiative.withdraw(by=moderator, note="crowd_benchmark: publish it again")
                initiative.submit(by=submitter)
            publish_ms = self.publish_over_http(port, initiative, moderator, password)
            visits = run_sequentially(port, first_visits)
        finally:
            self.restore(initiative, moderator)
            # The account stays (its history rows name it) but nobody can log in with it.
            moderator.set_unusable_password()
            moderator.save(update_fields=["password"])
        self.say(
            f"\n4. Publication: a moderator publishes “{initiative.title}” through the admin's "
            f"review page: {publish_ms:.1f} ms. Then the first visit of {len(first_visits)} new "
            f"facet combinations (load average before {before}, after {load()}):"
        )
        for response in visits.responses:
            self.say(f"   {response.ms:>8.1f} ms  {response.status}  {response.url}")
        worst = max(r.ms for r in visits.responses)
        self.checks.append(
            Check(
                "publication (moderator's request)",
                f"{publish_ms:.1f} ms",
                f"≤ {PUBLISH_TARGET_MS:.0f} ms",
                publish_ms <= PUBLISH_TARGET_MS,
            )
        )
        self.checks.append(
            Check(
                "first visits after it, slowest",
                f"{worst:.1f} ms",
                f"≤ {FIRST_VISIT_TARGET_MS:.0f} ms",
                worst <= FIRST_VISIT_TARGET_MS and not visits.errors,
            )
        )

    def publication_people(self, builder: UrlBuilder) -> tuple[Initiative, object, object, str]:
        """A published initiative to publish again, a moderator (a superuser of the
        benchmark's, with a fresh password) and a submitter who is not the moderator."""
        users = get_user_model()
        password = secrets.token_urlsafe(24)
        moderator, _ = users.objects.get_or_create(username="bench-moderator")
        moderator.is_staff = moderator.is_superuser = moderator.is_active = True
        # The admin's log-in is the site's, which takes the e-mail address.
        moderator.email = "bench-moderator@example.org"
        moderator.set_password(password)
        moderator.save()
        submitter, created = users.objects.get_or_create(username="bench-submitter")
        if created:
            submitter.set_unusable_password()
            submitter.save(update_fields=["password"])
        # Only a confirmed address sends for review (Initiative.submit).
        profile_for(submitter).confirm_email()
        candidates = (
            Initiative.objects.published()
            .filter(lead_organisation__status=Organisation.Status.APPROVED)
            .exclude(created_by=moderator)
        )
        synthetic = candidates.filter(slug__startswith="syn-")
        candidates = synthetic if synthetic.exists() else candidates
        slug = next(
            (s.slug for s in builder.sample if candidates.filter(slug=s.slug).exists()), None
        )
        if slug is None:
            raise CommandError("No published initiative to publish again.")
        return Initiative.objects.get(slug=slug), moderator, submitter, password

    def publish_over_http(
        self, port: int, initiative: Initiative, moderator, password: str
    ) -> float:
        client = HttpClient(port, keep_body=True)
        with translation.override(settings.LANGUAGE_CODE):
            login_url = reverse("accounts:login")
            review_url = reverse("admin:initiatives_initiative_review", args=[initiative.pk])
            publish_url = reverse(
                "admin:initiatives_initiative_review_publish", args=[initiative.pk]
            )
        login_form = client.fetch("admin", login_url)
        logged_in = client.fetch(
            "admin",
            login_url,
            method="POST",
            form={
                "csrfmiddlewaretoken": csrf_token(login_form),
                "username": moderator.email,
                "password": password,
                "next": review_url,
            },
        )
        if logged_in.status != 302:
            raise CommandError(f"The moderator could not log in ({logged_in.status}).")
        review = client.fetch("admin", review_url)
        if review.status != 200:
            raise CommandError(f"The review page answered {review.status}.")
        published = client.fetch(
            "publish", publish_url, method="POST", form={"csrfmiddlewaretoken": csrf_token(review)}
        )
        client.close()
        initiative.refresh_from_db()
        if published.status != 302 or not initiative.is_published:
            raise CommandError(
                f"Publishing answered {published.status}; the initiative is {initiative.status}."
            )
        return published.ms

    def restore(self, initiative: Initiative, moderator) -> None:
        """Published again whatever happened, so the run leaves the catalogue as it found it."""
        initiative.refresh_from_db()
        if initiative.is_published:
            return
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            if initiative.status != Initiative.Status.SUBMITTED:
                initiative.submit(by=None)
            initiative.publish(by=moderator)
        self.stderr.write(f"Published “{initiative.title}” again in-process after a failure.")

    def phase_statistics_changes(self, server: "Server", builder: UrlBuilder, folder: Path) -> None:
        self.say(
            f"\n5. The statistics page while the catalogue changes: an adoption reported every "
            f"{STATISTICS_CHANGE_EVERY:.0f} s, {STATISTICS_CHANGES} times, visitors asking the "
            f"page in nb and en at {STATISTICS_VISITORS} connections throughout."
        )
        made: list[int] = []
        worker = Worker(server.environment, folder)
        try:
            # Without a worker the changes made here must not queue warming tasks for later.
            engine_module.catalogue_changed.disconnect(dispatch_uid="statistics-warm")
            naive = self.statistics_under_changes(server.port, builder, made)
            engine_module.catalogue_changed.connect(
                statistics.queue_warming, dispatch_uid="statistics-warm"
            )
            worker.start()
            self.wait_for_warm_worker(server.port, builder)
            warmed = self.statistics_under_changes(server.port, builder, made)
        finally:
            worker.stop()
            Adoption.objects.filter(pk__in=made).delete()
        for name, timing in (
            ("no worker (first visitor counts)", naive),
            ("with the worker", warmed),
        ):
            slow = sum(ms > STATISTICS_SLOW_MS for ms in timing.samples)
            self.say(
                f"   {name:<34} {len(timing.samples):>5} visits  p50 {timing.p(0.5):7.1f}  "
                f"p95 {timing.p(0.95):7.1f}  max {max(timing.samples):7.1f} ms  "
                f"slower than {STATISTICS_SLOW_MS:.0f} ms: {slow}  errors {timing.errors}"
            )
        self.checks.append(
            Check(
                "statistics under changes, p95",
                f"{warmed.p(0.95):.1f} ms",
                f"≤ {STATISTICS_TARGET_MS:.0f} ms",
                warmed.p(0.95) <= STATISTICS_TARGET_MS and not warmed.errors,
            )
        )

    def statistics_under_changes(self, port: int, builder: UrlBuilder, made: list[int]) -> Timing:
        """Visitors ask the statistics page without pause while this thread reports an
        adoption every STATISTICS_CHANGE_EVERY seconds; their timings."""
        with translation.override("en"):
            english = reverse("initiatives:statistics")
        urls = [builder.statistics_url, english]
        done = threading.Event()
        responses: list[Response] = []

        def visitor(offset: int) -> None:
            client = HttpClient(port)
            n = offset
            while not done.is_set():
                responses.append(client.fetch(STATISTICS, urls[n % 2]))
                n += 1
            client.close()

        threads = [
            threading.Thread(target=visitor, args=(n,), daemon=True)
            for n in range(STATISTICS_VISITORS)
        ]
        for thread in threads:
            thread.start()
        try:
            for _ in range(STATISTICS_CHANGES):
                time.sleep(STATISTICS_CHANGE_EVERY)
                made.append(self.report_adoption(builder))
            time.sleep(STATISTICS_CHANGE_EVERY)
        finally:
            done.set()
            for thread in threads:
                thread.join()
        return Timing.of(STATISTICS, responses, judged=False)

    def report_adoption(self, builder: UrlBuilder) -> int:
        """An approved organisation reports that it took up a published initiative."""
        organisations = Organisation.objects.approved()
        while True:
            initiative_id = builder.rng.choice(builder.ids)
            organisation = organisations.order_by("?").values_list("pk", flat=True).first()
            if not Adoption.objects.filter(
                initiative_id=initiative_id, organisation_id=organisation
            ).exists():
                adoption = Adoption.objects.create(
                    initiative_id=initiative_id,
                    organisation_id=organisation,
                    note="crowd_benchmark",
                )
                return adoption.pk

    def wait_for_warm_worker(self, port: int, builder: UrlBuilder) -> None:
        """The worker builds its engine on its first task: let that happen before timing."""
        statistics.queue_warming()  # outside a transaction: queued at once
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not cache.get(statistics.WARMING_QUEUED_KEY):
                # Started; give it the time a warm count takes at most.
                time.sleep(5)
                return
            time.sleep(0.5)
        raise CommandError("The task worker did not start the statistics warming.")

    # --- the end ----------------------------------------------------------------------------

    def show_errors(self, run: Run) -> None:
        for response in run.errors[:ERRORS_SHOWN]:
            self.say(f"   error: {response.status or response.error} {response.url}")
        if len(run.errors) > ERRORS_SHOWN:
            self.say(f"   … and {len(run.errors) - ERRORS_SHOWN} more errors")
        if run.errors:
            self.say("   The server's log ends with:\n" + self.server.log_tail(15))

    def report_memory(self, server: "Server") -> None:
        """Resident memory of gunicorn's master and workers (shared pages count in each)."""
        master = server.process.pid
        workers = [pid for pid in process_ids() if parent_of(pid) == master]
        sizes = {pid: resident_mb(pid) for pid in [master, *workers]}
        self.say(
            f"\nResident memory (VmRSS): master {sizes[master]:.0f} MB, workers "
            + ", ".join(f"{sizes[pid]:.0f} MB" for pid in workers)
        )
        largest = max(sizes.values())
        self.checks.append(
            Check(
                "largest serving process",
                f"{largest:.0f} MB",
                f"≤ {MEMORY_TARGET_MB:.0f} MB",
                largest <= MEMORY_TARGET_MB,
            )
        )

    def verdict(self) -> list[str]:
        self.say("\nTargets:")
        failed = list(self.table_failures)
        self.say(
            f"   sequential page types (p95, ≤ {FLOOR_RATIO_MAX:.0f}× floor, no errors): "
            + ("PASS" if not failed else "FAIL: " + ", ".join(failed))
        )
        for check in self.checks:
            self.say(
                f"   {check.name:<40} {check.measured:>12}  {check.target:<12} {'PASS' if check.passed else 'FAIL'}"
            )
            if not check.passed:
                failed.append(check.name)
        return failed


def process_ids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def parent_of(pid: int) -> int | None:
    try:
        # The command name in parentheses may hold spaces; the parent follows the last ")".
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


def csrf_token(response: Response) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text())
    if not found:
        raise CommandError(f"No CSRF token in {response.url} ({response.status}).")
    return found.group(1)
