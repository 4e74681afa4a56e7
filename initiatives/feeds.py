"""Atom feeds of newly published initiatives: the whole list, any list state of it (the
same filters and text search, "follow this search"), and the goal, organisation, actor
type and purpose pages.

A feed asks the list's own question (views.listing_from_url, the facet engine) and
takes its newest published initiatives: what a feed holds is what the page lists,
newest first, never anything unpublished. Every address is the site's own
(settings.SITE_URL), not whatever Host the request named.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Prefetch
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from initiatives.engine import in_order
from initiatives.filters import Sort
from initiatives.models import ActorType, Goal, Initiative, Organisation, Purpose
from initiatives.views import feed_query, listing_from_url

ENTRIES = 50


@dataclass
class FeedState:
    """One feed: its title, the page it follows (path and list state) and its entries."""

    title: str
    path: str
    query: str
    initiatives: list[Initiative]


def newest_published(request: HttpRequest, title: str, path: str, **scope) -> FeedState:
    """The newest published initiatives of the list state in `request`, narrowed by the
    page's `scope` (browse's `fixed` and `organisation`), in a constant number of queries."""
    query, listing, _problems = listing_from_url(request, **scope)
    ids = listing.page_ids(Sort.NEWEST, 0, ENTRIES)
    rows = (
        Initiative.objects.published()
        .select_related("lead_organisation")
        .prefetch_related(Prefetch("goals", queryset=Goal.objects.order_by("number")))
    )
    if query.text:
        title = _("%(title)s, search: “%(text)s”") % {"title": title, "text": query.text}
    elif feed_query(query.data):
        title = _("%(title)s, filtered") % {"title": title}
    return FeedState(title, path, feed_query(query.data), in_order(rows, ids))


class InitiativeFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest) -> FeedState:
        return newest_published(request, _("New initiatives"), page_path(request))

    def title(self, state: FeedState) -> str:
        return f"{state.title} – {settings.SITE_NAME}"

    def subtitle(self, state: FeedState) -> str:
        return _("The newest published initiatives, at most %(count)s.") % {"count": ENTRIES}

    def link(self, state: FeedState) -> str:
        return site_url(state.path, state.query)

    def feed_url(self, state: FeedState) -> str:
        return site_url(f"{state.path}feed/", state.query)

    def items(self, state: FeedState) -> list[Initiative]:
        return state.initiatives

    def item_title(self, initiative: Initiative) -> str:
        return initiative.title

    def item_description(self, initiative: Initiative) -> str:
        return initiative.summary

    def item_link(self, initiative: Initiative) -> str:
        return site_url(initiative.get_absolute_url())

    def item_pubdate(self, initiative: Initiative) -> datetime:
        return initiative.published_at

    def item_updateddate(self, initiative: Initiative) -> datetime:
        return max(initiative.updated, initiative.published_at)

    def item_author_name(self, initiative: Initiative) -> str:
        return initiative.lead_organisation.name

    def item_author_link(self, initiative: Initiative) -> str:
        return site_url(initiative.lead_organisation.get_absolute_url())

    def item_categories(self, initiative: Initiative) -> list[str]:
        return [str(goal) for goal in initiative.goals.all()]


class GoalFeed(InitiativeFeed):
    def get_object(self, request: HttpRequest, number: int) -> FeedState:
        goal = get_object_or_404(Goal, number=number)
        title = _("New initiatives for goal %(goal)s") % {"goal": goal}
        return newest_published(
            request, title, page_path(request), fixed={"goal": str(goal.number)}
        )


class OrganisationFeed(InitiativeFeed):
    def get_object(self, request: HttpRequest, slug: str) -> FeedState:
        # A proposed organisation has no public page, and so no feed.
        organisation = get_object_or_404(Organisation.objects.approved(), slug=slug)
        title = _("New initiatives from %(organisation)s") % {"organisation": organisation.name}
        return newest_published(request, title, page_path(request), organisation=organisation)


class ActorTypeFeed(InitiativeFeed):
    def get_object(self, request: HttpRequest, slug: str) -> FeedState:
        actor_type = get_object_or_404(ActorType, slug=slug)
        title = _("New initiatives: actor type %(name)s") % {"name": actor_type.name}
        return newest_published(
            request, title, page_path(request), fixed={"actor_type": actor_type.slug}
        )


class PurposeFeed(InitiativeFeed):
    def get_object(self, request: HttpRequest, slug: str) -> FeedState:
        purpose = get_object_or_404(Purpose, slug=slug)
        title = _("New initiatives: purpose %(name)s") % {"name": purpose.name}
        return newest_published(request, title, page_path(request), fixed={"purpose": purpose.slug})


def page_path(request: HttpRequest) -> str:
    """The page a feed follows: every list page's feed is its own address plus feed/."""
    return request.path.removesuffix("feed/")


def site_url(path: str, query: str = "") -> str:
    return f"{settings.SITE_URL}{path}" + (f"?{query}" if query else "")
