"""Make (once) and print the local administrator login that `make run` shows."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

USERNAME = "admin"
# The admin's log-in is the site's, which asks for the e-mail address.
EMAIL = "admin@example.org"
PASSWORD_FILE = settings.BASE_DIR / "var" / "local-admin-password"


class Command(BaseCommand):
    help = "Create the local superuser 'admin' if needed and print its login (DEBUG only)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("The local admin login is for development only (DEBUG is off).")
        if PASSWORD_FILE.exists():
            password = PASSWORD_FILE.read_text().strip()
        else:
            password = secrets.token_urlsafe(12)
            PASSWORD_FILE.write_text(password + "\n")
            PASSWORD_FILE.chmod(0o600)
        user, _ = get_user_model().objects.get_or_create(
            username=USERNAME, defaults={"email": EMAIL}
        )
        if not (
            user.is_superuser and user.is_staff and user.email and user.check_password(password)
        ):
            user.is_superuser = user.is_staff = user.is_active = True
            user.email = user.email or EMAIL
            user.set_password(password)
            user.save()
        self.stdout.write(
            f"Local admin: http://127.0.0.1:8000/admin/  e-mail: {user.email}  password: {password}"
        )
