"""`manage.py backup`: the database and MEDIA_ROOT into a new folder (ideabank/backups.py)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ideabank import backups


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump, or SQLite's online backup) and every file under "
        "MEDIA_ROOT into a new timestamped folder with a manifest."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            help="The folder to write the backup folder into (default: BACKUP_DIR, var/backups).",
        )

    def handle(self, *args, output: Path | None = None, **options) -> None:
        try:
            folder = backups.backup(output or Path(settings.BACKUP_DIR))
        except backups.BackupError as error:
            raise CommandError(str(error)) from error
        manifest = backups.read_manifest(folder)
        size = sum(path.stat().st_size for path in folder.iterdir())
        self.stdout.write(
            f"Backup written to {folder} ({size} bytes): {manifest['vendor']}, "
            f"{len(manifest['tables'])} tables, {sum(manifest['tables'].values())} rows, "
            f"{len(manifest['files'])} files."
        )
