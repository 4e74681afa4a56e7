"""Django's `{# … #}` comments end on their line: one spread over two lines is not a comment,
and its text shows on the page (it did, under the initiative list)."""

from pathlib import Path

from django.conf import settings


def test_no_short_template_comment_spans_two_lines():
    broken = []
    for path in sorted((Path(settings.BASE_DIR) / "templates").rglob("*")):
        if path.suffix not in {".html", ".txt", ".xml"}:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            start = line.rfind("{#")
            if start != -1 and "#}" not in line[start:]:
                broken.append(f"{path.relative_to(settings.BASE_DIR)}:{number}")
    assert broken == [], "use {% comment %} for comments over several lines"
