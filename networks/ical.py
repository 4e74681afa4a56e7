"""iCalendar (.ics) output for events: one file per event and subscribable feeds.

The views only wrap these bytes in a response (content type ``text/calendar;
charset=utf-8``); everything that makes the file valid in calendar programs lives
here: stable UIDs, times in Europe/Oslo with a VTIMEZONE, and text escaping, which
the icalendar library does for us.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.urls import NoReverseMatch
from django.utils.translation import gettext as _
from icalendar import Calendar, Timezone
from icalendar import Event as VEvent
from icalendar.prop import vCalAddress, vDuration

if TYPE_CHECKING:
    # Only for the annotations: networks.models uses this module (Event.cancel).
    from networks.models import Event

TIMEZONE_NAME = "Europe/Oslo"
OSLO = ZoneInfo(TIMEZONE_NAME)
PRODID = "-//Idébanken//NONSGML Idébanken//NB"
# Subscribed calendars poll; half a day keeps programmes fresh without hammering us.
FEED_REFRESH = timedelta(hours=12)
# The library's default VTIMEZONE span; widened when an event lies beyond it.
TIMEZONE_FIRST_DATE = date(1970, 1, 1)
TIMEZONE_LAST_DATE = date(2038, 1, 1)

# What _vevent reads besides the event's own columns.
CALENDAR_RELATED = ("organiser_network", "organiser_working_group", "organiser_organisation")


def calendar_events(queryset: "QuerySet[Event]") -> "QuerySet[Event]":
    """The queryset with what a calendar reads, so a feed costs one query whatever its size."""
    return queryset.select_related(*CALENDAR_RELATED)


def calendar_for(events: Iterable["Event"], *, name: str) -> bytes:
    """A subscribable feed (VCALENDAR) of ``events``, called ``name`` in calendar programs.

    Pass ``calendar_events(queryset)`` so the organisers come in the same query.
    """
    calendar = _calendar(list(events), name=name)
    # Subscriptions only: a one-off download has nothing to refresh.
    calendar.add("REFRESH-INTERVAL", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    # Outlook's name for the same hint; an X- property needs its value type spelled out.
    calendar.add("X-PUBLISHED-TTL", vDuration(FEED_REFRESH))
    return calendar.to_ical()


def event_calendar(event: "Event") -> bytes:
    """The .ics file for one event (the "add to calendar" download)."""
    return _calendar([event], name=event.title).to_ical()


def cancellation_calendar(event: "Event", *, attendee: str = "") -> str:
    """The iTIP cancellation (METHOD:CANCEL) e-mailed when `event` is called off: calendar
    programs that hold the event (same UID) mark it cancelled or remove it. `attendee` is
    the address it is sent to, which Outlook wants to find in the file."""
    calendar = _calendar([event], name=event.title, method="CANCEL")
    vevent = calendar.walk("VEVENT")[0]
    organiser = vCalAddress(f"mailto:{parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}")
    organiser.params["CN"] = settings.SITE_NAME
    vevent.add("ORGANIZER", organiser)
    if attendee:
        vevent.add("ATTENDEE", vCalAddress(f"mailto:{attendee}"))
    return calendar.to_ical().decode()


def event_uid(event: "Event") -> str:
    """Globally unique and stable across renders, so calendar programs update rather than duplicate."""
    return f"event-{event.pk}@{_site_host()}"


def _calendar(events: list["Event"], *, name: str, method: str = "PUBLISH") -> Calendar:
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", method)
    calendar.add("NAME", name)
    # The X-WR-* names are what Google Calendar and Outlook read; NAME is RFC 7986.
    calendar.add("X-WR-CALNAME", name)
    calendar.add("X-WR-TIMEZONE", TIMEZONE_NAME)
    # Always present (even in an empty feed) because X-WR-TIMEZONE names it.
    calendar.add_component(_oslo_timezone(events))
    for event in events:
        calendar.add_component(_vevent(event))
    return calendar


def _oslo_timezone(events: list["Event"]) -> Timezone:
    last_date = max([TIMEZONE_LAST_DATE, *(date(e.ends_at.year + 2, 1, 1) for e in events)])
    first_date = min([TIMEZONE_FIRST_DATE, *(date(e.starts_at.year - 1, 1, 1) for e in events)])
    return Timezone.from_tzinfo(
        OSLO, tzid=TIMEZONE_NAME, first_date=first_date, last_date=last_date
    )


def _vevent(event: "Event") -> VEvent:
    page_url = _page_url(event)
    vevent = VEvent()
    vevent.add("UID", event_uid(event))
    # The last change rather than "now": the same event renders the same bytes.
    vevent.add("DTSTAMP", _utc(event.updated))
    vevent.add("CREATED", _utc(event.created))
    vevent.add("LAST-MODIFIED", _utc(event.updated))
    vevent.add("DTSTART", event.starts_at.astimezone(OSLO))
    vevent.add("DTEND", event.ends_at.astimezone(OSLO))
    if event.is_cancelled:
        # STATUS alone is shown by few calendar programs; the title says it everywhere.
        vevent.add("SUMMARY", _("Cancelled: %(title)s") % {"title": event.title})
        # Cancelling is the event's one revision after it was published (RFC 5546).
        vevent.add("SEQUENCE", 1)
    else:
        vevent.add("SUMMARY", event.title)
    vevent.add("DESCRIPTION", _description(event, page_url))
    location = event.venue or event.online_url
    if location:
        vevent.add("LOCATION", location)
    url = page_url or event.online_url
    if url:
        vevent.add("URL", url)
    vevent.add("STATUS", "CANCELLED" if event.is_cancelled else "CONFIRMED")
    return vevent


def _description(event: "Event", page_url: str) -> str:
    lines = [event.description.strip()] if event.description.strip() else []
    if event.is_cancelled:
        cancelled = _("This event is cancelled.")
        if event.cancellation_reason:
            cancelled = f"{cancelled} {event.cancellation_reason}"
        lines = [cancelled, "", *lines]
    details = []
    if event.organiser is not None:
        details.append(_("Organiser: %(name)s") % {"name": event.organiser})
    if event.venue and event.online_url:
        details.append(_("Online: %(url)s") % {"url": event.online_url})
    if event.recording_url:
        details.append(_("Recording: %(url)s") % {"url": event.recording_url})
    details.append(_("More information: %(url)s") % {"url": page_url or settings.SITE_URL})
    if lines:
        lines.append("")
    return "\n".join(lines + details)


def _page_url(event: "Event") -> str:
    # Event pages arrive with the views; until then there is no page to link to.
    get_absolute_url = getattr(event, "get_absolute_url", None)
    if get_absolute_url is None:
        return ""
    try:
        return f"{settings.SITE_URL}{get_absolute_url()}"
    except NoReverseMatch:
        return ""


def _site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "idebanken"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC"))
