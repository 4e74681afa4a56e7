"""Time the CSV and XLSX exports over HTTP, through gunicorn, and watch the memory of the
worker that serves them.

The server is crowd_benchmark's (its Server: production settings, gunicorn.conf.py, the
same DATABASE_URL), with one worker, so that the worker serving each download is known.
For each export URL the command measures the time to the first byte of the body, the
total time and the bytes, while a thread reads the worker's resident memory (VmRSS in
/proc/<pid>/status) every POLL_SECONDS; the worker's peak (VmHWM) is read after each
download. Target (issue 13): the full CSV export of 100 000 initiatives streams in at
most MEMORY_TARGET_MB.

    DATABASE_URL=postgres://…/ideabank_bench manage.py export_benchmark
"""

import http.client
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from initiatives.exports import EXPORTS_PER_IP
from initiatives.management.commands.crowd_benchmark import (
    Server,
    free_port,
    parent_of,
    process_ids,
)
from initiatives.models import Initiative, Purpose

MEMORY_TARGET_MB = 150.0
POLL_SECONDS = 0.05
READ_BYTES = 64 * 1024
HTTP_TIMEOUT = 900.0


def status_mb(pid: int, field: str) -> float:
    """A memory line of /proc/<pid>/status (VmRSS, VmHWM) in MB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Download:
    url: str
    status: int
    first_byte_s: float
    total_s: float
    bytes: int
    rss_before_mb: float
    rss_peak_mb: float  # the highest VmRSS seen while it was served
    hwm_after_mb: float  # the worker's VmHWM afterwards (its peak since it started)


def download(port: int, url: str, worker: int) -> Download:
    before = status_mb(worker, "VmRSS")
    peak = [before]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], status_mb(worker, "VmRSS"))
            time.sleep(POLL_SECONDS)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    started = time.perf_counter()
    try:
        client.request("GET", url, headers={"Accept-Language": "nb"})
        response = client.getresponse()
        first = response.read(1)
        first_byte = time.perf_counter() - started
        size = len(first)
        while chunk := response.read(READ_BYTES):
            size += len(chunk)
        total = time.perf_counter() - started
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        raise CommandError(f"{url}: {error}") from error
    finally:
        client.close()
        done.set()
        watcher.join()
    return Download(
        url, status, first_byte, total, size, before, peak[0], status_mb(worker, "VmHWM")
    )


def export_urls(full_xlsx: bool) -> list[str]:
    """The whole bank, and a few list states of different sizes and orders."""
    purpose = Purpose.objects.order_by("position", "pk").values_list("slug", flat=True).first()
    urls = [
        "/tiltak/eksport.csv",
        "/tiltak/eksport.csv?goal=12",
        "/tiltak/eksport.csv?q=barnehage",
        "/tiltak/eksport.csv?goal=13&sort=title",
        f"/tiltak/eksport.csv?purpose={purpose}&phase=pilot&sort=adopted",
        "/en/tiltak/eksport.csv?goal=4&goal=12",
        "/tiltak/eksport.xlsx?goal=12&phase=running",
    ]
    if full_xlsx:
        urls.append("/tiltak/eksport.xlsx")
    return urls


class Command(BaseCommand):
    help = (
        "Start gunicorn (production settings, one worker) and download the CSV and XLSX "
        "exports: time to first byte, total time, size and the serving worker's memory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=0, help="Port on 127.0.0.1 (default: a free one).")  # fmt: skip
        parser.add_argument("--full-xlsx", action="store_true", help="Download the whole bank as XLSX too.")  # fmt: skip
        parser.add_argument("--timeout", type=int, default=0, help="gunicorn's worker timeout in seconds (default: gunicorn.conf.py's).")  # fmt: skip
        parser.add_argument("--check", action="store_true", help="Exit with an error when the memory target is missed.")  # fmt: skip

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            self.stderr.write("Not PostgreSQL: set DATABASE_URL for numbers that mean something.")
        published = Initiative.objects.published().count()
        urls = export_urls(options["full_xlsx"])
        folder = Path(tempfile.mkdtemp(prefix="export-benchmark-"))
        server = Server(options["port"] or free_port(), 1, folder)
        if options["timeout"]:
            server.environment["GUNICORN_TIMEOUT"] = str(options["timeout"])
        self.stdout.write(f"{published} published initiatives. Server: {' '.join(server.command)}")
        results = []
        try:
            server.start()
            [worker] = [pid for pid in process_ids() if parent_of(pid) == server.process.pid]
            # The worker builds its facet engine on its first list request, as after a deploy.
            warm = download(server.port, "/tiltak/", worker)
            self.stdout.write(
                f"Warm-up /tiltak/: {warm.total_s:.1f} s; worker {worker} now "
                f"{status_mb(worker, 'VmRSS'):.0f} MB (peak so far {warm.hwm_after_mb:.0f} MB)."
            )
            self.stdout.write(
                f"\n{'URL':<58} {'status':>6} {'TTFB s':>7} {'total s':>8} {'MB':>7} "
                f"{'RSS before':>10} {'RSS peak':>9} {'VmHWM':>6}"
            )
            for url in urls:
                # The downloads all come from 127.0.0.1: with a shared cache (REDIS_URL) a
                # few runs an hour would use up the address's exports (EXPORTS_PER_IP).
                EXPORTS_PER_IP.clear("127.0.0.1")
                result = download(server.port, url, worker)
                results.append(result)
                self.stdout.write(
                    f"{url:<58} {result.status:>6} {result.first_byte_s:>7.2f} "
                    f"{result.total_s:>8.2f} {result.bytes / 1e6:>7.1f} "
                    f"{result.rss_before_mb:>10.0f} {result.rss_peak_mb:>9.0f} "
                    f"{result.hwm_after_mb:>6.0f}"
                )
                if status_mb(worker, "VmRSS") == 0:
                    raise CommandError(f"The worker stopped during {url}:\n{server.log_tail()}")
        finally:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)
        full = results[0]
        passed = full.status == 200 and full.rss_peak_mb <= MEMORY_TARGET_MB
        self.stdout.write(
            f"\nFull CSV export: {full.bytes / 1e6:.1f} MB in {full.total_s:.1f} s "
            f"({published / full.total_s:.0f} initiatives/s), first byte after "
            f"{full.first_byte_s:.2f} s; worker memory at most {full.rss_peak_mb:.0f} MB "
            f"(target ≤ {MEMORY_TARGET_MB:.0f} MB): {'PASS' if passed else 'FAIL'}"
        )
        if options["check"] and not passed:
            raise CommandError("The full CSV export missed its memory target.")
