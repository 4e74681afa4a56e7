"""Production settings, checked in a fresh process: settings are read once, at start-up."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import redis
from django.conf import settings

from tests.system import skip_unless_required

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-secret-key-for-the-settings-tests-0123456789",
    "ALLOWED_HOSTS": "idebanken.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://idebanken.example.org",
    "DATABASE_URL": "sqlite:///:memory:",
}
# The Redis the shared-cache test talks to (CI starts one there).
REDIS_URL = os.environ.get("IDEABANK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def run_django(code_or_args: list[str], **env_overrides: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV}
    env.update({"DJANGO_SETTINGS_MODULE": "ideabank.settings", **env_overrides})
    return subprocess.run(
        [sys.executable, *code_or_args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_refuses_to_start_without_secret_key_when_debug_off():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}

    result = run_django(["manage.py", "check"], **env)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_reports_no_issue():
    # The check reads the setting; it does not connect to Redis.
    shared_cache = {**PRODUCTION_ENV, "REDIS_URL": REDIS_URL}
    result = run_django(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **shared_cache
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_without_a_shared_cache():
    result = run_django(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION_ENV
    )

    assert result.returncode != 0
    assert "ideabank.W001" in result.stderr
    assert "REDIS_URL" in result.stderr


def test_production_response_headers():
    script = textwrap.dedent(
        """
        import json, django
        django.setup()
        from django.conf import settings
        from django.test import Client
        # The 404 page links hashed static files, which need collectstatic's manifest.
        settings.STORAGES = {**settings.STORAGES, "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
        response = Client().get("/no-such-page/", secure=True, HTTP_HOST="idebanken.example.org")
        print(json.dumps({"status": response.status_code, **dict(response.headers)}))
        """
    )

    result = run_django(["-c", script], **PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    headers = json.loads(result.stdout.strip().splitlines()[-1])
    assert headers["status"] == 404
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    csp = dict(
        directive.strip().split(" ", 1)
        for directive in headers["Content-Security-Policy"].split(";")
    )
    assert csp["script-src"] == "'self'"
    assert csp["default-src"] == "'self'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]


def test_production_redirects_plain_http_and_secures_cookies():
    script = textwrap.dedent(
        """
        import json, django
        django.setup()
        from django.conf import settings
        from django.test import Client
        response = Client().get("/", HTTP_HOST="idebanken.example.org")
        print(json.dumps({
            "status": response.status_code,
            "location": response.headers.get("Location"),
            "session_secure": settings.SESSION_COOKIE_SECURE,
            "csrf_secure": settings.CSRF_COOKIE_SECURE,
            "static": settings.STORAGES["staticfiles"]["BACKEND"],
        }))
        """
    )

    result = run_django(["-c", script], **PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "status": 301,
        "location": "https://idebanken.example.org/",
        "session_secure": True,
        "csrf_secure": True,
        "static": "whitenoise.storage.CompressedManifestStaticFilesStorage",
    }


@pytest.mark.django_db
def test_pages_carry_strict_csp(client):
    response = client.get("/")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


@pytest.fixture
def redis_server() -> str:
    """The URL of a Redis that answers; without one the test skips (IDEABANK_REQUIRE_REDIS=1: fails)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as error:
        skip_unless_required(f"No Redis answers at {REDIS_URL} ({error})", "IDEABANK_REQUIRE_REDIS")
    return REDIS_URL


def test_redis_url_gives_processes_one_shared_cache(redis_server):
    key = f"ideabank-settings-test-{os.getpid()}"
    write = f"import django; django.setup(); from django.core.cache import cache; cache.set({key!r}, 'shared', 60)"
    read = f"import django; django.setup(); from django.core.cache import cache; print(cache.get({key!r}))"
    shared_cache = {**PRODUCTION_ENV, "REDIS_URL": redis_server}

    written = run_django(["-c", write], **shared_cache)
    shared = run_django(["-c", read], **shared_cache)
    run_django(["-c", write], **PRODUCTION_ENV)
    local = run_django(["-c", read], **PRODUCTION_ENV)

    assert written.returncode == 0, written.stderr
    assert shared.stdout.strip() == "shared"
    # Without REDIS_URL each process has its own memory cache.
    assert local.stdout.strip() == "None"
