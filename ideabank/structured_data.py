"""schema.org JSON-LD and Open Graph for the public pages (initiative, organisation, event,
network), built as plain dicts here and written by the `seo` template tags.

Only ever called for public objects: the templates leave the JSON-LD out of a draft's
preview. Everything is read from what the page's own query already loaded (the
initiative's `with_details()` prefetches, the event's select_related), so no queries are
added. The goals and targets link to the UN's SDG identifiers (metadata.un.org/sdg, the
UN SDG knowledge organisation system): `http://metadata.un.org/sdg/12` for goal 12,
`http://metadata.un.org/sdg/12.3` for target 12.3.
"""

from django.conf import settings
from django.urls import reverse

# A local context: the JSON-LD expands without fetching https://schema.org.
CONTEXT = {"@vocab": "https://schema.org/"}
SDG_BASE = "http://metadata.un.org/sdg/"


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _clean(data: dict) -> dict:
    """Drop empty values: schema.org has no use for "" or []."""
    return {key: value for key, value in data.items() if value not in (None, "", [], {})}


def sdg_goal_id(number: int) -> str:
    return f"{SDG_BASE}{number}"


def sdg_target_id(code: str) -> str:
    return f"{SDG_BASE}{code}"


def organisation_ref(organisation) -> dict | None:
    """An Organization node: its page's URL only when it has a public page."""
    if organisation is None:
        return None
    public = getattr(organisation, "status", None) in (None, "approved")
    return _clean(
        {
            "@type": "Organization",
            "@id": absolute(organisation.get_absolute_url()) if public else None,
            "name": organisation.name,
            "url": absolute(organisation.get_absolute_url()) if public else None,
        }
    )


def initiative(obj) -> dict:
    url = absolute(obj.get_absolute_url())
    lead = organisation_ref(obj.lead_organisation)
    about = [{"@id": sdg_goal_id(goal.number)} for goal in obj.goals.all()]
    about += [{"@id": sdg_target_id(target.code)} for target in obj.targets.all()]
    image = absolute(reverse("initiatives:image", args=[obj.slug])) if obj.image else None
    return _clean(
        {
            "@context": CONTEXT,
            "@type": "CreativeWork",
            "@id": url,
            "url": url,
            "name": obj.title,
            "description": obj.summary,
            "inLanguage": obj.language,
            "datePublished": _iso(obj.published_at),
            "dateModified": _iso(obj.updated),
            "author": lead,
            "publisher": lead,
            "about": about,
            "keywords": ", ".join(sorted(tag.name for tag in obj.tags.all())),
            "image": image,
        }
    )


def organisation(obj) -> dict:
    url = absolute(obj.get_absolute_url())
    return _clean(
        {
            "@context": CONTEXT,
            "@type": "Organization",
            "@id": url,
            "url": url,
            "name": obj.name,
            "description": obj.description,
            "sameAs": obj.website,
        }
    )


def network(obj) -> dict:
    url = absolute(obj.get_absolute_url())
    return _clean(
        {
            "@context": CONTEXT,
            "@type": "Organization",
            "@id": url,
            "url": url,
            "name": obj.name,
            "description": obj.description,
            "sameAs": obj.website,
            "parentOrganization": network_ref(obj.parent) if obj.parent_id else None,
        }
    )


def network_ref(obj) -> dict:
    url = absolute(obj.get_absolute_url())
    return {"@type": "Organization", "@id": url, "name": obj.name, "url": url}


def event(obj) -> dict:
    url = absolute(obj.get_absolute_url())
    places = []
    if obj.venue:
        places.append({"@type": "Place", "name": obj.venue, "address": obj.venue})
    if obj.online_url:
        places.append({"@type": "VirtualLocation", "url": obj.online_url})
    if obj.venue and obj.online_url:
        mode = "MixedEventAttendanceMode"
    elif obj.online_url:
        mode = "OnlineEventAttendanceMode"
    else:
        mode = "OfflineEventAttendanceMode"
    organiser = obj.organiser
    if organiser is None:
        organiser_node = None
    elif hasattr(organiser, "status"):
        organiser_node = organisation_ref(organiser)
    else:  # a network or working group: both always public
        organiser_node = network_ref(organiser)
    return _clean(
        {
            "@context": CONTEXT,
            "@type": "Event",
            "@id": url,
            "url": url,
            "name": obj.title,
            "description": obj.description,
            "startDate": _iso(obj.starts_at),
            "endDate": _iso(obj.ends_at),
            "eventStatus": "https://schema.org/"
            + ("EventCancelled" if obj.is_cancelled else "EventScheduled"),
            "eventAttendanceMode": f"https://schema.org/{mode}",
            "location": places[0] if len(places) == 1 else places,
            "organizer": organiser_node,
        }
    )


BUILDERS = {
    "initiative": initiative,
    "organisation": organisation,
    "network": network,
    "event": event,
}


def open_graph(obj, kind: str) -> dict:
    """og:title, og:description, og:type, og:image for an object's page (og:url and
    og:locale come from the request)."""
    if kind == "initiative":
        image = absolute(reverse("initiatives:image", args=[obj.slug])) if obj.image else ""
        return {
            "title": obj.title,
            "description": obj.summary,
            "type": "article",
            "image": image,
            "image:alt": obj.image_alt if obj.image else "",
        }
    if kind == "event":
        return {"title": obj.title, "description": obj.description, "type": "website"}
    return {"title": obj.name, "description": obj.description, "type": "website"}
