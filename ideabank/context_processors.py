from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from ideabank.models import email_confirmed


def site(request: HttpRequest) -> dict:
    return {
        "site_name": settings.SITE_NAME,
        # People's e-mail addresses and phone numbers are for accounts with a confirmed
        # address: a throwaway sign-up must not be enough to collect them. Lazy, so pages
        # that show no contact details do not read the profile.
        "may_see_contacts": SimpleLazyObject(lambda: email_confirmed(request.user)),
    }
