"""Settings for Idébanken, read from the environment.

Every environment (a laptop, CI, production) differs only by environment
variables; the README lists them all. With nothing set, the defaults give a
local development site on SQLite.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state (the SQLite file, uploads, collected static files) lives under var/.
(BASE_DIR / "var").mkdir(exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off, Idébanken refuses to start without a "
            "secret key: set the SECRET_KEY environment variable to a long random string "
            '(python3 -c "import secrets; print(secrets.token_urlsafe(50))").'
        )
    SECRET_KEY = "django-insecure-local-development-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_NAME = os.environ.get("SITE_NAME", "Idébanken")
# The public address, for links in e-mails.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # Django
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.postgres",
    "django.contrib.sitemaps",  # sitemap.xml (ideabank/sitemaps.py)
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Third party
    "django_filters",
    "taggit",
    "csp",
    # Edit history of initiatives: revisions with diffs and restore (docs/edit-history.md).
    "reversion",
    # The task queue (Django 6's task framework, backported): e-mail and periodic jobs.
    "django_tasks",
    "ideabank.apps.TaskQueueConfig",  # django_tasks_db, named in Bokmål in the admin
    # Ours
    "ideabank",
    "initiatives",
    "networks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # 413 for a Content-Length above MAX_REQUEST_BYTES, before anything reads the body.
    "ideabank.request_limits.RequestSizeLimitMiddleware",
    # Compresses HTML (WhiteNoise compresses static files itself); Django's GZipMiddleware
    # pads each response at random, its mitigation of BREACH.
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # 400 for a NUL byte in the path or a query or form field, which PostgreSQL cannot store
    # (after CSP, so the 400 page carries the policy; before anything reads the form).
    "ideabank.clean_input.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The crowd benchmark serves the project's URLs plus its floor page and naive baseline.
ROOT_URLCONF = os.environ.get("IDEABANK_ROOT_URLCONF", "ideabank.urls")
WSGI_APPLICATION = "ideabank.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ideabank.context_processors.site",
            ],
        },
    },
]

# Database: SQLite under var/ by default, anything dj-database-url reads otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'ideabank.sqlite3'}"),
        # A new PostgreSQL backend per request costs more than many a page's queries.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0 if DEBUG else 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task worker share the file: readers do not wait for a writer
    # (WAL), and a writer takes its lock when its transaction begins instead of failing
    # half-way ("database is locked"), waiting up to 20 s for the other.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Page queries are short; JIT compiling them costs more than it saves.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# How often each process's facet engine reads the catalogue's change log (seconds); a
# change made by the process itself is read at once. See initiatives/engine.py.
ENGINE_POLL_SECONDS = float(os.environ.get("ENGINE_POLL_SECONDS", "0.5"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Language: Norwegian Bokmål first (no URL prefix), English under /en/.
LANGUAGE_CODE = "nb"
LANGUAGES = [("nb", _("Norwegian Bokmål")), ("en", _("English"))]
# locale_overrides: what Django's and django-taggit's own nb catalogues lack or get wrong,
# kept apart so makemessages --no-obsolete (which writes to locale/) never drops it.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_overrides"]
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True

# Static files: WhiteNoise serves them; outside DEBUG with hashed names, which
# WhiteNoise then serves with a far-future, immutable cache lifetime.
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
# Uploads up to 2.5 MB stay in memory, larger ones go to a temporary file; the form's
# other fields together may take 2.5 MB (Django's defaults, stated here on purpose).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# The largest body a request may send (ideabank/request_limits.py answers 413 above it,
# before reading anything): the initiative form's image and one new document, each at
# most initiatives.uploads.MAX_UPLOAD_BYTES (10 MB), plus 5 MB for the form's text
# (DATA_UPLOAD_MAX_MEMORY_SIZE) and the multipart framing. 25 MB.
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", 2 * 10 * 1024 * 1024 + 5 * 1024 * 1024)
# Where `manage.py backup` (make backup) writes a folder per backup; keep copies off this machine.
BACKUP_DIR = Path(os.environ.get("BACKUP_DIR", BASE_DIR / "var" / "backups"))
# Edit history older than this many days is pruned (the newest version of every existing
# object is always kept); only then can the files those versions name be deleted
# (initiatives/files.py).
HISTORY_KEEP_DAYS = env_int("HISTORY_KEEP_DAYS", 365)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# E-mail: printed to the console unless an SMTP server is configured.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Idébanken <ikke-svar@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
# A mail the server refused is tried again after each of these waits (seconds), then it is
# marked failed for an administrator to see (admin: Outgoing mail). About a day in all.
MAIL_RETRY_DELAYS = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600]
# How long a worker may take to hand one mail to the server before another worker may try.
MAIL_CLAIM_SECONDS = 300
# The outbox keeps a sent mail this many days (to answer "did it go?"), a failed one longer.
MAIL_KEEP_DAYS = env_int("MAIL_KEEP_DAYS", 30)
FAILED_MAIL_KEEP_DAYS = 90

# The task queue: work that may fail or take long runs outside the request, in
# `manage.py worker` (docs/task-queue.md). The queue is a table in our own database.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Jobs the worker enqueues on a schedule: task path -> seconds between runs.
PERIODIC_TASKS = {
    "ideabank.tasks.retry_waiting_mail": 5 * 60,
    "ideabank.tasks.prune_finished_tasks": 24 * 3600,
    "ideabank.tasks.forget_old_mail": 24 * 3600,
    # Edit history older than HISTORY_KEEP_DAYS, then the files no one needs any more.
    "initiatives.tasks.prune_history": 24 * 3600,
    # Personal data past its time (ideabank/personal_data.py): the two periods below.
    "ideabank.tasks.anonymise_old_registrations": 24 * 3600,
    "ideabank.tasks.delete_unconfirmed_accounts": 24 * 3600,
    # Reminders to the owners of initiatives not updated for FRESHNESS_REMINDER_MONTHS.
    "initiatives.tasks.send_freshness_reminders": 24 * 3600,
    # Follow mails (ideabank/notices.py): instant ones, and the weekly digests of those
    # whose week is up (checked daily).
    "ideabank.tasks.send_instant_notices": 5 * 60,
    "ideabank.tasks.send_weekly_digests": 24 * 3600,
}
# Freshness (initiatives.freshness): owners are reminded when their initiative has had no
# edit, progress report or "still current" for each of these many calendar months (once
# per threshold per update); after FRESHNESS_STALE_MONTHS it is marked "not updated since"
# on its page and in lists. The "still current" link in a reminder works this many days.
FRESHNESS_REMINDER_MONTHS = tuple(
    int(months) for months in env_list("FRESHNESS_REMINDER_MONTHS", "12,18")
)
FRESHNESS_STALE_MONTHS = env_int("FRESHNESS_STALE_MONTHS", 18)
FRESHNESS_LINK_DAYS = env_int("FRESHNESS_LINK_DAYS", 60)
# Event registrations keep the registrant's name and address this many months after the
# event ends, then are anonymised (the rows stay, for counting).
REGISTRATION_KEEP_MONTHS = env_int("REGISTRATION_KEEP_MONTHS", 12)
# An account whose address is not confirmed within this many days is deleted.
UNCONFIRMED_ACCOUNT_KEEP_DAYS = env_int("UNCONFIRMED_ACCOUNT_KEEP_DAYS", 30)
# Finished task records (not mails) are kept this long for troubleshooting.
TASK_RESULTS_KEEP_DAYS = 14

# Requests per minute each client address may make to the JSON API (/api/v1/), then 429.
API_REQUESTS_PER_MINUTE = env_int("API_REQUESTS_PER_MINUTE", 600)

# Where visitors write about the site: named in the accessibility statement and privacy page.
CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL", "kontakt@example.org")

# Open data: who publishes the data set in the national data catalogue (data.norge.no) and
# under which licence (ideabank/open_data.py, the DCAT-AP-NO description at /data/katalog).
DATA_PUBLISHER_NAME = os.environ.get("DATA_PUBLISHER_NAME", SITE_NAME)
# The publisher's organisation number in the Central Coordinating Register (Enhetsregisteret).
# Empty: the description names the publisher without one; set it before registering.
DATA_PUBLISHER_ORGANISATION_NUMBER = os.environ.get(
    "DATA_PUBLISHER_ORGANISATION_NUMBER", ""
).strip()
if DATA_PUBLISHER_ORGANISATION_NUMBER and not (
    len(DATA_PUBLISHER_ORGANISATION_NUMBER) == 9 and DATA_PUBLISHER_ORGANISATION_NUMBER.isdigit()
):
    raise ImproperlyConfigured(
        "DATA_PUBLISHER_ORGANISATION_NUMBER must be nine digits (an organisation number "
        f"from Enhetsregisteret), not {DATA_PUBLISHER_ORGANISATION_NUMBER!r}."
    )
DATA_CONTACT_EMAIL = os.environ.get("DATA_CONTACT_EMAIL", CONTACT_EMAIL)
# A code of the EU licence vocabulary (CC_BY_4_0, CC0, NLOD_2_0, ...): the data's licence.
DATA_LICENCE = os.environ.get("DATA_LICENCE", "CC_BY_4_0")

# Cache: facet counts and the catalogue version live here. Every process must see the
# same cache, so production with more than one process sets REDIS_URL.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "initiatives:my_page"
LOGOUT_REDIRECT_URL = "home"

# Security headers. Cookies and HSTS only make sense over HTTPS, so they follow DEBUG.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    # Behind a proxy that terminates TLS and sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy: everything from our own host, no inline scripts.
# Styles stay 'self' too: no page, the admin included, needs inline styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
