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

Restoring checks everything it can before it touches anything: the checksums, and every
member of `media.tar` (regular files and folders only, plain paths inside it, the
manifest's files). It unpacks the files into a new folder beside MEDIA_ROOT and checks
them, restores the database (in one transaction), renames that folder into MEDIA_ROOT's
place and only then removes the old one; a failure after the database was restored says
what state the target is in. Then it checks everything against the manifest. It replaces
data only when told to: a target with any table, or any file under MEDIA_ROOT, is refused
unless `replace` is set, and then a backup of what is there is taken first.
"""

import hashlib
import json
import os
import secrets
import shlex
import shutil
import sqlite3
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

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
    backup's vendor is not the target's, when media.tar holds anything but regular files
    and folders inside it or its files are not the manifest's, or when the target holds
    any table or any file and `replace` is not set. With `replace`, what is there is
    backed up first (into `safety_output`, BACKUP_DIR by default).

    The order keeps a failure from leaving a half-restored target: the files are unpacked
    into a new folder beside MEDIA_ROOT and checked against the manifest, then the
    database is restored (in one transaction), then that folder is renamed to MEDIA_ROOT
    and only then is the old one removed. Afterwards every table's row count and every
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
    tar_path = folder / MEDIA_TAR
    _check_media_tar(tar_path, manifest)
    # The real folder: a MEDIA_ROOT that is a symbolic link keeps pointing where it did.
    media_root = Path(settings.MEDIA_ROOT).resolve()
    _check_media_root(media_root)

    report = RestoreReport(folder=folder)
    tables, files = target_contents(alias)
    if (tables or files) and not replace:
        raise BackupError(
            f"The target is not empty ({len(tables)} tables in the database, {files} files "
            f"under {settings.MEDIA_ROOT}). Restoring replaces all of it: run again with "
            "--yes to replace it (a backup of what is there is taken first)."
        )

    log(f"Unpacking the files beside {media_root}.")
    staging = _extract_media(tar_path, manifest, media_root)
    database_file = folder / DATABASE_FILES[vendor]
    try:
        if tables or files:
            log("The target is not empty: backing up what is there first.")
            report.safety_backup = backup(safety_output or Path(settings.BACKUP_DIR), alias=alias)
            log(f"Backed up what was there to {report.safety_backup}.")
        log(f"Restoring the database from {database_file}.")
        try:
            if vendor == "postgresql":
                connections.close_all()
                _run_pg(
                    "pg_restore",
                    [
                        "--clean",
                        "--if-exists",
                        "--no-owner",
                        "--single-transaction",
                        "--exit-on-error",
                    ],
                    connection.settings_dict,
                    database_file,
                )
            else:
                _sqlite_restore(connection, database_file)
        except (BackupError, sqlite3.Error, OSError) as error:
            taken = (
                f" (The backup of it taken first, {report.safety_backup}, is not needed.)"
                if report.safety_backup
                else ""
            )
            raise BackupError(
                f"Restoring the database failed: {error}. It runs in one transaction, so the "
                f"database is as it was, and {settings.MEDIA_ROOT} was not touched.{taken}"
            ) from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # Cached search hits and filter panels describe the data that was there before.
    cache.clear()

    log(f"Moving the restored files to {media_root}.")
    old = _swap_media(staging, media_root, database_file, report)
    if old is not None:
        try:
            shutil.rmtree(old)
        except OSError as error:
            log(f"The files that were there before are left in {old} ({error}): remove it.")

    try:
        _check_against_manifest(manifest, connection, report)
    except BackupError as error:
        raise BackupError(
            f"{error}. The database and {settings.MEDIA_ROOT} have been replaced by the "
            "backup's." + _safety_note(report)
        ) from error
    return report


def _sqlite_restore(connection: BaseDatabaseWrapper, source_file: Path) -> None:
    connection.ensure_connection()
    source = sqlite3.connect(f"file:{source_file}?mode=ro", uri=True)
    try:
        # Copies every page in one step (one transaction): the target becomes exactly the
        # backup, tables it had dropped.
        source.backup(connection.connection)
    finally:
        source.close()


def _member_problem(member: tarfile.TarInfo) -> str | None:
    """Why a member of media.tar may not be unpacked, or None when it may."""
    if not (member.isfile() or member.isdir()):
        return "which is a link or a special file, not a regular file or folder"
    if not member.name or member.name.startswith("/"):
        return "which is an absolute path"
    if any(part in ("", ".", "..") for part in member.name.split("/")):
        return "a path that is not plainly inside the folder"
    return None


def _check_media_tar(tar_path: Path, manifest: dict) -> None:
    """Refuse a media.tar with any member but plain files and folders inside it, or whose
    files are not the manifest's (names and sizes). Reads the headers only."""
    expected = {entry["name"]: entry["size"] for entry in manifest["files"]}
    found: dict[str, int] = {}
    try:
        with tarfile.open(tar_path, "r:") as archive:
            for member in archive:
                problem = _member_problem(member)
                if problem is None and member.isfile() and member.name in found:
                    problem = "twice"
                if problem:
                    raise BackupError(
                        f"{tar_path} holds {member.name!r}, {problem}. Refused; nothing was "
                        "touched."
                    )
                if member.isfile():
                    found[member.name] = member.size
    except tarfile.TarError as error:
        raise BackupError(
            f"{tar_path} cannot be read as a tar ({error}). Refused; nothing was touched."
        ) from error
    if found != expected:
        differences = [
            f"{name} is not in the manifest" for name in sorted(set(found) - set(expected))
        ]
        differences += [f"{name} is missing" for name in sorted(set(expected) - set(found))]
        differences += [
            f"{name} has {found[name]} bytes, the manifest says {expected[name]}"
            for name in sorted(set(found) & set(expected))
            if found[name] != expected[name]
        ]
        raise BackupError(
            f"{tar_path} does not hold the manifest's files ({'; '.join(differences)}). "
            "Refused; nothing was touched."
        )


def _check_media_root(media_root: Path) -> None:
    if media_root.exists() and not media_root.is_dir():
        raise BackupError(
            f"MEDIA_ROOT ({media_root}) is not a folder. Refused; nothing was touched."
        )
    if media_root.is_dir() and media_root.is_mount():
        raise BackupError(
            f"MEDIA_ROOT ({media_root}) is a mount point; the restore unpacks the files beside "
            "it and renames that folder into its place, which a mount point does not allow. "
            "Point MEDIA_ROOT at a folder inside the mounted file system. Refused; nothing "
            "was touched."
        )


def _extract_media(tar_path: Path, manifest: dict, media_root: Path) -> Path:
    """Unpack media.tar into a new folder beside MEDIA_ROOT (same file system, so it can
    be renamed into its place) and check its files against the manifest; return it.
    Removed again, and BackupError raised, when anything fails."""
    media_root.parent.mkdir(parents=True, exist_ok=True)
    staging = media_root.with_name(f".{media_root.name}.restore-{secrets.token_hex(4)}")
    staging.mkdir()
    try:
        with tarfile.open(tar_path, "r:") as archive:
            if hasattr(tarfile, "data_filter"):
                # Refuses what _check_media_tar already refused, and drops owners and
                # setuid/group/other-write mode bits.
                archive.extractall(staging, filter="data")
            else:
                # Every member is a plain file or folder with a plain relative path
                # (_check_media_tar): write them without anything tarfile would set.
                for member in archive:
                    target = staging.joinpath(*member.name.split("/"))
                    if member.isdir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.extractfile(member) as source, open(target, "xb") as out:
                        shutil.copyfileobj(source, out, CHUNK)
        problems = []
        unpacked = {
            path.relative_to(staging).as_posix(): path
            for path in staging.rglob("*")
            if not path.is_dir() or path.is_symlink()
        }
        for entry in manifest["files"]:
            path = unpacked.pop(entry["name"], None)
            if path is None or path.is_symlink() or not path.is_file():
                problems.append(f"{entry['name']} is missing")
            elif path.stat().st_size != entry["size"] or _sha256(path) != entry["sha256"]:
                problems.append(f"{entry['name']}: its size or SHA-256 is not the manifest's")
        problems += [f"{name} is not in the manifest" for name in sorted(unpacked)]
        if problems:
            raise BackupError(
                f"The files unpacked from {tar_path} are not the manifest's: "
                + "; ".join(problems)
                + ". Refused; nothing was touched."
            )
        if media_root.is_dir():
            shutil.copymode(media_root, staging)
    except (tarfile.TarError, OSError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise BackupError(
            f"Unpacking {tar_path} failed ({error}). Refused; nothing was touched."
        ) from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _swap_media(
    staging: Path, media_root: Path, database_file: Path, report: RestoreReport
) -> Path | None:
    """Rename `staging` to MEDIA_ROOT; return where the old MEDIA_ROOT went (or None).

    Runs after the database was restored: a failure says what state the target is in."""
    old = media_root.with_name(f".{media_root.name}.old-{secrets.token_hex(4)}")
    staging_, media_root_, old_ = (shlex.quote(str(path)) for path in (staging, media_root, old))
    old_kept = (
        f"{media_root} still holds the files that were there before; the restored files are "
        f"in {staging}"
    )
    swap_by_hand = f"mv {media_root_} {old_} && mv {staging_} {media_root_} && rm -r {old_}"
    if not media_root.exists():
        try:
            staging.rename(media_root)
        except OSError as error:
            raise BackupError(
                _half_restored(
                    database_file,
                    f"moving the restored files into place failed ({error})",
                    f"{media_root} does not exist; the restored files are in {staging}",
                    f"mv {staging_} {media_root_}",
                    report,
                )
            ) from error
        return None
    try:
        media_root.rename(old)
    except OSError as error:
        raise BackupError(
            _half_restored(
                database_file,
                f"moving the old files aside failed ({error})",
                old_kept,
                swap_by_hand,
                report,
            )
        ) from error
    try:
        staging.rename(media_root)
    except OSError as error:
        try:
            old.rename(media_root)
        except OSError:
            state = (
                f"{media_root} does not exist: the files that were there before are in {old}, "
                f"the restored files in {staging}"
            )
            steps = f"mv {staging_} {media_root_} && rm -r {old_}"
        else:
            state, steps = old_kept, swap_by_hand
        raise BackupError(
            _half_restored(
                database_file,
                f"moving the restored files into place failed ({error})",
                state,
                steps,
                report,
            )
        ) from error
    return old


def _half_restored(
    database_file: Path, failure: str, media_state: str, steps: str, report: RestoreReport
) -> str:
    return (
        f"The database has been restored from {database_file}, but {failure}. The target "
        f"is half restored: the database is the backup's, and {media_state}. To finish the "
        f"restore by hand, run `{steps}` (the restored files were already checked against "
        "the manifest)." + _safety_note(report)
    )


def _safety_note(report: RestoreReport) -> str:
    if report.safety_backup is not None:
        return (
            " To go back to what was there before, restore the backup taken first: "
            f"`manage.py restore {report.safety_backup} --yes`."
        )
    return (
        " The target was empty before (no backup of it was taken): to start again, empty "
        "the database and MEDIA_ROOT and run the restore again."
    )


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
