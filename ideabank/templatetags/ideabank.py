"""Template helpers for the site frame."""

from django import template
from django.contrib.messages import constants
from django.urls import translate_url

from ideabank import desk

register = template.Library()

# Designsystemet's alert colours for Django's message levels.
ALERT_COLOURS = {
    constants.DEBUG: "info",
    constants.INFO: "info",
    constants.SUCCESS: "success",
    constants.WARNING: "warning",
    constants.ERROR: "danger",
}


@register.simple_tag(takes_context=True)
def page_in_language(context: template.Context, language_code: str) -> str:
    """The address of this page in another language: same view, arguments and query.

    Worked out while the page's own language is active, so the path resolves;
    the language switch sends it as `next`, and set_language keeps it as it is.
    """
    request = context.get("request")
    if request is None:
        return "/"
    return translate_url(request.get_full_path(), language_code)


@register.filter
def alert_colour(message) -> str:
    return ALERT_COLOURS.get(message.level, "info")


@register.simple_tag(takes_context=True)
def moderators_desk(context: template.Context) -> list:
    """What waits for the person on the admin's front page (ideabank.desk)."""
    return desk.waiting(context["request"].user)
