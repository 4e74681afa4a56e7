"""Text people wrote, marked with the language they wrote it in (WCAG 3.1.2).

Where the text stands in an element of its own, the element carries
`lang="{{ obj.language }}"`. Inside a translated sentence it has no element, so:

    {% load text_language %}
    {% blocktranslate with title=initiative.title|written_in:initiative %}Back to “{{ title }}”{% endblocktranslate %}
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def written_in(text: str, obj: object) -> SafeString:
    """`text` (escaped) in a span with the language `obj`'s text is written in."""
    return format_html('<span lang="{}">{}</span>', obj.language, text)
