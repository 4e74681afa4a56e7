"""Small request helpers every app's views use."""

from django.http import Http404, HttpRequest, QueryDict
from django.utils.translation import gettext as _


def posted(request: HttpRequest) -> QueryDict | None:
    """The submitted data of a POST (even an empty one, so it shows its errors), else None."""
    return request.POST if request.method == "POST" else None


def page_number(request: HttpRequest) -> int:
    """The list page asked for (`?page=`); 404 for anything but a sensible number."""
    raw = request.GET.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise Http404(_("There is no such page."))
    return int(raw)
