"""Refuse, with 400, requests carrying text PostgreSQL cannot store.

PostgreSQL `text` cannot hold a NUL byte (U+0000): a query with one fails in the database
driver ("A string literal cannot contain NUL"), which without this middleware is a 500 in
the admin's filters and autocomplete and in any form that forgets to check. One middleware
answers every such request with the site's 400 page before any view runs, so every page,
the admin included, behaves the same; views need not strip NUL themselves.

Lone surrogates, the other thing PostgreSQL's UTF-8 refuses, cannot reach the request:
Django decodes the path, query string and form fields with errors="replace".

Put it after the request-size limit (ideabank.request_limits): it reads form bodies.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation

NUL = "\x00"

# Only these bodies are parsed into request.POST; anything else (JSON, say) is left to the
# view that reads it, and reading request.POST for it would only give an empty QueryDict.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(items) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in items)


def carries_nul(request: HttpRequest) -> bool:
    """Whether the path, a query or form field name or value, or an uploaded file's name
    holds a NUL byte. File contents are bytes and may hold anything."""
    if NUL in request.path_info or _has_nul(request.GET.lists()):
        return True
    if request.method != "POST" or not request.content_type.startswith(FORM_TYPES):
        return False
    if _has_nul(request.POST.lists()):
        return True
    return any(
        NUL in key or any(NUL in (upload.name or "") for upload in uploads)
        for key, uploads in request.FILES.lists()
    )


def bad_request(request: HttpRequest) -> HttpResponse:
    """The site's 400 page in the language of the URL (LocaleMiddleware has not run yet)."""
    language = translation.get_language_from_request(request, check_path=True)
    with translation.override(language):
        try:
            body = render_to_string("400.html", request=request)
        except TemplateDoesNotExist:  # pragma: no cover - the project ships 400.html
            body = "Bad Request"
    return HttpResponseBadRequest(body)


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if carries_nul(request):
            return bad_request(request)
        return self.get_response(request)
