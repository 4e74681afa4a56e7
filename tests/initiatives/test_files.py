"""Removed and replaced uploads: kept while the history can restore them, then removed."""

import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from reversion.models import Revision, Version

from initiatives import files, history
from initiatives.models import Initiative
from initiatives.tasks import prune_history, remove_orphaned_files
from tests.factories import make_attachment, make_initiative

pytestmark = pytest.mark.django_db


def media(name: str) -> Path:
    return Path(default_storage.path(name))


def write(name: str, content: bytes = b"old bytes", *, hours_old: float = 2) -> str:
    """A file at `name` under MEDIA_ROOT, last modified `hours_old` hours ago."""
    path = media(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    age(name, hours_old)
    return name


def age(name: str, hours_old: float = 2) -> None:
    then = time.time() - hours_old * 3600
    os.utime(media(name), (then, then))


def exists(name: str) -> bool:
    return media(name).is_file()


def edit(initiative, change) -> None:
    """One recorded edit, as the forms and the admin make them."""
    with history.change(initiative, by=None, comment=history.EDITED):
        change()


def history_older_than_kept(settings) -> None:
    Revision.objects.update(
        date_created=timezone.now() - timedelta(days=settings.HISTORY_KEEP_DAYS + 1)
    )


@pytest.fixture
def replaced_image():
    """An initiative whose image was replaced in a recorded edit: (old name, new name)."""
    initiative = make_initiative()
    edit(initiative, lambda: initiative.image.save("first.png", ContentFile(b"first image")))
    first = initiative.image.name
    edit(initiative, lambda: initiative.image.save("second.png", ContentFile(b"second image")))
    second = initiative.image.name
    age(first)
    age(second)
    return first, second


@pytest.fixture
def removed_attachment():
    """An initiative whose attachment was removed in a recorded edit: (initiative, name)."""
    initiative = make_initiative()
    holder = {}
    edit(
        initiative,
        lambda: holder.update(
            attachment=make_attachment(
                initiative=initiative, file=ContentFile(b"%PDF-1.7 report", name="report.pdf")
            )
        ),
    )
    name = holder["attachment"].file.name
    # Edited once more while the attachment was there: its newest version is in a revision
    # of its own, which pruning must not keep for ever (reversion's `deleterevisions
    # --keep 1` would).
    initiative.title = "Edited with the attachment"
    edit(initiative, initiative.save)
    edit(initiative, holder["attachment"].delete)
    age(name)
    return initiative, name


def test_replaced_image_stays_while_a_version_names_it_then_goes_after_pruning(
    replaced_image, settings
):
    first, second = replaced_image

    kept = remove_orphaned_files.call()
    stayed = exists(first)
    history_older_than_kept(settings)
    pruned = prune_history.call()

    assert kept == {"files": 0, "bytes": 0}
    assert stayed
    assert pruned["files"] == 1
    assert pruned["bytes"] == len(b"first image")
    assert not exists(first)
    assert exists(second)


def test_removed_attachment_stays_while_a_version_names_it_then_goes_after_pruning(
    removed_attachment, settings
):
    initiative, name = removed_attachment

    kept = remove_orphaned_files.call()
    stayed = exists(name)
    history_older_than_kept(settings)
    pruned = prune_history.call()

    assert kept == {"files": 0, "bytes": 0}
    assert stayed
    assert pruned["files"] == 1
    assert not exists(name)
    assert initiative.attachments.count() == 0


def test_prune_history_keeps_the_newest_version_of_every_existing_object(replaced_image, settings):
    history_older_than_kept(settings)
    (initiative_id,) = (
        Version.objects.get_for_model(Initiative)
        .order_by()
        .values_list("object_id", flat=True)
        .distinct()
    )
    newest = Version.objects.get_for_object_reference(Initiative, initiative_id).first()

    result = prune_history.call()

    assert result["revisions"] >= 1
    assert list(Version.objects.get_for_object_reference(Initiative, initiative_id)) == [newest]
    assert files.files_in_use() == {replaced_image[1]}


def test_prune_history_keeps_history_younger_than_the_limit(replaced_image):
    revisions = Revision.objects.count()

    result = prune_history.call()

    assert result == {"revisions": 0, "files": 0, "bytes": 0}
    assert Revision.objects.count() == revisions
    assert exists(replaced_image[0])


def test_a_file_no_row_and_no_version_names_is_removed():
    initiative = make_initiative()
    initiative.image.save("first.png", ContentFile(b"first image"))
    first = initiative.image.name
    initiative.image.save("second.png", ContentFile(b"second image"))
    age(first)

    result = remove_orphaned_files.call()

    assert result == {"files": 1, "bytes": len(b"first image")}
    assert not exists(first)
    assert exists(initiative.image.name)


def test_a_fresh_upload_is_never_removed():
    # Written a moment ago, its row not committed yet: nothing names it.
    fresh = write("attachments/just-uploaded.pdf", hours_old=0)
    almost = write("images/almost-an-hour.png", hours_old=0.9)

    result = remove_orphaned_files.call()
    out = io.StringIO()
    call_command("orphaned_files", "--delete", stdout=out)

    assert result == {"files": 0, "bytes": 0}
    assert exists(fresh)
    assert exists(almost)
    assert "Deleted 0 orphaned files, 0 bytes." in out.getvalue()
    assert "2 unreferenced files are less than an hour old and are left alone" in out.getvalue()


def test_nothing_outside_the_upload_folders_is_touched(tmp_path):
    outside = [
        write("stray.png"),
        write("exports/old.csv"),
        write("backups/20260101T000000Z/media.tar"),
        write("imagesX/old.png"),
    ]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.pdf").write_bytes(b"not ours")
    media("attachments").mkdir(parents=True, exist_ok=True)
    media("attachments/linked").symlink_to(elsewhere, target_is_directory=True)
    orphan = write("attachments/orphan.pdf")

    listed = [file.name for _storage, file in files.orphaned_files()]
    result = remove_orphaned_files.call()

    assert listed == [orphan]
    assert result["files"] == 1
    assert all(exists(name) for name in outside)
    assert (elsewhere / "precious.pdf").is_file()


def test_orphaned_files_command_reports_without_deleting():
    initiative = make_initiative()
    initiative.image.save("kept.png", ContentFile(b"kept"))
    orphans = [write("images/old.png", b"12345"), write("attachments/sub/old.pdf", b"123")]
    out = io.StringIO()

    call_command("orphaned_files", stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split("  ")[:2] for line in lines] == [
        ["images/old.png", "5 bytes"],
        ["attachments/sub/old.pdf", "3 bytes"],
        ["2 orphaned files, 8 bytes. Delete them with --delete."],
    ]
    assert all(exists(name) for name in orphans)
    assert exists(initiative.image.name)


def test_orphaned_files_command_deletes_with_delete():
    initiative = make_initiative()
    initiative.image.save("kept.png", ContentFile(b"kept"))
    attachment = make_attachment(initiative=initiative, file=ContentFile(b"pdf", name="a.pdf"))
    age(initiative.image.name)
    age(attachment.file.name)
    orphans = [write("images/old.png", b"12345"), write("attachments/old.pdf", b"123")]
    out = io.StringIO()

    call_command("orphaned_files", "--delete", stdout=out)

    assert sorted(out.getvalue().splitlines()) == sorted(
        [
            "deleted  images/old.png  5 bytes",
            "deleted  attachments/old.pdf  3 bytes",
            "Deleted 2 orphaned files, 8 bytes.",
        ]
    )
    assert not any(exists(name) for name in orphans)
    assert exists(initiative.image.name)
    assert exists(attachment.file.name)
