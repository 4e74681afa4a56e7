"""An Atom feed of the upcoming events, soonest first (the event list's order), with the
event list's own filters: the list's address plus feed/ follows what the list shows."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from networks.filters import EventFilter
from networks.ical import CALENDAR_RELATED
from networks.models import Event
from networks.views import filtered_from_url

ENTRIES = 50


@dataclass
class EventFeedState:
    events: QuerySet
    query: QueryDict  # the filter values the list understood


class UpcomingEventFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest) -> EventFeedState:
        filterset, data = filtered_from_url(request, EventFilter, Event.objects.upcoming())
        return EventFeedState(filterset.qs, data)

    def title(self, state: EventFeedState) -> str:
        title = _("Upcoming events")
        if state.query:
            title = _("%(title)s, filtered") % {"title": title}
        return f"{title} – {settings.SITE_NAME}"

    def subtitle(self) -> str:
        return _("Webinars, meetings, workshops and conferences, the soonest first.")

    def link(self, state: EventFeedState) -> str:
        return self._site_url("networks:event_list", state)

    def feed_url(self, state: EventFeedState) -> str:
        return self._site_url("networks:event_feed", state)

    @staticmethod
    def _site_url(name: str, state: EventFeedState) -> str:
        # The site's own address, not whatever Host the request named.
        query = f"?{state.query.urlencode()}" if state.query else ""
        return f"{settings.SITE_URL}{reverse(name)}{query}"

    def items(self, state: EventFeedState) -> list[Event]:
        return list(state.events.select_related(*CALENDAR_RELATED)[:ENTRIES])

    def item_title(self, event: Event) -> str:
        if event.is_cancelled:
            return _("Cancelled: %(title)s") % {"title": event.title}
        return event.title

    def item_description(self, event: Event) -> str:
        # When it takes place first: the entry's own dates are when it was announced.
        when = date_format(localtime(event.starts_at), "DATETIME_FORMAT")
        starts = _("Starts %(when)s (Norwegian time).") % {"when": when}
        return f"{starts}\n\n{event.description}".strip()

    def item_link(self, event: Event) -> str:
        return f"{settings.SITE_URL}{event.get_absolute_url()}"

    def item_pubdate(self, event: Event) -> datetime:
        return event.created

    def item_updateddate(self, event: Event) -> datetime:
        return event.updated

    def item_author_name(self, event: Event) -> str | None:
        return str(event.organiser) if event.organiser else None

    def item_author_link(self, event: Event) -> str | None:
        get_absolute_url = getattr(event.organiser, "get_absolute_url", None)
        return f"{settings.SITE_URL}{get_absolute_url()}" if get_absolute_url else None

    def item_categories(self, event: Event) -> list[str]:
        return [str(event.get_kind_display())]
