"""`manage.py backup` and `restore`: backup, restore into a fresh database, find everything.

The backup runs in the test process (it reads the test database, which only a real
commit makes visible to pg_dump: these tests are transactional); the restore runs as an
operator would, in a new process pointed at a database and MEDIA_ROOT of its own.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import dj_database_url
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.db.utils import load_backend

from ideabank import backups
from initiatives.models import Initiative
from tests.factories import make_attachment, make_initiative

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def data() -> None:
    """The reference and demo data (a transactional test may start from a flushed
    database), plus an initiative with an image and an attachment on disk."""
    call_command("load_reference_data", verbosity=0)
    call_command("load_demo_data", verbosity=0)
    initiative = make_initiative(title="Matsvinn i barnehagen")
    initiative.image.save("photo.png", ContentFile(b"\x89PNG not really" * 50))
    make_attachment(initiative=initiative, file=ContentFile(b"%PDF-1.7 report", name="r.pdf"))
    nested = Path(settings.MEDIA_ROOT) / "other" / "deep" / "note.txt"
    nested.parent.mkdir(parents=True)
    nested.write_text("not an upload, still backed up")


@pytest.fixture
def fresh_database(tmp_path) -> Iterator[str]:
    """The URL of a database that has never been used: a new SQLite file, or a newly
    created PostgreSQL database (dropped afterwards)."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    params = connection.settings_dict
    name = f"{params['NAME']}_restored_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    credentials = params["USER"] + (f":{params['PASSWORD']}" if params["PASSWORD"] else "")
    yield f"postgres://{credentials}@{params['HOST']}:{params['PORT'] or 5432}/{name}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(
    *args: str, database_url: str, tmp_path: Path, script: str | None = None
) -> subprocess.CompletedProcess:
    """`manage.py *args` in a new process; or, given `script`, `python -c script *args`."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ideabank.settings",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(tmp_path / "restored-media"),
        "BACKUP_DIR": str(tmp_path / "safety"),
    }
    return subprocess.run(
        [sys.executable, *(["-c", script] if script else ["manage.py"]), *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def make_backup(tmp_path: Path) -> Path:
    call_command("backup", output=tmp_path / "backups", verbosity=0)
    (folder,) = (tmp_path / "backups").iterdir()
    return folder


def open_database(url: str):
    """A Django connection of its own to the database at `url` (same driver, same types)."""
    params = {**connection.settings_dict, **dj_database_url.parse(url)}
    # A configured alias: django.contrib.postgres looks type ids up through it.
    return load_backend(params["ENGINE"]).DatabaseWrapper(params, connection.alias)


def contents(db) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    with db.cursor() as cursor:
        tables = [
            table
            for table in db.introspection.table_names(cursor)
            if not table.startswith("sqlite_")
        ]
        rows = {}
        for table in tables:
            cursor.execute(f"SELECT * FROM {db.ops.quote_name(table)}")
            rows[table] = sorted(cursor.fetchall(), key=repr)
    return rows


def files(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file()
    }


def test_backup_restores_into_a_fresh_database_with_every_row_and_file(
    data, fresh_database, tmp_path
):
    folder = make_backup(tmp_path)

    result = manage("restore", str(folder), database_url=fresh_database, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    source = contents(connection)
    restored_db = open_database(fresh_database)
    try:
        restored = contents(restored_db)
    finally:
        restored_db.close()
    assert {table: len(rows) for table, rows in restored.items()} == {
        table: len(rows) for table, rows in source.items()
    }
    assert restored == source
    assert len(source[Initiative._meta.db_table]) > 1
    assert files(tmp_path / "restored-media") == files(Path(settings.MEDIA_ROOT))
    assert len(files(tmp_path / "restored-media")) > 3  # the demo data's files and the fixture's


def test_backup_manifest_names_every_table_count_and_file(data, tmp_path):
    folder = make_backup(tmp_path)

    manifest = json.loads((folder / "manifest.json").read_text())

    assert manifest["vendor"] == connection.vendor
    assert manifest["tables"] == {table: len(rows) for table, rows in contents(connection).items()}
    media = Path(settings.MEDIA_ROOT)
    assert {entry["name"]: entry["sha256"] for entry in manifest["files"]} == files(media)
    assert {entry["name"]: entry["size"] for entry in manifest["files"]} == {
        name: (media / name).stat().st_size for name in files(media)
    }
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        [
            "manifest.json",
            "media.tar",
            "database.dump" if connection.vendor == "postgresql" else "database.sqlite3",
        ]
    )


def test_restore_refuses_a_target_with_data_unless_told_and_backs_it_up_first(
    data, fresh_database, tmp_path
):
    folder = make_backup(tmp_path)
    manage("restore", str(folder), database_url=fresh_database, tmp_path=tmp_path)
    stray = tmp_path / "restored-media" / "added-after-restore.txt"
    stray.write_text("made after the restore")

    refused = manage("restore", str(folder), database_url=fresh_database, tmp_path=tmp_path)
    replaced = manage(
        "restore", str(folder), "--yes", database_url=fresh_database, tmp_path=tmp_path
    )

    assert refused.returncode == 1
    assert "The target is not empty" in refused.stderr
    assert "--yes" in refused.stderr
    assert replaced.returncode == 0, replaced.stderr
    (safety,) = (tmp_path / "safety").iterdir()
    safety_manifest = json.loads((safety / "manifest.json").read_text())
    assert "added-after-restore.txt" in {entry["name"] for entry in safety_manifest["files"]}
    assert not stray.exists()
    assert files(tmp_path / "restored-media") == files(Path(settings.MEDIA_ROOT))
    # Neither the unpacked folder nor the old MEDIA_ROOT is left beside it.
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".restored-media")]


def test_restore_refuses_a_damaged_backup_before_touching_anything(data, fresh_database, tmp_path):
    folder = make_backup(tmp_path)
    tar = folder / "media.tar"
    damaged = bytearray(tar.read_bytes())
    damaged[600] ^= 0xFF
    tar.write_bytes(bytes(damaged))

    result = manage("restore", str(folder), database_url=fresh_database, tmp_path=tmp_path)

    assert result.returncode == 1
    assert "media.tar is missing or damaged" in result.stderr
    assert not (tmp_path / "restored-media").exists()
    restored_db = open_database(fresh_database)
    try:
        assert contents(restored_db) == {}
    finally:
        restored_db.close()


def rewrite_media_tar(folder: Path, *extra: tarfile.TarInfo, cut_last: bool = False) -> None:
    """Rewrite the backup's media.tar with `extra` members after its own (a regular one
    holds b"evil"), or cut off in the middle of its last file; then give the manifest the
    new checksum, as a backup edited by someone else would: only the tar's members stand
    between it and the target."""
    tar = folder / "media.tar"
    original = io.BytesIO(tar.read_bytes())
    with tarfile.open(fileobj=original) as source, tarfile.open(tar, "w") as out:
        for member in source:
            out.addfile(member, source.extractfile(member))
        for member in extra:
            out.addfile(member, io.BytesIO(b"evil") if member.isreg() else None)
    if cut_last:
        with tarfile.open(tar) as archive:
            last = archive.getmembers()[-1]
        tar.write_bytes(tar.read_bytes()[: last.offset_data + last.size // 2])
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["checksums"]["media.tar"] = hashlib.sha256(tar.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = 4 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize(
    ("extra", "cut_last", "message"),
    [
        ([member("../evil")], False, "holds '../evil', a path that is not plainly inside"),
        ([member("images/../../evil")], False, "a path that is not plainly inside"),
        (
            [member("link", tarfile.SYMTYPE, "/etc/passwd")],
            False,
            "holds 'link', which is a link or a special file",
        ),
        (
            [member("link", tarfile.SYMTYPE, "images"), member("link/evil")],
            False,
            "holds 'link', which is a link or a special file",
        ),
        ([member("hard", tarfile.LNKTYPE, "/etc/passwd")], False, "which is a link"),
        ([member("null", tarfile.CHRTYPE)], False, "which is a link or a special file"),
        ([member("/tmp/idebanken-evil")], False, "which is an absolute path"),
        ([member("not-in-manifest.txt")], False, "not-in-manifest.txt is not in the manifest"),
        ([], True, "media.tar cannot be read as a tar (unexpected end of data)"),
    ],
    ids=[
        "parent",
        "parent-inside",
        "symlink",
        "file-through-symlink",
        "hardlink",
        "device",
        "absolute",
        "unlisted",
        "truncated",
    ],
)
def test_restore_refuses_a_media_tar_with_anything_but_the_manifests_plain_files_untouched(
    extra, cut_last, message, data, fresh_database, tmp_path
):
    """Even with --yes, the database and MEDIA_ROOT are left exactly as they were and no
    backup of them is taken: every member is checked, and the files unpacked, first."""
    folder = make_backup(tmp_path)
    rewrite_media_tar(folder, *extra, cut_last=cut_last)
    media = tmp_path / "restored-media"
    media.mkdir()
    (media / "kept.txt").write_text("there before")
    before = files(media)

    result = manage("restore", str(folder), "--yes", database_url=fresh_database, tmp_path=tmp_path)

    assert result.returncode == 1
    assert message in result.stderr
    assert "Refused; nothing was touched." in result.stderr
    assert files(media) == before
    restored_db = open_database(fresh_database)
    try:
        assert contents(restored_db) == {}
    finally:
        restored_db.close()
    assert not (tmp_path / "safety").exists()
    assert not (tmp_path / "evil").exists()
    assert not Path("/tmp/idebanken-evil").exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".restored-media")]


# Runs `call_command(*argv)` with the rename of the unpacked folder into MEDIA_ROOT's place
# failing, as it would across file systems or on a busy folder.
SWAP_FAILS = """
import sys
from pathlib import Path

import django

django.setup()
from django.core.management import call_command

rename = Path.rename


def failing_rename(self, target):
    if ".restore-" in self.name:
        raise OSError(16, "Device or resource busy")
    return rename(self, target)


Path.rename = failing_rename
call_command(*sys.argv[1:])
"""


def test_restore_failing_after_the_database_says_what_state_the_target_is_in(
    data, fresh_database, tmp_path
):
    folder = make_backup(tmp_path)
    media = tmp_path / "restored-media"
    media.mkdir()
    (media / "kept.txt").write_text("there before")
    before = files(media)

    result = manage(
        "restore",
        str(folder),
        "--yes",
        database_url=fresh_database,
        tmp_path=tmp_path,
        script=SWAP_FAILS,
    )

    assert result.returncode == 1
    (safety,) = (tmp_path / "safety").iterdir()
    (staging,) = [path for path in tmp_path.iterdir() if path.name.startswith(".restored-media")]
    assert staging.name.startswith(".restored-media.restore-")
    message = " ".join(result.stderr.split())
    assert "The database has been restored from" in message
    assert "moving the restored files into place failed" in message
    assert f"{media} still holds the files that were there before" in message
    assert f"the restored files are in {staging}" in message
    assert f"mv {staging} {media}" in message
    assert f"manage.py restore {safety} --yes" in message
    # Exactly that state: the backup's database, the old files, the backup's files beside.
    restored_db = open_database(fresh_database)
    try:
        assert contents(restored_db) == contents(connection)
    finally:
        restored_db.close()
    assert files(media) == before
    assert files(staging) == files(Path(settings.MEDIA_ROOT))
    assert "kept.txt" in {entry["name"] for entry in backups.read_manifest(safety)["files"]}


def test_files_unpack_the_same_without_tarfile_data_filter(data, tmp_path, monkeypatch):
    """Python before 3.11.4 has no extraction filters: the files are written by hand."""
    folder = make_backup(tmp_path)
    manifest = backups.read_manifest(folder)
    tar = folder / "media.tar"
    with_filter = backups._extract_media(tar, manifest, tmp_path / "a" / "media")
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    without_filter = backups._extract_media(tar, manifest, tmp_path / "b" / "media")
    rewrite_media_tar(folder, cut_last=True)

    with pytest.raises(backups.BackupError, match="unexpected end of data"):
        backups._extract_media(tar, manifest, tmp_path / "c" / "media")

    assert files(with_filter) == files(without_filter) == files(Path(settings.MEDIA_ROOT))
    assert len(files(without_filter)) > 3
    assert list((tmp_path / "c").iterdir()) == []
