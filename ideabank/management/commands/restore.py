"""`manage.py restore PATH`: a backup folder back into the database and MEDIA_ROOT."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ideabank import backups


class Command(BaseCommand):
    help = (
        "Restore a folder written by `manage.py backup` into the configured database and "
        "MEDIA_ROOT, then check every table's row count and every file against its manifest. "
        "Everything is checked and the files unpacked beside MEDIA_ROOT before the database "
        "is touched; the unpacked folder then replaces MEDIA_ROOT. A database with any "
        "table, or a MEDIA_ROOT with any file, is replaced only with --yes, after a backup "
        "of it is taken into BACKUP_DIR."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="The backup folder (holding manifest.json).")
        parser.add_argument(
            "--yes",
            action="store_true",
            help="Replace a database and MEDIA_ROOT that are not empty (backed up first).",
        )

    def handle(self, *args, path: Path, yes: bool, **options) -> None:
        try:
            report = backups.restore(path, replace=yes, log=self.stdout.write)
        except backups.BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Restored {report.folder}: {report.tables} tables with {report.rows} rows and "
            f"{report.files} files, all as the manifest says."
        )
        if report.extra_tables:
            self.stdout.write(
                "Tables the backup does not have were left as they were: "
                + ", ".join(report.extra_tables)
            )
        self.stdout.write("Next: run `manage.py migrate` if this code is newer than the backup.")
