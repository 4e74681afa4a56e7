"""Uploaded files nothing needs any more, found and removed.

An initiative's image or attachment that is replaced or removed is not deleted at once:
the edit history can restore an earlier version of the initiative, with its image and
attachments, so a file stays while a kept history version names it. The history is
pruned after settings.HISTORY_KEEP_DAYS (`initiatives.tasks.prune_history`); a file that
then neither a row nor a kept version names is an orphan, and `remove_orphaned_files`
(run by the daily `prune_history` job after it prunes, or `manage.py orphaned_files
--delete`) removes it.

Only the upload folders below are ever listed or touched, never anything else in
MEDIA_ROOT; and only files older than MIN_AGE, so an upload whose row is still being
committed is never taken for an orphan.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.files.storage import Storage
from django.db.models import FileField
from django.utils import timezone

from initiatives.models import Attachment, Initiative

# Upload folder -> the file field whose upload_to writes there (attachment_path, image_path).
UPLOAD_FIELDS: dict[str, FileField] = {
    "images": Initiative._meta.get_field("image"),
    "attachments": Attachment._meta.get_field("file"),
}
MIN_AGE = timedelta(hours=1)


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    modified: datetime


def files_in_use() -> set[str]:
    """The storage names a row names, plus those the kept edit history names."""
    names: set[str] = set()
    for field in UPLOAD_FIELDS.values():
        names.update(
            field.model._default_manager.exclude(**{field.name: ""}).values_list(
                field.name, flat=True
            )
        )
    return names | history_files()


def history_files() -> set[str]:
    """The storage names the kept history versions name (initiatives.history). A failure
    to read them propagates: a file is never removed on a guess."""
    # Imported here: the history module is the bigger one and may come to need this one.
    from initiatives import history

    return set(history.referenced_files())


def stored_files() -> Iterator[tuple[Storage, StoredFile]]:
    """Every file in the upload folders, with the storage it is in."""
    for folder, field in UPLOAD_FIELDS.items():
        yield from _walk(field.storage, folder)


def _walk(storage: Storage, folder: str) -> Iterator[tuple[Storage, StoredFile]]:
    if not storage.exists(folder):
        return
    directories, files = storage.listdir(folder)
    for name in sorted(files):
        path = f"{folder}/{name}"
        yield storage, StoredFile(path, storage.size(path), storage.get_modified_time(path))
    for directory in sorted(directories):
        path = f"{folder}/{directory}"
        # A linked folder leads outside the upload folder: never walked, never emptied.
        if not _is_link(storage, path):
            yield from _walk(storage, path)


def _is_link(storage: Storage, name: str) -> bool:
    try:
        return os.path.islink(storage.path(name))
    except NotImplementedError:  # object storage has no links
        return False


def unreferenced_files() -> list[tuple[Storage, StoredFile]]:
    """Files in the upload folders that no row and no kept history version names."""
    in_use = files_in_use()
    return [(storage, file) for storage, file in stored_files() if file.name not in in_use]


def old_enough(file: StoredFile, now: datetime | None = None) -> bool:
    """Whether `file` is older than MIN_AGE, so no upload still being saved can be it."""
    return file.modified < (now or timezone.now()) - MIN_AGE


def orphaned_files(now: datetime | None = None) -> list[tuple[Storage, StoredFile]]:
    """The unreferenced files older than MIN_AGE: those that may be removed."""
    return [(storage, file) for storage, file in unreferenced_files() if old_enough(file, now)]


def remove_orphaned_files(now: datetime | None = None) -> list[StoredFile]:
    """Delete the orphaned files; the ones deleted."""
    orphans = orphaned_files(now)
    if not orphans:
        return []
    # Read again just before deleting: a restore of an old version that committed
    # since the list was made names its files again.
    in_use = files_in_use()
    removed = []
    for storage, file in orphans:
        if file.name not in in_use:
            storage.delete(file.name)
            removed.append(file)
    return removed
