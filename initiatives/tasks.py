"""Tasks of the initiatives app the worker runs (`manage.py worker`)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import CharField, Max
from django.db.models.functions import Cast
from django.utils import timezone
from django_tasks import task
from reversion.models import Revision, Version

from initiatives import files, freshness, statistics

logger = logging.getLogger(__name__)

PRUNE_BATCH = 500


@task()
def remove_orphaned_files() -> dict[str, int]:
    """Delete the uploaded files no row and no kept history version names (initiatives/files.py)."""
    removed = files.remove_orphaned_files()
    size = sum(file.size for file in removed)
    for file in removed:
        logger.info("Deleted orphaned file %s (%d bytes)", file.name, file.size)
    return {"files": len(removed), "bytes": size}


@task()
def warm_statistics() -> int:
    """Count the statistics page's figures for the current catalogue (initiatives.statistics)."""
    return statistics.warm()


@task()
def prune_history() -> dict[str, int]:
    """Delete edit history older than settings.HISTORY_KEEP_DAYS, then the files only it named.

    The newest version of every object that still exists is kept, however old, so every
    object keeps a version to compare the next edit with. An object that no longer exists
    (a removed attachment) keeps none past the limit: its last version would otherwise
    keep its file forever. Whole revisions are deleted, so a kept revision keeps every
    version in it.
    """
    revisions = prune_revisions(settings.HISTORY_KEEP_DAYS)
    removed = remove_orphaned_files.call()
    logger.info(
        "Pruned %d history revisions older than %d days", revisions, settings.HISTORY_KEEP_DAYS
    )
    return {"revisions": revisions, **removed}


def prune_revisions(days: int) -> int:
    """Delete django-reversion revisions older than `days` except those holding the newest
    version of an object that still exists; the number of revisions deleted.

    Not reversion's `deleterevisions --keep 1`: that keeps the newest version of deleted
    objects too, and with it their files, for ever.
    """
    with transaction.atomic():
        keep: set[int] = set()
        for content_type_id in (
            Version.objects.order_by().values_list("content_type", flat=True).distinct()
        ):
            model = ContentType.objects.get_for_id(content_type_id).model_class()
            if model is None:  # a model since removed from the code: nothing of it exists
                continue
            live = model._default_manager.annotate(
                _version_object_id=Cast("pk", CharField())
            ).values("_version_object_id")
            newest = (
                Version.objects.filter(content_type_id=content_type_id, object_id__in=live)
                .order_by()
                .values("object_id")
                .annotate(newest=Max("pk"))
                .values("newest")
            )
            keep.update(Version.objects.filter(pk__in=newest).values_list("revision_id", flat=True))
        cutoff = timezone.now() - timedelta(days=days)
        old = Revision.objects.filter(date_created__lt=cutoff).values_list("pk", flat=True)
        stale = sorted(set(old) - keep)
        # In batches: a database takes only so many parameters in one query.
        for start in range(0, len(stale), PRUNE_BATCH):
            Revision.objects.filter(pk__in=stale[start : start + PRUNE_BATCH]).delete()
    return len(stale)


@task()
def send_freshness_reminders() -> dict[str, int]:
    """Remind the owners of initiatives not updated for 12, then 18 months (initiatives/freshness.py)."""
    return freshness.send_reminders()
