"""The read-only JSON API, /api/v1/: published initiatives, approved organisations,
networks, working groups, events and the reference lists (issue 13).

Built with django-ninja rather than Django REST framework with drf-spectacular: the
endpoints are typed functions whose Pydantic schemas are both the validation and the
OpenAPI 3 schema (no serializer and schema annotations kept in step by hand), it is one
small dependency instead of two large ones. Its documentation is our own page,
/api/dokumentasjon/ (ideabank/api_docs.py), rendered from this schema; /api/v1/docs
redirects there (ninja's Swagger UI failed WCAG 2.1 and needed JavaScript).

What every answer shares is done here, around each of ninja's views (`PublicAPI`):
- `?lang=nb|en` (default nb) chooses the language of labels and links; anything else is
  400. The answer says which in Content-Language.
- A per-client-address rate limit (API_REQUESTS_PER_MINUTE, ideabank.ratelimit): 429
  with Retry-After.
- CORS: `Access-Control-Allow-Origin: *` on every answer, and an answer to the OPTIONS
  preflight for GET; no credentials (the API reads nothing of a session).
- Conditional GET: an ETag (a digest of the body, so always exact) and Last-Modified
  (what the endpoint says its data last changed, `last_modified()`); 304 for a matching
  If-None-Match or, without one, a later If-Modified-Since.
- Bad input is a 4xx with a JSON body {"detail": ..., "problems": [...]}, never a 500:
  ninja's validation errors are 400 here, not 422.

The routers with the endpoints live with their apps: initiatives/api.py and networks/api.py.
"""

import functools
from datetime import datetime
from typing import Literal

from django.conf import settings
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import translation
from django.utils.cache import get_conditional_response, set_response_etag
from django.utils.http import http_date
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router
from ninja.errors import HttpError, ValidationError
from pydantic import BaseModel, Field

from ideabank.ratelimit import Limit, client_ip
from ideabank.structured_data import sdg_goal_id, sdg_target_id
from initiatives.models import ActorType, County, FocusArea, Goal, Municipality, Purpose

LANGUAGES = ("nb", "en")
# Declared on every endpoint for the schema; public_view has checked it before.
Lang = Literal["nb", "en"]


def api_limit() -> Limit:
    """Read at each request, so the setting can change without a restart of the module."""
    return Limit("api", limit=settings.API_REQUESTS_PER_MINUTE, window=60)


CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Content-Language, Retry-After",
}


def error(status: int, detail: str, problems: list[str] | None = None) -> JsonResponse:
    return JsonResponse({"detail": detail, "problems": problems or []}, status=status)


class BadRequest(HttpError):
    """The request asks for something that cannot be: 400 with what was wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(400, _("The request was not understood."))
        self.problems = problems


def last_modified(request: HttpRequest, *moments: datetime | None) -> None:
    """Tell the answer's Last-Modified: the newest of `moments` (None ones left out)."""
    known = [moment for moment in moments if moment is not None]
    if known:
        request.api_last_modified = max(known)


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


MARKER = "9876543210"  # fits every converter our URLs use (int, slug, str)


@functools.lru_cache(maxsize=128)
def _pattern(name: str, language: str, urlconf: str) -> str:
    with translation.override(language):
        return reverse(name, args=[MARKER])


def link(name: str, value: object) -> str:
    """The absolute address of URL `name` with one argument, in the active language:
    reverse() once per name and language, as a page of a hundred rows links some
    five hundred times and reverse() was a third of its time."""
    pattern = _pattern(name, translation.get_language(), settings.ROOT_URLCONF)
    return absolute(pattern.replace(MARKER, str(value)))


def page_url(request: HttpRequest, page: int | None) -> str | None:
    """This list's address with another page, every other parameter (lang too) kept."""
    if page is None:
        return None
    query = request.GET.copy()
    query["page"] = str(page)
    return absolute(f"{request.path}?{query.urlencode()}")


def public_view(view):
    """What every API answer shares (see the module docstring), around one ninja view."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            response["Access-Control-Allow-Headers"] = (
                "Accept, Accept-Language, If-None-Match, If-Modified-Since"
            )
            response["Access-Control-Max-Age"] = "86400"
            return _with_cors(response)
        limit = api_limit()
        if limit.too_many(client_ip(request)):
            response = error(429, _("Too many requests. Wait a minute and try again."))
            response["Retry-After"] = str(limit.seconds_left())
            return _with_cors(response)
        languages = request.GET.getlist("lang") or [settings.LANGUAGE_CODE]
        if len(languages) > 1 or languages[0] not in LANGUAGES:
            return _with_cors(
                error(400, _("The request was not understood."), [_("lang must be nb or en.")])
            )
        language = languages[0]
        head = request.method == "HEAD"
        if head:
            request.method = "GET"  # ninja's views answer GET; the body is dropped below
        with translation.override(language):
            response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming:
            set_response_etag(response)
            moment = getattr(request, "api_last_modified", None)
            if moment is not None:
                response["Last-Modified"] = http_date(moment.timestamp())
            response = get_conditional_response(
                request,
                etag=response.get("ETag"),
                last_modified=int(moment.timestamp()) if moment is not None else None,
                response=response,
            )
        response["Content-Language"] = language
        if head and not response.streaming:
            response.content = b""
        return _with_cors(response)

    return wrapped


def _with_cors(response: HttpResponse) -> HttpResponse:
    for name, value in CORS_HEADERS.items():
        response[name] = value
    return response


class PublicAPI(NinjaAPI):
    """A NinjaAPI whose every URL (the schema too) answers through public_view."""

    def _get_urls(self):
        patterns = super()._get_urls()
        for pattern in patterns:
            pattern.callback = public_view(pattern.callback)
        return patterns

    def get_openapi_schema(self, **kwargs):
        """The schema, saying what ninja cannot know: a request with a NUL byte anywhere
        is refused before the API sees it, with the site's 400 page in HTML
        (ideabank.clean_input)."""
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                refused = responses.get(400) or responses.get("400")
                if refused is not None:
                    refused["content"]["text/html"] = {"schema": {"type": "string"}}
                    refused["description"] = (
                        "The request was not understood: JSON listing the problems (HTML "
                        "when the request holds a NUL byte, refused before the API)."
                    )
        return schema


api = PublicAPI(
    title="Idébanken API",
    version="1",
    description=(
        "Read-only open data from Idébanken: published sustainability initiatives, "
        "approved organisations, networks, working groups, events and the reference lists. "
        "`lang=nb|en` (default nb) chooses the language of labels and links. "
        "`/initiatives/` takes exactly the filters and search of the web list (/tiltak/) "
        "and answers from the same engine; `/networks/`, `/working-groups/` and `/events/` "
        "take the filters of their web lists, through the same filter sets. A filter value "
        "that is not understood is a 400 that lists the problems (the web lists ignore it "
        "with a message). "
        "Lists are paged: `page` (from 1) and `page_size` (default 20, at most 100). "
        "Every answer has an ETag and Last-Modified (conditional GET answers 304) and "
        "`Access-Control-Allow-Origin: *`; each client address may make "
        f"{settings.API_REQUESTS_PER_MINUTE} requests a minute (then 429 with Retry-After). "
        "Content: CC BY 4.0."
    ),
    urls_namespace="api",
    # The docs are our own page (ideabank/api_docs.py); /api/v1/docs redirects to it.
    docs_url=None,
    openapi_url="/openapi.json",
)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = []
    for item in exc.errors:
        where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("query", "path"))
        problems.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", "")))
    return error(400, _("The request was not understood."), problems)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(404, _("There is nothing here."))


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error(exc.status_code, str(exc), getattr(exc, "problems", None))


class Out(BaseModel):
    """What the API answers with: plain pydantic models of the dicts the endpoints build.
    Not ninja's Schema, whose per-field wrapper for Django objects cost a fifth of a page
    of a hundred initiatives."""


class Problem(Out):
    detail: str
    problems: list[str]


ERRORS = {400: Problem, 404: Problem, 429: Problem}


class Page(Out):
    """The shape every paged list shares."""

    count: int = Field(description="How many there are in all.")
    page: int
    pages: int
    next: str | None
    previous: str | None


MAX_PAGE_SIZE = 100


def paged(request: HttpRequest, paginator, page: int) -> dict:
    """The page's fields of a list answer; 404 for a page past the end."""
    try:
        current = paginator.page(page)
    except InvalidPage as exc:
        raise HttpError(404, _("There is no such page.")) from exc
    return {
        "count": paginator.count,
        "page": current.number,
        "pages": paginator.num_pages,
        "next": page_url(request, current.next_page_number() if current.has_next() else None),
        "previous": page_url(
            request, current.previous_page_number() if current.has_previous() else None
        ),
        "results": current.object_list,
    }


def paged_rows(request: HttpRequest, rows, page: int, page_size: int, item) -> dict:
    """A list answer of database rows: one page of `rows`, each turned into its answer by
    `item`, Last-Modified from the newest `updated` among them."""
    answer = paged(request, Paginator(rows, page_size), page)
    shown = list(answer["results"])
    last_modified(request, *(row.updated for row in shown))
    answer["results"] = [item(row) for row in shown]
    return answer


# --- The index and the reference lists ------------------------------------------------

root = Router(tags=["index"])


class Index(Out):
    initiatives: str
    organisations: str
    networks: str
    working_groups: str
    events: str
    reference: dict[str, str]
    openapi: str
    docs: str


@root.get("/", response={200: Index, **ERRORS}, summary="Index")
def index(request: HttpRequest, lang: Lang = "nb") -> dict:
    """Links to every list, the schema and the docs."""
    base = absolute(reverse("api:api-root"))
    return {
        "initiatives": f"{base}initiatives/",
        "organisations": f"{base}organisations/",
        "networks": f"{base}networks/",
        "working_groups": f"{base}working-groups/",
        "events": f"{base}events/",
        "reference": {
            name: f"{base}reference/{name}/"
            for name in (
                "goals",
                "purposes",
                "actor-types",
                "focus-areas",
                "counties",
                "municipalities",
            )
        },
        "openapi": f"{base}openapi.json",
        "docs": absolute(reverse("api_reference")),
    }


reference = Router(tags=["reference"])


class TargetOut(Out):
    code: str
    text: str
    un_id: str


class GoalOut(Out):
    number: int
    short_title: str
    title: str
    colour: str
    un_id: str
    url: str


class GoalWithTargets(GoalOut):
    targets: list[TargetOut]


class TermOut(Out):
    slug: str
    name: str


class PurposeOut(TermOut):
    description: str


class ActorTypeOut(TermOut):
    group: str
    group_label: str


class CountyOut(Out):
    number: str
    name: str


class MunicipalityOut(CountyOut):
    county: CountyOut


def newest(rows) -> datetime | None:
    return max((row.updated for row in rows), default=None)


def goal_out(goal: Goal) -> dict:
    return {
        "number": goal.number,
        "short_title": goal.short,
        "title": goal.title,
        "colour": goal.colour,
        "un_id": sdg_goal_id(goal.number),
        "url": link("initiatives:goal", goal.number),
    }


def target_out(target) -> dict:
    return {"code": target.code, "text": target.text, "un_id": sdg_target_id(target.code)}


@reference.get("/goals/", response={200: list[GoalWithTargets], **ERRORS}, summary="SDG goals")
def goals(request: HttpRequest, lang: Lang = "nb") -> list:
    """The 17 goals with their targets, in the chosen language, with their UN identifiers."""
    rows = list(Goal.objects.prefetch_related("targets").order_by("number"))
    last_modified(request, newest(rows), *(newest(g.targets.all()) for g in rows))
    return [{**goal_out(g), "targets": [target_out(t) for t in g.targets.all()]} for g in rows]


@reference.get("/purposes/", response={200: list[PurposeOut], **ERRORS}, summary="Purposes")
def purposes(request: HttpRequest, lang: Lang = "nb") -> list:
    rows = list(Purpose.objects.all())
    last_modified(request, newest(rows))
    return [{"slug": p.slug, "name": p.name, "description": p.description} for p in rows]


@reference.get("/actor-types/", response={200: list[ActorTypeOut], **ERRORS}, summary="Actor types")
def actor_types(request: HttpRequest, lang: Lang = "nb") -> list:
    rows = list(ActorType.objects.all())
    last_modified(request, newest(rows))
    return [
        {"slug": a.slug, "name": a.name, "group": a.group, "group_label": a.get_group_display()}
        for a in rows
    ]


@reference.get("/focus-areas/", response={200: list[TermOut], **ERRORS}, summary="Focus areas")
def focus_areas(request: HttpRequest, lang: Lang = "nb") -> list:
    rows = list(FocusArea.objects.all())
    last_modified(request, newest(rows))
    return [{"slug": f.slug, "name": f.name} for f in rows]


@reference.get("/counties/", response={200: list[CountyOut], **ERRORS}, summary="Counties")
def counties(request: HttpRequest, lang: Lang = "nb") -> list:
    rows = list(County.objects.all())
    last_modified(request, newest(rows))
    return [{"number": c.number, "name": c.name} for c in rows]


@reference.get(
    "/municipalities/", response={200: list[MunicipalityOut], **ERRORS}, summary="Municipalities"
)
def municipalities(request: HttpRequest, lang: Lang = "nb") -> list:
    rows = list(Municipality.objects.select_related("county"))
    last_modified(request, newest(rows), *(m.county.updated for m in rows))
    return [
        {
            "number": m.number,
            "name": m.name,
            "county": {"number": m.county.number, "name": m.county.name},
        }
        for m in rows
    ]


def _routers() -> None:
    # The apps' routers import this module's helpers, so they are added after it is made.
    from initiatives.api import router as initiatives_router
    from networks.api import router as networks_router

    api.add_router("", root)
    api.add_router("/reference", reference)
    api.add_router("", initiatives_router)
    api.add_router("", networks_router)


_routers()
