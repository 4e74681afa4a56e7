"""Site-wide pages: the home page and the pages about the site itself."""

from datetime import date

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from initiatives.models import (
    ActorType,
    Adoption,
    Goal,
    Initiative,
    Organisation,
    Participation,
    Purpose,
)
from networks.models import Network

LATEST_COUNT = 6
# The accessibility statement's own dates: change STATEMENT_UPDATED with every review.
STATEMENT_MADE = date(2026, 11, 23)
STATEMENT_UPDATED = date(2026, 11, 23)


def contact_email() -> str:
    """The address people may write to about the site (accessibility, privacy)."""
    return settings.CONTACT_EMAIL


def home(request: HttpRequest) -> HttpResponse:
    published = Initiative.objects.published()
    actor_types = list(ActorType.objects.all())
    actor_type_groups = [
        (label, [actor_type for actor_type in actor_types if actor_type.group == group])
        for group, label in ActorType.Group.choices
    ]
    counts = {
        "initiatives": published.count(),
        # Organisations seen in public: leading, partnering in or adopting a published initiative.
        "organisations": Organisation.objects.filter(
            Q(pk__in=published.values("lead_organisation"))
            | Q(
                pk__in=Participation.objects.filter(initiative__in=published).values("organisation")
            )
            | Q(pk__in=Adoption.objects.filter(initiative__in=published).values("organisation"))
        ).count(),
        "adoptions": Adoption.objects.filter(initiative__in=published).count(),
        "networks": Network.objects.count(),
    }
    latest = published.select_related("lead_organisation").order_by("-published_at")[:LATEST_COUNT]
    return render(
        request,
        "home.html",
        {
            "goals": Goal.objects.all(),
            "actor_type_groups": [(label, types) for label, types in actor_type_groups if types],
            "purposes": Purpose.objects.all(),
            "latest": latest,
            "counts": counts,
        },
    )


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/about.html")


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "pages/accessibility.html",
        {
            "contact_email": contact_email(),
            "statement_made": STATEMENT_MADE,
            "statement_updated": STATEMENT_UPDATED,
        },
    )


def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/privacy.html", {"contact_email": contact_email()})
