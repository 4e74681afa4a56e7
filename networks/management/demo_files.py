"""The files in the demo data, made when it loads: small PDF documents and simple drawn
illustrations. Nothing is downloaded or copied from elsewhere, and the same input always
gives the same bytes, so loading twice finds the files already stored and changes nothing.

The PDF writer is the least a valid PDF needs (PDF 1.4, ISO 32000-1): one text page per
list of lines, in the standard Helvetica fonts every reader has (no fonts embedded), with
WinAnsiEncoding so that æ, ø, å, « and » print, and a cross-reference table with the
byte offset of every object. The illustrations are shapes drawn with Pillow, without text.
"""

import hashlib
import io
import math
import textwrap
from collections.abc import Callable
from datetime import datetime

from PIL import Image, ImageDraw

# --- PDF ------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN = 64
BODY_SIZE, BODY_LEADING = 10.5, 15
FOOTER_TOP = 60  # text stops above the footer line at 40
# Helvetica averages about half an em per character: a line of body text this long fits.
BODY_WIDTH_CHARS = 92
STYLES = {
    # prefix: (font, size, space above, characters per line)
    "# ": ("F2", 17, 10, 50),
    "## ": ("F2", 12.5, 12, 70),
    "": ("F1", BODY_SIZE, 0, BODY_WIDTH_CHARS),
}


def _pdf_text(text: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding (cp1252), with its delimiters escaped."""
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _pdf_info_text(text: str) -> bytes:
    """A text string for the document information: UTF-16BE with its byte order mark."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _page_stream(lines: list[str], page: int, pages: int, footer: str) -> bytes:
    ops = []
    y = PAGE_HEIGHT - MARGIN
    for line in lines:
        prefix = next(p for p in ("# ", "## ", "") if line.startswith(p))
        font, size, above, width = STYLES[prefix]
        text = line.removeprefix(prefix)
        if not text.strip():
            y -= BODY_LEADING // 2
            continue
        y -= above
        bullet = text.startswith("- ")
        indent = 14 if bullet else 0
        wrapped = textwrap.wrap(text.removeprefix("- "), width - (3 if bullet else 0)) or [""]
        for number, part in enumerate(wrapped):
            y -= size * 1.4 if prefix else BODY_LEADING
            if y < FOOTER_TOP:
                raise ValueError(f"Page {page} is too long for one page, at: {part}")
            if bullet and number == 0:
                ops.append(f"BT /F1 {size} Tf {MARGIN} {y:.1f} Td ".encode() + _pdf_text("•"))
                ops.append(b" Tj ET")
            ops.append(f"BT /{font} {size} Tf {MARGIN + indent} {y:.1f} Td ".encode())
            ops.append(_pdf_text(part) + b" Tj ET")
    ops.append(f"BT /F1 8 Tf {MARGIN} 40 Td ".encode() + _pdf_text(footer) + b" Tj ET")
    ops.append(
        f"BT /F1 8 Tf {PAGE_WIDTH - MARGIN - 40} 40 Td ".encode()
        + _pdf_text(f"Side {page} av {pages}")
        + b" Tj ET"
    )
    return b"\n".join(ops) + b"\n"


def pdf(
    pages: list[list[str]], *, title: str, author: str, created: datetime, footer: str
) -> bytes:
    """A PDF of `pages`, each a list of lines: "# " starts a heading, "## " a subheading,
    "- " a bullet point, "" a little space; long lines are wrapped. `created` (aware) is
    the document's creation date."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the pages have numbers
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    offset = created.strftime("%z")
    stamp = f"D:{created:%Y%m%d%H%M%S}{offset[:3]}'{offset[3:]}'".encode("ascii")
    objects.append(
        b"<< /Title "
        + _pdf_info_text(title)
        + b" /Author "
        + _pdf_info_text(author)
        + b" /Producer "
        + _pdf_info_text("Idébanken, demodata")
        + b" /CreationDate ("
        + stamp
        + b") /ModDate ("
        + stamp
        + b") >>"
    )
    kids = []
    for number, lines in enumerate(pages, start=1):
        stream = _page_stream(lines, number, len(pages), footer)
        # The end-of-line before "endstream" is not part of the stream (ISO 32000-1, 7.3.8).
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, content)
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % kid for kid in kids),
        len(kids),
    )

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for position in offsets:
        out += b"%010d 00000 n \n" % position
    file_id = hashlib.md5(bytes(out), usedforsecurity=False).hexdigest().upper().encode()
    out += (
        b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R /ID [<%s> <%s>] >>\n"
        % (len(objects) + 1, file_id, file_id)
        + b"startxref\n%d\n%%%%EOF\n" % xref
    )
    return bytes(out)


# --- Illustrations -----------------------------------------------------------------------

WIDTH, HEIGHT = 1200, 675
SCALE = 2  # drawn at twice the size and scaled down: smooth edges

# Calm colours in the portal's spirit: background, light, mid, dark, accent.
PALETTES = {
    "meeting": ("#e8f1f8", "#b9d4ea", "#4f8cc2", "#1f4e79", "#f2a541"),
    "circular": ("#eaf5ee", "#bfe0c9", "#4caf72", "#1e5f3a", "#f28c38"),
    "food": ("#fdf3e7", "#f6d7b0", "#e0913a", "#7a4a12", "#6aab5d"),
    "garden": ("#eef7e9", "#cfe8bf", "#74b653", "#2f6b22", "#f5c842"),
    "furniture": ("#f3efe9", "#ddd2c2", "#a98b64", "#5b4630", "#4f9a94"),
}


def _meeting(draw: ImageDraw.ImageDraw, c: tuple[str, ...], s: int) -> None:
    """People round a table."""
    cx, cy = WIDTH * s // 2, HEIGHT * s // 2 + 40 * s
    draw.ellipse([cx - 330 * s, cy - 120 * s, cx + 330 * s, cy + 120 * s], fill=c[2])
    draw.ellipse([cx - 300 * s, cy - 100 * s, cx + 300 * s, cy + 100 * s], fill=c[1])
    seats = [(-420, -40), (-260, -200), (0, -240), (260, -200), (420, -40), (-200, 190), (200, 190)]
    for number, (dx, dy) in enumerate(seats):
        x, y = cx + dx * s, cy + dy * s
        colour = c[4] if number % 3 == 1 else c[3]
        draw.ellipse([x - 42 * s, y - 95 * s, x + 42 * s, y - 11 * s], fill=colour)
        draw.rounded_rectangle([x - 70 * s, y, x + 70 * s, y + 110 * s], 50 * s, fill=colour)
    for dx in (-120, 40, 150):
        draw.rounded_rectangle(
            [cx + dx * s, cy - 40 * s, cx + (dx + 80) * s, cy + 10 * s], 6 * s, fill="#ffffff"
        )


def _circular(draw: ImageDraw.ImageDraw, c: tuple[str, ...], s: int) -> None:
    """A workshop under a ring of arrows: what is made goes round again."""
    cx, cy, r = WIDTH * s // 2, HEIGHT * s // 2, 250 * s
    for start in (20, 140, 260):
        draw.arc([cx - r, cy - r, cx + r, cy + r], start, start + 95, fill=c[2], width=46 * s)
        end = start + 95
        ax = cx + r * math.cos(math.radians(end))
        ay = cy + r * math.sin(math.radians(end))
        tangent = math.radians(end + 90)
        normal = math.radians(end)
        tip = (ax + 70 * s * math.cos(tangent), ay + 70 * s * math.sin(tangent))
        left = (ax + 55 * s * math.cos(normal), ay + 55 * s * math.sin(normal))
        right = (ax - 55 * s * math.cos(normal), ay - 55 * s * math.sin(normal))
        draw.polygon([tip, left, right], fill=c[2])
    # A small factory in the middle.
    base = cy + 110 * s
    draw.rectangle([cx - 150 * s, cy - 20 * s, cx + 150 * s, base], fill=c[3])
    draw.polygon(
        [
            (cx - 150 * s, cy - 20 * s),
            (cx - 150 * s, cy - 90 * s),
            (cx - 60 * s, cy - 20 * s),
            (cx - 60 * s, cy - 90 * s),
            (cx + 30 * s, cy - 20 * s),
            (cx + 30 * s, cy - 90 * s),
            (cx + 120 * s, cy - 20 * s),
        ],
        fill=c[3],
    )
    draw.rectangle([cx + 95 * s, cy - 140 * s, cx + 130 * s, cy - 20 * s], fill=c[3])
    for dx in (-115, -45, 25, 95):
        draw.rectangle([cx + dx * s, cy + 20 * s, cx + (dx + 40) * s, cy + 60 * s], fill=c[4])


def _food(draw: ImageDraw.ImageDraw, c: tuple[str, ...], s: int) -> None:
    """A plate on a kitchen scale, beside a leaf."""
    cx, cy = WIDTH * s // 2 - 60 * s, HEIGHT * s // 2 + 30 * s
    draw.rounded_rectangle(
        [cx - 260 * s, cy + 60 * s, cx + 260 * s, cy + 200 * s], 40 * s, fill=c[3]
    )
    draw.rounded_rectangle(
        [cx - 80 * s, cy + 100 * s, cx + 80 * s, cy + 160 * s], 12 * s, fill=c[1]
    )
    draw.ellipse([cx - 240 * s, cy - 90 * s, cx + 240 * s, cy + 70 * s], fill="#ffffff")
    draw.ellipse([cx - 170 * s, cy - 60 * s, cx + 170 * s, cy + 40 * s], fill=c[1])
    for dx, dy, size, colour in ((-60, -20, 40, c[2]), (30, -10, 32, c[4]), (80, -30, 24, c[2])):
        draw.ellipse(
            [
                cx + (dx - size) * s,
                cy + (dy - size // 2) * s,
                cx + (dx + size) * s,
                cy + (dy + size // 2) * s,
            ],
            fill=colour,
        )
    lx, ly = cx + 420 * s, cy - 40 * s
    draw.ellipse([lx - 90 * s, ly - 170 * s, lx + 90 * s, ly + 170 * s], fill=c[4])
    draw.line([lx, ly - 150 * s, lx, ly + 230 * s], fill=c[3], width=10 * s)


def _garden(draw: ImageDraw.ImageDraw, c: tuple[str, ...], s: int) -> None:
    """Raised beds with plants under the sun."""
    draw.ellipse([960 * s, 60 * s, 1110 * s, 210 * s], fill=c[4])
    for row, y in enumerate((330, 500)):
        draw.rounded_rectangle([120 * s, y * s, 1080 * s, (y + 90) * s], 18 * s, fill=c[3])
        for number in range(7):
            x = 190 + number * 135 + (60 if row else 0)
            if x > 1030:
                continue
            draw.line([x * s, y * s, x * s, (y - 80) * s], fill=c[2], width=10 * s)
            draw.ellipse([(x - 48) * s, (y - 150) * s, (x + 48) * s, (y - 70) * s], fill=c[2])
            if number % 2 == row % 2:
                draw.ellipse([(x - 18) * s, (y - 128) * s, (x + 18) * s, (y - 92) * s], fill=c[4])


def _furniture(draw: ImageDraw.ImageDraw, c: tuple[str, ...], s: int) -> None:
    """Desks and chairs, given a second round."""
    floor = 540
    draw.rectangle([0, floor * s, WIDTH * s, HEIGHT * s], fill=c[1])
    for x in (220, 620):
        draw.rectangle([x * s, 360 * s, (x + 300) * s, 385 * s], fill=c[3])
        draw.rectangle([(x + 20) * s, 385 * s, (x + 40) * s, floor * s], fill=c[3])
        draw.rectangle([(x + 260) * s, 385 * s, (x + 280) * s, floor * s], fill=c[3])
        chair = x + 110
        draw.rounded_rectangle([chair * s, 300 * s, (chair + 80) * s, 420 * s], 12 * s, fill=c[2])
        draw.rectangle([chair * s, 420 * s, (chair + 80) * s, 440 * s], fill=c[2])
        draw.rectangle([chair * s, 440 * s, (chair + 12) * s, floor * s], fill=c[2])
        draw.rectangle([(chair + 68) * s, 440 * s, (chair + 80) * s, floor * s], fill=c[2])
    cx, cy, r = 1040 * s, 170 * s, 80 * s
    draw.arc([cx - r, cy - r, cx + r, cy + r], 30, 320, fill=c[4], width=22 * s)
    draw.polygon(
        [(cx + 95 * s, cy - 40 * s), (cx + 40 * s, cy - 55 * s), (cx + 85 * s, cy + 5 * s)],
        fill=c[4],
    )


MOTIFS: dict[str, Callable[[ImageDraw.ImageDraw, tuple[str, ...], int], None]] = {
    "meeting": _meeting,
    "circular": _circular,
    "food": _food,
    "garden": _garden,
    "furniture": _furniture,
}


def illustration(motif: str) -> bytes:
    """A PNG of `motif` (a key of MOTIFS): flat shapes, no text, no metadata."""
    colours = PALETTES[motif]
    image = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), colours[0])
    draw = ImageDraw.Draw(image)
    # A soft band behind the motif.
    draw.ellipse(
        [-200 * SCALE, 380 * SCALE, (WIDTH + 200) * SCALE, (HEIGHT + 500) * SCALE], fill=colours[1]
    )
    MOTIFS[motif](draw, colours, SCALE)
    image = image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    output = io.BytesIO()
    image.save(output, format="PNG")  # saved again by the upload checks
    return output.getvalue()
