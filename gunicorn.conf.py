"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py ideabank.wsgi`.

Every value can be changed by an environment variable of the same name in capitals
with GUNICORN_ in front (GUNICORN_WORKERS=4), or on the command line.
"""

import os


def _env(name: str, default):
    return type(default)(os.environ.get(f"GUNICORN_{name.upper()}", default))


bind = _env("bind", "127.0.0.1:8000")
# Two processes per core: pages spend part of their time waiting for PostgreSQL.
workers = _env("workers", 2 * (os.cpu_count() or 1))
# Synchronous workers, one request at a time each: the facet engine is per process and
# needs no locking between threads.
worker_class = "sync"
threads = 1
# The arbiter kills a sync worker that has spent longer than `timeout` seconds on one
# request, even one that is still streaming its answer. A page takes milliseconds, but a
# CSV or XLSX export of the whole bank (initiatives/exports.py) takes up to a minute:
# 100 000 initiatives ~12 s as CSV and ~50 s as XLSX on the 2-core test machine
# (`manage.py export_benchmark`). 180 s is over three times the slowest; a request still
# running after that is stuck. Exports per client address are limited
# (initiatives.exports.EXPORTS_PER_IP), so one address cannot keep workers busy with them.
timeout = _env("timeout", 180)
graceful_timeout = _env("graceful_timeout", 30)
keepalive = _env("keepalive", 5)
# Restart each worker now and then (staggered) so no leak can grow without bound.
max_requests = _env("max_requests", 5000)
max_requests_jitter = _env("max_requests_jitter", 500)
# The list's URLs carry filters; nothing legitimate needs more than this.
limit_request_line = _env("limit_request_line", 8190)
limit_request_fields = _env("limit_request_fields", 100)
limit_request_field_size = _env("limit_request_field_size", 8190)
# gunicorn has no limit on the body: the proxy in front caps it (nginx
# `client_max_body_size 25m`, README: Production notes), and Django answers 413 to a
# Content-Length above MAX_REQUEST_BYTES before reading (ideabank/request_limits.py).
# Load Django and build the facet engine once in the master; workers share those pages
# of memory (copy-on-write) and start answering at once.
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"


def when_ready(server) -> None:
    from django.db import connections

    from initiatives.engine import engine

    try:
        engine()
    finally:
        # Each worker opens its own connections: none may be shared across the fork.
        connections.close_all()


def post_worker_init(worker) -> None:
    # Catch up with what changed since the master built the engine, before the first request.
    from initiatives.engine import engine

    engine()
