"""Refuses request bodies too large to be legitimate before anything reads them.

Django spools a multipart body to disk as soon as anything touches `request.POST`
(CSRF checking does, on every POST), whatever the URL. This middleware looks only at
the headers: a `Content-Length` above `settings.MAX_REQUEST_BYTES` gets 413, and a body
sent without a length (`Transfer-Encoding: chunked`) gets 411, as Django would read it
as empty anyway. The body itself is never read here.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

TOO_LARGE = _(
    "What was sent is larger than %(limit)d MB, so nothing was saved. Go back (your "
    "browser keeps what you typed) and send fewer or smaller files at a time."
)
LENGTH_REQUIRED = _("The request must state its length (Content-Length).")


def _refusal(request: HttpRequest, status: int, message) -> HttpResponse:
    # Runs before LocaleMiddleware: pick the language from the path, cookie or header.
    with translation.override(translation.get_language_from_request(request, check_path=True)):
        text = str(message) % {"limit": settings.MAX_REQUEST_BYTES // (1024 * 1024)}
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH", "").strip()
        if length:
            try:
                size = int(length)
            except ValueError:
                return HttpResponse(status=400)
            if size > settings.MAX_REQUEST_BYTES:
                return _refusal(request, 413, TOO_LARGE)
        elif "HTTP_TRANSFER_ENCODING" in request.META:
            return _refusal(request, 411, LENGTH_REQUIRED)
        return self.get_response(request)
