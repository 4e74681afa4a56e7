"""sitemap.xml and robots.txt: what search engines may read, and where to find it.

Every section lists only what has a public page (published initiatives, approved
organisations, networks, working groups, events, the goal pages) in both languages, each
URL with its hreflang alternates and an x-default (Bokmål, the default language).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from initiatives.models import Goal, Initiative, Organisation
from networks.models import Event, Network, WorkingGroup


class PublicSitemap(Sitemap):
    """Both languages, with alternates, on settings.SITE_URL's host (not the request's)."""

    i18n = True
    alternates = True
    x_default = True

    def get_protocol(self, protocol=None) -> str:
        return urlsplit(settings.SITE_URL).scheme or "https"

    def get_domain(self, site=None) -> str:
        return urlsplit(settings.SITE_URL).netloc

    def lastmod(self, obj):
        return obj.updated


class InitiativeSitemap(PublicSitemap):
    def items(self):
        return (
            Initiative.objects.published()
            .only("slug", "updated", "published_at")
            .order_by("-published_at", "-pk")
        )

    def lastmod(self, obj):
        return max(filter(None, [obj.updated, obj.published_at]))


class OrganisationSitemap(PublicSitemap):
    # Every approved organisation has a public page; a proposed one has none (404).
    def items(self):
        return Organisation.objects.approved().only("slug", "updated").order_by("name", "pk")


class NetworkSitemap(PublicSitemap):
    def items(self):
        return Network.objects.only("slug", "updated").order_by("name", "pk")


class WorkingGroupSitemap(PublicSitemap):
    def items(self):
        return WorkingGroup.objects.only("slug", "updated").order_by("-year", "name", "pk")


class EventSitemap(PublicSitemap):
    def items(self):
        return Event.objects.only("slug", "updated").order_by("-starts_at", "pk")


class GoalSitemap(PublicSitemap):
    def items(self):
        return Goal.objects.only("number", "updated").order_by("number")

    def location(self, obj) -> str:
        return reverse("initiatives:goal", args=[obj.number])


SITEMAPS = {
    "initiatives": InitiativeSitemap,
    "organisations": OrganisationSitemap,
    "networks": NetworkSitemap,
    "working-groups": WorkingGroupSitemap,
    "events": EventSitemap,
    "goals": GoalSitemap,
}

# Member, account and moderation pages: nothing there for a search engine, in either language.
DISALLOWED = [
    "/admin/",
    "/konto/",
    "/min-side/",
    "/del-tiltak/",
    "/i18n/",
    "/en/admin/",
    "/en/konto/",
    "/en/min-side/",
    "/en/del-tiltak/",
]


@require_GET
@cache_control(public=True, max_age=86400)
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = ["User-agent: *", "Allow: /"]
    lines += [f"Disallow: {path}" for path in DISALLOWED]
    lines += ["", f"Sitemap: {settings.SITE_URL}{reverse('sitemap')}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
