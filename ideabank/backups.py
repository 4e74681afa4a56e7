"""Backups of the database and MEDIA_ROOT, and restoring them (`manage.py backup`, `restore`).

A backup is one folder, named by its UTC time, holding:

- `database.dump` (PostgreSQL, `pg_dump -Fc`) or `database.sqlite3` (SQLite's online
  backup API, a consistent copy of a live database);
- `media.tar`, every file under MEDIA_ROOT;
- `manifest.json`: the database vendor, the row count of every table (counted in the
  same snapshot the dump was taken from), every file with its size and SHA-256, and the
  SHA-256 of the two files above.

The folder is written as `<name>.partial` and renamed when complete, so a folder without
that suffix is a whole backup. It holds personal data: it is readable by its owner only.

Restoring checks the checksums before it touches anything, restores the database and
MEDIA_ROOT, then checks them against the manifest. It replaces data only when told to:
a target with any table, or any file under MEDIA_ROOT, is refused unless `replace` is
set, and then a backup of what is there is taken first.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

MANIFEST = "manifest.json"
MEDIA_TAR = "media.tar"
DATABASE_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
FORMAT = 1
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot be done, or a restore that does not match its manifest."""


@dataclass
class RestoreReport:
    folder: Path
    tables: int = 0
    rows: int = 0
    files: int = 0
    safety_backup: Path | None = None
    extra_tables: list[str] = field(default_factory=list)


# --- Backup ------------------------------------------------------------------------


def backup(output: Path, *, alias: str = "default") -> Path:
    """Write a new backup folder under `output` and return its path."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    connection = connections[alias]
    vendor = connection.vendor
    if vendor not in DATABASE_FILES:
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor}.")
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    final = output / name
    suffix = 1
    while final.exists() or final.with_name(final.name + ".partial").exists():
        suffix += 1
        final = output / f"{name}-{suffix}"
    partial = final.with_name(final.name + ".partial")
    partial.mkdir(mode=0o700)
    try:
        database_file = partial / DATABASE_FILES[vendor]
        if vendor == "postgresql":
            tables = _pg_dump(connection, database_file)
        else:
            tables = _sqlite_backup(connection, database_file)
        files = _tar_media(Path(settings.MEDIA_ROOT), partial / MEDIA_TAR)
        manifest = {
            "format": FORMAT,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "vendor": vendor,
            "tables": tables,
            "files": files,
            "checksums": {
                database_file.name: _sha256(database_file),
                MEDIA_TAR: _sha256(partial / MEDIA_TAR),
            },
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for path in partial.iterdir():
            path.chmod(0o600)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def _pg_dump(connection: BaseDatabaseWrapper, target: Path) -> dict[str, int]:
    """Dump with pg_dump and count every table's rows in the very snapshot it dumps.

    A second connection opens a repeatable-read transaction and exports its snapshot;
    pg_dump reads that snapshot (--snapshot), so the counts and the dump agree even while
    the site keeps writing.
    """
    snapshot_connection = _new_connection(connection.settings_dict, connection.alias)
    try:
        snapshot_connection.ensure_connection()
        snapshot_connection.set_autocommit(False)
        with snapshot_connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
            _run_pg(
                "pg_dump",
                ["--format=custom", f"--snapshot={snapshot}", f"--file={target}"],
                connection.settings_dict,
            )
            tables = _count_rows(snapshot_connection, cursor)
        snapshot_connection.rollback()
    finally:
        snapshot_connection.close()
    return tables


def _sqlite_backup(connection: BaseDatabaseWrapper, target: Path) -> dict[str, int]:
    """Copy the live database with SQLite's online backup API; count rows in the copy."""
    connection.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        connection.connection.backup(copy)
        names = [
            name
            for (name,) in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            )
        ]
        return {
            name: copy.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names
        }
    finally:
        copy.close()


def _tar_media(media_root: Path, target: Path) -> list[dict[str, object]]:
    """Tar every regular file under MEDIA_ROOT; list them as read back from the tar."""
    with tarfile.open(target, "w") as archive:
        if media_root.is_dir():
            for path in sorted(media_root.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.add(path, arcname=path.relative_to(media_root).as_posix())
    files = []
    with tarfile.open(target) as archive:
        for member in archive:
            digest = hashlib.sha256()
            source = archive.extractfile(member)
            while chunk := source.read(CHUNK):
                digest.update(chunk)
            files.append({"name": member.name, "size": member.size, "sha256": digest.hexdigest()})
    return files


# --- Restore -----------------------------------------------------------------------


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} is not a backup: it has no {MANIFEST}.")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"{path} has format {manifest.get('format')!r}; this code reads {FORMAT}."
        )
    return manifest


def target_contents(alias: str = "default") -> tuple[list[str], int]:
    """The tables of the target database and the number of files under MEDIA_ROOT."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    media_root = Path(settings.MEDIA_ROOT)
    files = (
        sum(1 for path in media_root.rglob("*") if not path.is_dir()) if media_root.exists() else 0
    )
    return tables, files


def restore(
    folder: Path,
    *,
    replace: bool = False,
    safety_output: Path | None = None,
    alias: str = "default",
    log: Callable[[str], None] = lambda message: None,
) -> RestoreReport:
    """Restore a backup folder into the configured database and MEDIA_ROOT.

    Refused (BackupError, nothing touched) when a checksum does not match, when the
    backup's vendor is not the target's, or when the target holds any table or any file
    and `replace` is not set. With `replace`, what is there is backed up first (into
    `safety_output`, BACKUP_DIR by default). Afterwards every table's row count and every
    file's size and SHA-256 are checked against the manifest; a difference raises.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    connection = connections[alias]
    vendor = manifest["vendor"]
    if vendor != connection.vendor:
        raise BackupError(
            f"The backup is of a {vendor} database; the target is {connection.vendor}. "
            "Restore it into a database of the same kind."
        )
    for name, expected in manifest["checksums"].items():
        path = folder / name
        if not path.is_file() or _sha256(path) != expected:
            raise BackupError(f"{path} is missing or damaged (its SHA-256 is not the manifest's).")

    report = RestoreReport(folder=folder)
    tables, files = target_contents(alias)
    if tables or files:
        if not replace:
            raise BackupError(
                f"The target is not empty ({len(tables)} tables in the database, {files} files "
                f"under {settings.MEDIA_ROOT}). Restoring replaces all of it: run again with "
                "--yes to replace it (a backup of what is there is taken first)."
            )
        log("The target is not empty: backing up what is there first.")
        report.safety_backup = backup(safety_output or Path(settings.BACKUP_DIR), alias=alias)
        log(f"Backed up what was there to {report.safety_backup}.")

    database_file = folder / DATABASE_FILES[vendor]
    log(f"Restoring the database from {database_file}.")
    if vendor == "postgresql":
        connections.close_all()
        _run_pg(
            "pg_restore",
            ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"],
            connection.settings_dict,
            database_file,
        )
    else:
        _sqlite_restore(connection, database_file)
    log(f"Restoring the files under {settings.MEDIA_ROOT}.")
    _restore_media(folder / MEDIA_TAR, Path(settings.MEDIA_ROOT))
    # Cached search hits and filter panels describe the data that was there before.
    cache.clear()

    _check_against_manifest(manifest, connection, report)
    return report


def _sqlite_restore(connection: BaseDatabaseWrapper, source_file: Path) -> None:
    connection.ensure_connection()
    source = sqlite3.connect(f"file:{source_file}?mode=ro", uri=True)
    try:
        # Copies every page: the target becomes exactly the backup, tables it had dropped.
        source.backup(connection.connection)
    finally:
        source.close()


def _restore_media(tar_path: Path, media_root: Path) -> None:
    """Replace MEDIA_ROOT's contents with the tar's regular files (nothing else extracted)."""
    media_root.mkdir(parents=True, exist_ok=True)
    for child in media_root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    with tarfile.open(tar_path) as archive:
        for member in archive:
            relative = PurePosixPath(member.name)
            if not member.isfile() or relative.is_absolute() or ".." in relative.parts:
                raise BackupError(f"{tar_path} holds {member.name!r}, which is not a plain file.")
            target = media_root.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)


def _check_against_manifest(
    manifest: dict, connection: BaseDatabaseWrapper, report: RestoreReport
) -> None:
    problems = []
    with connection.cursor() as cursor:
        counts = _count_rows(connection, cursor)
    for table, expected in sorted(manifest["tables"].items()):
        found = counts.get(table)
        if found != expected:
            problems.append(f"table {table}: {found} rows, the manifest says {expected}")
    report.extra_tables = sorted(set(counts) - set(manifest["tables"]))
    media_root = Path(settings.MEDIA_ROOT)
    for entry in manifest["files"]:
        path = media_root / entry["name"]
        if not path.is_file():
            problems.append(f"file {entry['name']}: missing")
        elif path.stat().st_size != entry["size"] or _sha256(path) != entry["sha256"]:
            problems.append(f"file {entry['name']}: its size or SHA-256 is not the manifest's")
    if problems:
        raise BackupError("The restored data does not match the manifest: " + "; ".join(problems))
    report.tables = len(manifest["tables"])
    report.rows = sum(manifest["tables"].values())
    report.files = len(manifest["files"])


# --- Helpers -----------------------------------------------------------------------


def _count_rows(connection: BaseDatabaseWrapper, cursor) -> dict[str, int]:
    counts = {}
    for table in sorted(connection.introspection.table_names(cursor)):
        if connection.vendor == "sqlite" and table.startswith("sqlite_"):
            continue
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
        counts[table] = cursor.fetchone()[0]
    return counts


def _new_connection(settings_dict: dict, alias: str) -> BaseDatabaseWrapper:
    """A connection of its own to the same database (Django's stays as it is).

    `alias` must be a configured one: django.contrib.postgres looks type ids up through it.
    """
    return load_backend(settings_dict["ENGINE"]).DatabaseWrapper(dict(settings_dict), alias)


def _run_pg(program: str, arguments: list[str], settings_dict: dict, *extra: Path) -> None:
    """Run pg_dump or pg_restore against the database of `settings_dict`.

    Connection settings go in libpq's environment variables, the password in PGPASSWORD,
    so nothing secret shows in the process list.
    """
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(
            f"{program} is not installed. Install PostgreSQL's client programs "
            "(Debian: apt-get install postgresql-client) of the server's major version or newer."
        )
    env = {**os.environ}
    for variable, key in [
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
    ]:
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    options = settings_dict.get("OPTIONS") or {}
    for variable, key in [
        ("PGSSLMODE", "sslmode"),
        ("PGSSLROOTCERT", "sslrootcert"),
        ("PGSSLCERT", "sslcert"),
        ("PGSSLKEY", "sslkey"),
    ]:
        if options.get(key):
            env[variable] = str(options[key])
    result = subprocess.run(
        [executable, *arguments, f"--dbname={settings_dict['NAME']}", *map(str, extra)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{program} failed ({result.returncode}): {result.stderr.strip()}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
