"""`manage.py orphaned_files [--delete]`: uploaded files nothing names any more."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from initiatives import files


class Command(BaseCommand):
    help = (
        "List the files in MEDIA_ROOT's upload folders (images/, attachments/) that no "
        "initiative or attachment and no kept edit-history version names, and that are "
        "more than an hour old; with --delete, delete them. Nothing else is touched."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--delete", action="store_true", help="Delete the files listed.")

    def handle(self, *args, delete: bool, **options) -> None:
        now = timezone.now()
        unreferenced = files.unreferenced_files()
        orphans = [(storage, file) for storage, file in unreferenced if files.old_enough(file, now)]
        if delete:
            removed = files.remove_orphaned_files(now)
            for file in removed:
                self.stdout.write(f"deleted  {file.name}  {file.size} bytes")
            self.stdout.write(
                f"Deleted {len(removed)} orphaned files, {sum(f.size for f in removed)} bytes."
            )
        else:
            for _storage, file in orphans:
                self.stdout.write(
                    f"{file.name}  {file.size} bytes  "
                    f"modified {timezone.localtime(file.modified):%Y-%m-%d %H:%M}"
                )
            self.stdout.write(
                f"{len(orphans)} orphaned files, {sum(f.size for _s, f in orphans)} bytes."
                + (" Delete them with --delete." if orphans else "")
            )
        young = len(unreferenced) - len(orphans)
        if young:
            self.stdout.write(
                f"{young} unreferenced files are less than an hour old and are left alone "
                "(an upload may still be being saved)."
            )
