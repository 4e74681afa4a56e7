"""Measure the server time of the public initiative pages, in-process, through every middleware.

Each page is requested with django.test.Client (a fresh one, anonymous, over
"https" so a production SECURE_SSL_REDIRECT does not answer instead), first
once cold (the facet counts are uncached: the run starts by bumping the
catalogue version), then --warmup times unrecorded, then --runs times
recorded. The floor is a page that renders only base.html through the same
middleware: what any page costs before it does its own work. The targets
(issue 3) are checked on the warm p95s and on the process's peak memory.

This module is also the URLconf used for the run: the project's URLs plus the
floor page.

Run it on PostgreSQL with the synthetic data of `generate_initiatives`; see
docs/benchmark.md.
"""

import math
import os
import platform
import random
import re
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import django
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse
from django.utils import timezone, translation

from ideabank import urls as project_urls
from initiatives import engine, search
from initiatives.models import Initiative

FLOOR = "benchmark-floor"
LIST_TARGET_MS = 150.0
DETAIL_TARGET_MS = 50.0
MEMORY_TARGET_MB = 300.0
RARE_MAX_MATCHES = 20
SLOWEST_SHOWN = 5


def floor(request: HttpRequest) -> HttpResponse:
    """The bare layout with an empty content block: the cost every page starts from."""
    return render(request, "base.html")


urlpatterns = [path("__benchmark__/floor/", floor, name=FLOOR), *project_urls.urlpatterns]


# --- Statistics ---------------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest sample with at least `fraction` of them at or below it.

    Always a value that was measured; p95 of 1..100 is 95, p95 of 20 samples the 19th.
    """
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Summary:
    best: float
    median: float
    p95: float


def summarise(samples: list[float]) -> Summary:
    # The best run is the least disturbed by other work on the machine; the targets use p95.
    return Summary(
        best=min(samples), median=statistics.median(samples), p95=percentile(samples, 0.95)
    )


# --- What is measured -------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    url: Callable[[int], str]  # request number (0 is the cold one) -> URL
    target_ms: float | None
    cold_ms: float = 0.0
    samples: list[float] = field(default_factory=list)
    # From two extra, captured requests: facet counts uncached, then cached.
    queries: dict[str, tuple[int, float]] = field(default_factory=dict)
    slowest: list[tuple[float, str, str]] = field(default_factory=list)  # ms, label, SQL

    @property
    def summary(self) -> Summary:
        return summarise(self.samples)

    def passed(self) -> bool | None:
        return None if self.target_ms is None else self.summary.p95 <= self.target_ms


def peak_memory_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1024 * 1024 if platform.system() == "Darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def retire_cached_counts() -> None:
    """A new catalogue version: the facet engine builds afresh and cached text searches retire."""
    engine.everything_changed()


class Command(BaseCommand):
    help = (
        "Measure the server time of the initiative list (plain, faceted, searched, last page), "
        "the detail page and a bare floor page, and check them against the speed targets."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=50, help="Recorded requests per page (default 50).")  # fmt: skip
        parser.add_argument("--warmup", type=int, default=5, help="Unrecorded requests per page after the cold one (default 5).")  # fmt: skip
        parser.add_argument("--common-word", default="barnehage", help="The common search word (default barnehage).")  # fmt: skip
        parser.add_argument("--rare-word", default="", help="The rare search word (default: found in the synthetic data).")  # fmt: skip
        parser.add_argument("--explain", action="store_true", help="Print EXPLAIN ANALYZE of the slowest queries.")  # fmt: skip
        parser.add_argument("--check", action="store_true", help="Exit with an error when a target is missed.")  # fmt: skip

    def handle(self, *args, **options) -> None:
        runs, warmup = options["runs"], options["warmup"]
        if runs < 1 or warmup < 0:
            raise CommandError("--runs must be 1 or more and --warmup 0 or more.")
        if connection.vendor != "postgresql":
            self.stderr.write(
                self.style.WARNING(
                    f"This is {connection.vendor}, not PostgreSQL: the numbers say little about "
                    "production, and search works differently. Set DATABASE_URL to a PostgreSQL database."
                )
            )
        if settings.DEBUG:
            self.stderr.write(
                self.style.WARNING(
                    "DEBUG is on in the settings; the run forces it off (with DEBUG on every query is "
                    "recorded, which costs time and memory). Settings derived from DEBUG at start-up "
                    "keep their development values; for production-like numbers run with "
                    "DEBUG=false SECRET_KEY=... ALLOWED_HOSTS=localhost."
                )
            )
        published = Initiative.objects.published()
        total = published.count()
        if not total:
            raise CommandError("There are no published initiatives: run manage.py generate_initiatives first.")  # fmt: skip

        with translation.override(settings.LANGUAGE_CODE), override_settings(**self.overrides()):
            pages = self.pages(published, total, runs + warmup + 1, options)
            self.environment(total, runs, warmup)
            # Facet counts are cached per catalogue version: a new version makes the first request cold.
            retire_cached_counts()
            client = Client(HTTP_HOST=self.host)
            for page in pages:
                self.measure(client, page, runs, warmup)
            for page in pages:
                self.capture(client, page)
        memory = peak_memory_mb()
        failed = self.report(pages, memory)
        if options["explain"]:
            self.explain(pages)
        if failed and options["check"]:
            raise CommandError(f"Targets missed: {', '.join(failed)}.")

    # --- set-up ---------------------------------------------------------------------------------

    def overrides(self) -> dict:
        hosts = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".") and h != "*"]
        self.host = hosts[0] if hosts else "localhost"
        overrides = {
            "DEBUG": False,
            "ROOT_URLCONF": __name__,
            "ALLOWED_HOSTS": [*settings.ALLOWED_HOSTS, self.host],
        }
        try:
            staticfiles_storage.url("css/base.css")
        except ValueError:
            # No manifest (collectstatic has not run): plain names, so templates still render.
            overrides["STORAGES"] = {
                **settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            }
            self.stderr.write(
                self.style.WARNING("No static files manifest: using plain static file names.")
            )
        return overrides

    def pages(self, published, total: int, needed: int, options: dict) -> list[Page]:
        list_url = reverse("initiatives:list")
        goal, purpose, phase = self.facets(published)
        try:
            from initiatives.views import PER_PAGE
        except ImportError:
            PER_PAGE = 20
        last = Paginator(range(total), PER_PAGE).num_pages
        rare = options["rare_word"] or self.rare_word(published)
        common = options["common_word"]
        slugs = self.detail_slugs(published, needed)
        self.chosen = {
            "facets": f"goal={goal}&purpose={purpose}&phase={phase}",
            "common word": common,
            "rare word": rare,
            "last page": last,
        }

        def fixed(url: str) -> Callable[[int], str]:
            return lambda n: url

        return [
            Page("floor (base.html)", fixed(reverse(FLOOR)), None),
            Page("list", fixed(list_url), LIST_TARGET_MS),
            Page(
                "list, 3 facets",
                fixed(f"{list_url}?goal={goal}&purpose={purpose}&phase={phase}"),
                LIST_TARGET_MS,
            ),  # fmt: skip
            Page(f"search '{common}'", fixed(f"{list_url}?q={common}"), LIST_TARGET_MS),
            Page(f"search '{rare}'", fixed(f"{list_url}?q={rare}"), LIST_TARGET_MS),
            Page(f"list, last page ({last})", fixed(f"{list_url}?page={last}"), LIST_TARGET_MS),
            Page(
                "detail",
                lambda n: reverse("initiatives:detail", args=[slugs[n % len(slugs)]]),
                DETAIL_TARGET_MS,
            ),
        ]

    def facets(self, published) -> tuple[str, str, str]:
        """The commonest goal, the commonest purpose with it, and "running"."""
        goal_rows = (
            Initiative.goals.through.objects.filter(initiative__in=published)
            .values("goal__number")
            .annotate(n=Count("pk"))
            .order_by("-n", "goal__number")
        )
        goal = goal_rows.first()
        if goal is None:
            raise CommandError("No published initiative has a goal: generate data first.")
        purpose = (
            Initiative.purposes.through.objects.filter(
                initiative__in=published.filter(goals__number=goal["goal__number"])
            )
            .values("purpose__slug")
            .annotate(n=Count("pk"))
            .order_by("-n", "purpose__slug")
            .first()
        )
        if purpose is None:
            raise CommandError("No published initiative has a purpose: generate data first.")
        return str(goal["goal__number"]), purpose["purpose__slug"], Initiative.Phase.RUNNING

    def rare_word(self, published) -> str:
        """A word of the synthetic data's long tail that few published initiatives contain."""
        from initiatives.management.commands.generate_initiatives import RARE_WORDS

        for word in reversed(RARE_WORDS):
            if 1 <= search.search(published, word).queryset.count() <= RARE_MAX_MATCHES:
                return word
        raise CommandError("No rare word found; pass one with --rare-word.")

    def detail_slugs(self, published, needed: int) -> list[str]:
        """Different published initiatives, synthetic ones when there are any, in a fixed order."""
        candidates = published.filter(slug__startswith="syn-")
        if not candidates.exists():
            candidates = published
        ids = list(candidates.order_by("pk").values_list("pk", flat=True))
        chosen = random.Random(0).sample(ids, min(needed, len(ids)))
        by_pk = dict(candidates.filter(pk__in=chosen).values_list("pk", "slug"))
        return [by_pk[pk] for pk in chosen]

    def environment(self, total: int, runs: int, warmup: int) -> None:
        vendor = connection.vendor
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                shown = []
                for name in ("server_version", "jit", "shared_buffers", "work_mem"):
                    cursor.execute(f"SHOW {name}")
                    shown.append(cursor.fetchone()[0])
            version, *rest = shown
            vendor = f"PostgreSQL {version.split()[0]} (jit {rest[0]}, shared_buffers {rest[1]}, work_mem {rest[2]})"
        self.stdout.write(
            f"Benchmark {timezone.localtime():%Y-%m-%d %H:%M} · Django {django.get_version()} · "
            f"Python {platform.python_version()} · {vendor} · {os.cpu_count()} CPUs · "
            f"load average {' '.join(f'{n:.1f}' for n in os.getloadavg())}\n"
            f"{total} published initiatives · {runs} runs after {warmup} warm-up per page · "
            + " · ".join(f"{name}: {value}" for name, value in self.chosen.items())
        )

    # --- measuring --------------------------------------------------------------------------------

    def get(self, client: Client, url: str) -> float:
        started = time.perf_counter()
        response = client.get(url, secure=True)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}, not 200.")
        return elapsed

    def measure(self, client: Client, page: Page, runs: int, warmup: int) -> None:
        page.cold_ms = self.get(client, page.url(0))
        for n in range(1, warmup + 1):
            self.get(client, page.url(n))
        page.samples = [self.get(client, page.url(warmup + 1 + n)) for n in range(runs)]

    def capture(self, client: Client, page: Page) -> None:
        """Two more requests with every query recorded: facet counts uncached, then cached."""
        for label in ("uncached", "cached"):
            if label == "uncached":
                retire_cached_counts()
            with CaptureQueriesContext(connection) as captured:
                client.get(page.url(0), secure=True)
            timed = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
            page.queries[label] = (len(timed), sum(ms for ms, _ in timed))
            page.slowest.extend((ms, f"{page.name}, {label}", sql) for ms, sql in timed)
        page.slowest = sorted(page.slowest, key=lambda item: item[0], reverse=True)[:SLOWEST_SHOWN]

    # --- reporting --------------------------------------------------------------------------------

    def report(self, pages: list[Page], memory: float) -> list[str]:
        floor_median = pages[0].summary.median
        header = f"{'page':<34} {'cold':>8} {'best':>8} {'median':>8} {'p95':>8} {'med/floor':>10} {'p95/floor':>10} {'target p95':>11}  result"  # fmt: skip
        self.stdout.write(
            "\nTimes in ms, server side, in-process.\n" + header + "\n" + "-" * len(header)
        )
        failed = []
        for page in pages:
            s = page.summary
            passed = page.passed()
            target = "" if page.target_ms is None else f"≤ {page.target_ms:.0f}"
            result = "" if passed is None else ("PASS" if passed else "FAIL")
            if passed is False:
                failed.append(page.name)
            self.stdout.write(
                f"{page.name:<34} {page.cold_ms:>8.1f} {s.best:>8.1f} {s.median:>8.1f} {s.p95:>8.1f} "
                f"{s.median / floor_median:>10.1f} {s.p95 / floor_median:>10.1f} {target:>11}  {result}"
            )
        memory_ok = memory <= MEMORY_TARGET_MB
        if not memory_ok:
            failed.append("peak memory")
        self.stdout.write(
            f"\nPeak memory (ru_maxrss): {memory:.0f} MB (target ≤ {MEMORY_TARGET_MB:.0f} MB)  "
            f"{'PASS' if memory_ok else 'FAIL'}"
        )

        self.stdout.write(
            "\nQueries per request (count, SQL ms), facet counts uncached / cached:\n"
            + "\n".join(
                f"  {page.name:<34} {page.queries['uncached'][0]:>3} q {page.queries['uncached'][1]:>8.1f} ms"
                f"   /  {page.queries['cached'][0]:>3} q {page.queries['cached'][1]:>8.1f} ms"
                for page in pages
            )
        )
        self.stdout.write("\nSlowest queries:")
        for ms, label, sql in self.slowest(pages):
            self.stdout.write(f"  {ms:8.1f} ms  [{label}]  {shorten(sql)}")
        return failed

    @staticmethod
    def slowest(pages: list[Page]) -> list[tuple[float, str, str]]:
        seen, result = set(), []
        for ms, label, sql in sorted((q for p in pages for q in p.slowest), reverse=True):
            if sql not in seen:
                seen.add(sql)
                result.append((ms, label, sql))
        return result[: SLOWEST_SHOWN * 2]

    def explain(self, pages: list[Page]) -> None:
        if connection.vendor != "postgresql":
            self.stderr.write("EXPLAIN ANALYZE is shown on PostgreSQL only.")
            return
        for ms, label, sql in self.slowest(pages):
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                # The captured SQL has its parameters inlined (client-side binding): no params here.
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
            self.stdout.write(f"\n-- {ms:.1f} ms when captured [{label}]\n{collapse(sql)}\n{plan}")


def collapse(sql: str) -> str:
    """The SQL with long column lists written as "…", so the part that matters can be read."""
    return COLUMN_RUN.sub("…", " ".join(sql.split()))


def shorten(sql: str, width: int = 200) -> str:
    sql = collapse(sql)
    return sql if len(sql) <= width else sql[: width - 1] + "…"


COLUMN_RUN = re.compile(r'(?:"\w+"\."\w+"(?: AS "\w+")?, ){4,}"\w+"\."\w+"(?: AS "\w+")?')
