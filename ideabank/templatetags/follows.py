"""The follow button (templates/includes/follow_button.html): whether the person follows
the thing on the page costs one query when they are logged in, none for anonymous
visitors, and no view has to look it up."""

from django import template
from django.http import QueryDict
from django.urls import reverse

from ideabank.follows import search_state
from ideabank.models import Follow
from initiatives.models import Goal, Initiative, Organisation
from networks.models import Network

register = template.Library()


def _target(thing) -> tuple[str, dict, str]:
    """The follow kind of `thing`, the Follow fields that find it and its follow URL."""
    if isinstance(thing, Initiative):
        kind, url = Follow.Kind.INITIATIVE, reverse("accounts:follow_initiative", args=[thing.slug])
        return kind, {"initiative": thing}, url
    if isinstance(thing, Organisation):
        url = reverse("accounts:follow_organisation", args=[thing.slug])
        return Follow.Kind.ORGANISATION, {"organisation": thing}, url
    if isinstance(thing, Goal):
        url = reverse("accounts:follow_goal", args=[thing.number])
        return Follow.Kind.GOAL, {"goal": thing}, url
    if isinstance(thing, Network):
        url = reverse("accounts:follow_network", args=[thing.slug])
        return Follow.Kind.NETWORK, {"network": thing}, url
    raise TypeError(f"{type(thing).__name__} cannot be followed")


@register.inclusion_tag("includes/follow_button.html", takes_context=True)
def follow_button(context: template.Context, thing=None, search: QueryDict | None = None) -> dict:
    """{% follow_button initiative %} (an organisation, network or goal likewise), or
    {% follow_button search=query %} for the initiative list's state, described by the
    list's chips."""
    request = context["request"]
    shown = {"next": request.get_full_path(), "is_search": search is not None}
    if search is not None:
        state = search_state(search)
        kind, lookup = Follow.Kind.SEARCH, {"search": state}
        shown["follow_url"] = reverse("accounts:follow_search") + (f"?{state}" if state else "")
        shown["chips"] = context.get("chips") or []
    else:
        kind, lookup, shown["follow_url"] = _target(thing)
        shown["name"] = str(thing.short if isinstance(thing, Goal) else thing)
        # People's texts carry their language (a goal's name is in the page's).
        shown["lang"] = getattr(thing, "language", "")
    shown["signed_in"] = request.user.is_authenticated
    if shown["signed_in"]:
        shown["follow"] = Follow.objects.of(request.user).filter(kind=kind, **lookup).first()
    return shown
