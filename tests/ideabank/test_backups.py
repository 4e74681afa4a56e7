"""`manage.py backup` and `restore`: backup, restore into a fresh database, find everything.

The backup runs in the test process (it reads the test database, which only a real
commit makes visible to pg_dump: these tests are transactional); the restore runs as an
operator would, in a new process pointed at a database and MEDIA_ROOT of its own.
"""

import hashlib
import json
import os
import subprocess
import sys
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


def manage(*args: str, database_url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ideabank.settings",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(tmp_path / "restored-media"),
        "BACKUP_DIR": str(tmp_path / "safety"),
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
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
    assert len(files(tmp_path / "restored-media")) == 3


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
