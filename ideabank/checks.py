"""System checks of our own, shown by `manage.py check --deploy`."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.caches, deploy=True)
def shared_cache(app_configs, **kwargs) -> list[Warning]:
    """Production runs several processes: rate-limit counters and cached searches must be
    shared, or each process counts log-in attempts on its own."""
    backend = settings.CACHES["default"]["BACKEND"]
    if settings.DEBUG or backend not in PER_PROCESS_CACHES:
        return []
    return [
        Warning(
            "No shared cache is configured: each process keeps its own.",
            hint="Set REDIS_URL (for example redis://127.0.0.1:6379/0) so that every "
            "gunicorn worker shares rate limits and cached text searches.",
            id="ideabank.W001",
        )
    ]
