"""The JSON API's reference page (/api/dokumentasjon/): every endpoint of /api/v1/, read
from the API's own OpenAPI schema (ideabank.api), server-rendered, accessible, in our
templates and styles. It replaced ninja's Swagger UI, which failed WCAG 2.1 and needed
JavaScript; /api/v1/docs redirects here.

The schema is the one description of the API: this module only reads it, turning each
operation into what the template shows (parameters, the fields of the 200 answer, the error
answers and a curl example). Its texts are English and stay so; the page marks them.
"""

import functools
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

from ideabank import api as api_module

REF_PREFIX = "#/components/schemas/"
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


@functools.cache
def openapi_schema() -> dict:
    """The API's schema, built once per process: it comes from the code alone (no query,
    no setting that changes at run time, no language: its texts are English), and
    building it takes some 80 ms."""
    return api_module.api.get_openapi_schema()


# --- Text ------------------------------------------------------------------------------


def paragraphs(text: str | None) -> list[SafeString]:
    """The schema's markdown-ish text as paragraphs: blank lines part them, other line
    breaks are spaces, `code` is code; everything else is escaped."""
    result = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        line = " ".join(block.split())
        if not line:
            continue
        html = re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(line))
        result.append(mark_safe(html))  # noqa: S308 - escaped above; only <code> added
    return result


# --- Types -----------------------------------------------------------------------------


def _ref_name(ref: str) -> str:
    return ref.removeprefix(REF_PREFIX)


def type_name(schema: dict) -> str:
    """A short, language-free name of a JSON Schema type: `string`, `integer`,
    `string (date-time)`, `InitiativeItem`, `string[]`, `string | null`."""
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    for combiner in ("anyOf", "oneOf"):
        if combiner in schema:
            return " | ".join(type_name(part) for part in schema[combiner])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return type_name(schema["allOf"][0])
    kind = schema.get("type")
    if kind == "array":
        inner = type_name(schema.get("items", {}))
        return f"({inner})[]" if " | " in inner else f"{inner}[]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object<string, {type_name(schema['additionalProperties'])}>"
    if isinstance(kind, list):
        return " | ".join(kind)
    if kind and "format" in schema:
        return f"{kind} ({schema['format']})"
    return kind or "any"


def _parts(schema: dict):
    """The schema and what it is made of (the non-null sides of anyOf, an array's items):
    where allowed values and limits are written."""
    yield schema
    for combiner in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(combiner, ()):
            yield from _parts(part)
    if isinstance(schema.get("items"), dict):
        yield from _parts(schema["items"])


def allowed_values(schema: dict) -> list[str]:
    values: list[str] = []
    for part in _parts(schema):
        values += [str(value) for value in part.get("enum", ()) if str(value) not in values]
    return values


def limits(schema: dict) -> dict:
    """minimum, maximum and maxLength, None where the schema does not give them."""
    found = dict.fromkeys(("minimum", "maximum", "maxLength"))
    for part in _parts(schema):
        for key in ("minimum", "maximum", "maxLength"):
            if key in part and found[key] is None:
                found[key] = part[key]
    return found


def default_value(schema: dict) -> str | None:
    if "default" not in schema:
        return None
    value = schema["default"]
    if value in ([], None, ""):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- Objects and their fields ----------------------------------------------------------


def resolve(schema: dict, components: dict) -> dict:
    """Follow a $ref (also one inside anyOf with null) to the component it names."""
    if "$ref" in schema:
        return components.get(_ref_name(schema["$ref"]), {})
    for combiner in ("anyOf", "oneOf"):
        sides = [part for part in schema.get(combiner, ()) if part.get("type") != "null"]
        if len(sides) == 1:
            return resolve(sides[0], components)
    if len(schema.get("allOf", ())) == 1:
        return resolve(schema["allOf"][0], components)
    return schema


def _nested(schema: dict, components: dict) -> tuple[str, dict] | None:
    """For a field holding an object or a list of objects: the separator for its fields'
    names ("." or "[].") and the object's schema."""
    target = resolve(schema, components)
    if target.get("type") == "array":
        item = resolve(target.get("items", {}), components)
        if item.get("properties"):
            return "[].", item
        return None
    if target.get("properties"):
        return ".", target
    return None


def fields(schema: dict, components: dict, *, prefix: str = "", depth: int = 1) -> list[dict]:
    """The fields of an object: name, type, description, required; the fields of objects
    inside it `depth` levels deep, named `outer.inner` or `outer[].inner`."""
    rows = []
    required = set(schema.get("required", ()))
    for name, field in schema.get("properties", {}).items():
        rows.append(
            {
                "name": f"{prefix}{name}",
                "type": type_name(field),
                "required": name in required,
                "description": paragraphs(field.get("description")),
                "allowed": allowed_values(field),
                "nested": bool(prefix),
            }
        )
        inner = _nested(field, components) if depth > 0 else None
        if inner is not None:
            separator, target = inner
            rows += fields(target, components, prefix=f"{prefix}{name}{separator}", depth=depth - 1)
    return rows


def answer(operation: dict, components: dict) -> dict | None:
    """The 200 answer: its type, whether it is a list, and the fields (of each item)."""
    ok = operation.get("responses", {}).get("200") or operation.get("responses", {}).get(200)
    if ok is None:
        return None
    schema = ok.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return {"type": None, "is_list": False, "fields": [], "description": ok["description"]}
    target = resolve(schema, components)
    is_list = target.get("type") == "array"
    if is_list:
        target = resolve(target.get("items", {}), components)
    return {
        "type": type_name(schema),
        "is_list": is_list,
        "fields": fields(target, components),
        "description": ok.get("description", ""),
    }


# --- Operations ------------------------------------------------------------------------


def without_null(schema: dict) -> dict:
    """A parameter's schema without its `null` side: a query string has no null, only a
    parameter left out."""
    for combiner in ("anyOf", "oneOf"):
        sides = [part for part in schema.get(combiner, ()) if part.get("type") != "null"]
        if combiner in schema and len(sides) == 1:
            return {**sides[0], **{k: v for k, v in schema.items() if k != combiner}}
    return schema


def parameter(raw: dict) -> dict:
    schema = without_null(raw.get("schema", {}))
    return {
        "name": raw["name"],
        "where": raw["in"],
        "type": type_name(schema),
        "required": bool(raw.get("required")),
        "default": default_value(schema),
        "allowed": allowed_values(schema),
        "limits": limits(schema),
        "description": paragraphs(raw.get("description") or schema.get("description")),
    }


def example_address(path: str, language: str) -> str:
    """The endpoint's address for the example (`curl "…"`): path parameters as <name> to
    fill in, and ?lang= for the page's language when it is not the API's default."""
    address = settings.SITE_URL + re.sub(r"\{(\w+)\}", r"<\1>", path)
    if language != settings.LANGUAGE_CODE:
        address += f"?lang={language}"
    return address


def anchor(method: str, path: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", f"{method} {path}".lower()))


def operation(method: str, path: str, raw: dict, components: dict, language: str) -> dict:
    responses = raw.get("responses", {})
    return {
        "id": anchor(method, path),
        "method": method.upper(),
        "path": path,
        "summary": raw.get("summary") or f"{method.upper()} {path}",
        "description": paragraphs(raw.get("description")),
        "parameters": [parameter(item) for item in raw.get("parameters", ())],
        "answer": answer(raw, components),
        "errors": [
            {"status": str(status), "description": response.get("description", "")}
            for status, response in sorted(responses.items(), key=lambda item: str(item[0]))
            if not str(status).startswith("2")
        ],
        "example": example_address(path, language),
    }


def reference(schema: dict, language: str) -> dict:
    """What the page shows: the API's title and description, and its operations grouped
    by their first tag, in the schema's order."""
    components = schema.get("components", {}).get("schemas", {})
    groups: dict[str, dict] = {}
    for path, operations in schema.get("paths", {}).items():
        for method in METHODS:
            if method not in operations:
                continue
            raw = operations[method]
            tag = (raw.get("tags") or ["API"])[0]
            group = groups.setdefault(
                tag, {"id": f"group-{slugify(tag)}", "name": tag, "operations": []}
            )
            group["operations"].append(operation(method, path, raw, components, language))
    info = schema.get("info", {})
    return {
        "title": info.get("title", ""),
        "version": info.get("version", ""),
        "description": paragraphs(info.get("description")),
        "groups": list(groups.values()),
    }


# --- Views -----------------------------------------------------------------------------


def api_reference(request: HttpRequest) -> HttpResponse:
    """The reference of every endpoint, from the schema."""
    language = translation.get_language()
    return render(
        request,
        "pages/api_reference.html",
        {
            "api": reference(openapi_schema(), language),
            "site_url": settings.SITE_URL,
            "api_base": reverse("api:api-root"),
            "api_schema": reverse("api:openapi-json"),
        },
    )


def docs_redirect(request: HttpRequest) -> HttpResponse:
    """/api/v1/docs, the address the data catalogue (open_data.API_DOCS) and older links
    give: to the page, in English for ?lang=en as the API itself."""
    language = "en" if request.GET.get("lang") == "en" else settings.LANGUAGE_CODE
    with translation.override(language):
        return HttpResponseRedirect(reverse("api_reference"))
