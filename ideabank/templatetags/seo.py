"""Head tags for search engines and sharing: canonical URL, hreflang alternates, Open Graph
and schema.org JSON-LD (the dicts come from ideabank/structured_data.py)."""

import json

from django import template
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import translate_url
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from ideabank import structured_data

register = template.Library()

# The query parameters that only move through a list: a page's canonical URL drops them.
VOLATILE_PARAMETERS = {"page"}
OG_LOCALES = {"nb": "nb_NO", "en": "en_GB"}
# As django.utils.html.json_script: the JSON can never close the <script> element.
JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def _query(request) -> str:
    query = request.GET.copy()
    for name in VOLATILE_PARAMETERS:
        query.pop(name, None)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else ""


def canonical_url(request) -> str:
    return f"{settings.SITE_URL}{request.path}{_query(request)}"


def alternate_urls(request) -> list[tuple[str, str]]:
    """(hreflang, absolute URL) for each language and x-default (the default language)."""
    query = _query(request)
    urls = {
        code: f"{settings.SITE_URL}{translate_url(request.path, code)}{query}"
        for code, _name in settings.LANGUAGES
    }
    return [*urls.items(), ("x-default", urls[settings.LANGUAGE_CODE])]


@register.simple_tag(takes_context=True)
def seo_links(context) -> SafeString:
    request = context.get("request")
    if request is None:
        return mark_safe("")
    canonical = format_html('<link rel="canonical" href="{}">', canonical_url(request))
    alternates = format_html_join(
        "", '<link rel="alternate" hreflang="{}" href="{}">', alternate_urls(request)
    )
    return canonical + alternates


@register.simple_tag(takes_context=True)
def open_graph(context, obj=None, kind: str = "") -> SafeString:
    """og: tags; with no object the site's defaults."""
    request = context.get("request")
    language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    if obj is not None:
        tags = structured_data.open_graph(obj, kind)
    else:
        tags = {
            "title": context.get("site_name") or settings.SITE_NAME,
            "description": gettext(
                "A bank of sustainability initiatives shared by Nordic public organisations."
            ),
            "type": "website",
        }
    tags["description"] = " ".join((tags.get("description") or "").split())[:300]
    tags["site_name"] = settings.SITE_NAME
    if request is not None:
        tags["url"] = canonical_url(request)
    tags["locale"] = OG_LOCALES.get(language, "nb_NO")
    pairs = [(f"og:{name}", value) for name, value in tags.items() if value]
    pairs += [
        ("og:locale:alternate", locale) for code, locale in OG_LOCALES.items() if code != language
    ]
    return format_html_join("", '<meta property="{}" content="{}">', pairs)


def json_ld_script(data: dict) -> SafeString:
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    return format_html(
        '<script type="application/ld+json">{}</script>',
        mark_safe(text.translate(JSON_SCRIPT_ESCAPES)),  # noqa: S308 - escaped above
    )


@register.simple_tag
def json_ld(obj, kind: str) -> SafeString:
    """`{% json_ld initiative "initiative" %}`: the object's schema.org description."""
    return json_ld_script(structured_data.BUILDERS[kind](obj))
