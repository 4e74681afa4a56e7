"""Upload checks: documents by content, images decoded, bounded and saved without metadata."""

import io
import struct
import tracemalloc
import zipfile
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from initiatives.uploads import (
    MAX_IMAGE_PIXELS,
    MAX_UPLOAD_BYTES,
    OLE2_SIGNATURE,
    clean_image,
    validate_document,
)

# --- Real little files --------------------------------------------------------------


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


OOXML_PARTS = {
    "docx": "word/document.xml",
    "xlsx": "xl/workbook.xml",
    "pptx": "ppt/presentation.xml",
}


def ooxml_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr(OOXML_PARTS[kind], '<?xml version="1.0"?><root/>')
    return buffer.getvalue()


ODF_TYPES = {
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
}


def odf_bytes(kind: str, mimetype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # As the standard asks: first, and stored uncompressed.
        archive.writestr("mimetype", mimetype or ODF_TYPES[kind], zipfile.ZIP_STORED)
        archive.writestr("content.xml", '<?xml version="1.0"?><office:document-content/>')
        archive.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest/>')
    return buffer.getvalue()


def ole2_bytes() -> bytes:
    # The compound-file header legacy Office files start with, then padding.
    return OLE2_SIGNATURE + bytes(504)


def plain_zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "just a zip")
    return buffer.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def error_of(check, uploaded) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        check(uploaded)
    return caught.value


# --- Documents accepted ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("rapport.pdf", pdf_bytes()),
        ("RAPPORT.PDF", pdf_bytes()),
        ("plan.docx", ooxml_bytes("docx")),
        ("budsjett.xlsx", ooxml_bytes("xlsx")),
        ("foredrag.pptx", ooxml_bytes("pptx")),
        ("plan.odt", odf_bytes("odt")),
        ("budsjett.ods", odf_bytes("ods")),
        ("foredrag.odp", odf_bytes("odp")),
        ("gammel.doc", ole2_bytes()),
        ("gammel.xls", ole2_bytes()),
        ("gammel.ppt", ole2_bytes()),
    ],
)
def test_validate_document_accepts_real_documents(name, content):
    uploaded = upload(name, content)

    result = validate_document(uploaded)

    assert result is None
    # Left at its start, ready to be saved whole.
    assert uploaded.read() == content


# --- Documents refused -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("rapport.pdf", b"Just some text, not a PDF at all.\n"),
        ("rapport.pdf", ooxml_bytes("docx")),
        ("rapport.pdf", b"<html><script>alert(1)</script></html>"),
        ("plan.docx", plain_zip_bytes()),
        ("plan.docx", ooxml_bytes("xlsx")),
        ("budsjett.xlsx", ooxml_bytes("docx")),
        ("plan.docx", pdf_bytes()),
        ("plan.docx", b"PK\x03\x04 but the rest of the zip is missing"),
        ("plan.odt", odf_bytes("ods")),
        ("plan.odt", odf_bytes("odt", mimetype="application/zip")),
        ("plan.odt", ooxml_bytes("docx")),
        ("gammel.doc", pdf_bytes()),
        # A PDF with a zip appended: zipfile alone would read it from the end.
        ("plan.docx", pdf_bytes() + ooxml_bytes("docx")),
    ],
    ids=[
        "text-renamed-pdf",
        "docx-renamed-pdf",
        "html-renamed-pdf",
        "plain-zip-renamed-docx",
        "xlsx-renamed-docx",
        "docx-renamed-xlsx",
        "pdf-renamed-docx",
        "corrupt-zip",
        "ods-renamed-odt",
        "odt-with-wrong-mimetype",
        "docx-renamed-odt",
        "pdf-renamed-doc",
        "pdf-with-zip-appended",
    ],
)
def test_validate_document_refuses_content_that_does_not_match_the_name(name, content):
    uploaded = upload(name, content)

    error = error_of(validate_document, uploaded)

    assert error.code == "document_content"
    message = error.messages[0]
    assert message.startswith(f"The content of “{name}” is not a ")
    assert "Upload a PDF, a Word, Excel or PowerPoint file" in message


@pytest.mark.parametrize(
    "name", ["notes.txt", "page.html", "script.exe", "bilde.png", "noextension", "plan.docm"]
)
def test_validate_document_refuses_other_kinds(name):
    error = error_of(validate_document, upload(name, pdf_bytes()))

    assert error.code == "document_type"
    assert error.messages == [
        f"“{name}” is not a kind of document we accept. Upload a PDF, a Word, Excel or "
        "PowerPoint file (.docx, .xlsx, .pptx, .doc, .xls, .ppt) or an OpenDocument file "
        "(.odt, .ods, .odp), at most 10 MB."
    ]


def test_validate_document_refuses_over_ten_megabytes():
    content = pdf_bytes() + b"0" * (MAX_UPLOAD_BYTES + 1 - len(pdf_bytes()))

    error = error_of(validate_document, upload("stor.pdf", content))

    assert error.code == "file_too_large"
    assert error.messages[0].startswith("“stor.pdf” is too large (10.0\xa0MB). Upload a PDF")


def test_validate_document_accepts_exactly_ten_megabytes():
    content = pdf_bytes() + b"0" * (MAX_UPLOAD_BYTES - len(pdf_bytes()))

    assert validate_document(upload("akkurat.pdf", content)) is None


def test_validate_document_checks_the_size_before_reading():
    uploaded = upload("stor.pdf", pdf_bytes())
    uploaded.size = 50 * 1024 * 1024  # as the upload handler reports a file on disk

    error = error_of(validate_document, uploaded)

    assert error.code == "file_too_large"


def test_validate_document_refuses_an_empty_file():
    error = error_of(validate_document, upload("tom.pdf", b""))

    assert error.code == "file_empty"


def test_validate_document_does_not_extract_a_zip_bomb():
    # 200 MB of zeros inside a docx: only the directory is read, so it is accepted cheaply
    # (it is a well-formed docx) and nothing is decompressed.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as part:
            chunk = bytes(1024 * 1024)
            for _ in range(200):
                part.write(chunk)
    tracemalloc.start()

    validate_document(upload("bombe.docx", buffer.getvalue()))

    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5 * 1024 * 1024


def test_validate_document_refuses_an_odf_with_a_huge_mimetype_entry():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", ODF_TYPES["odt"] + " " * 50_000_000)

    error = error_of(validate_document, upload("plan.odt", buffer.getvalue()))

    assert error.code == "document_content"


# --- Images accepted, re-encoded ------------------------------------------------------------


def image_bytes(fmt: str, size=(40, 30), mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "#2a7").save(buffer, format=fmt, **save)
    return buffer.getvalue()


def exif_with_gps_and_make(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x0110] = "Model X"  # Model
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (59.0, 54.0, 50.0)
    gps[3] = "E"
    gps[4] = (10.0, 45.0, 8.0)
    return exif


def opened(cleaned) -> Image.Image:
    image = Image.open(io.BytesIO(cleaned.read()))
    image.load()
    return image


@pytest.mark.parametrize(
    ("fmt", "name", "suffix", "mode"),
    [
        ("PNG", "kart.png", ".png", "RGB"),
        ("PNG", "gjennomsiktig.png", ".png", "RGBA"),
        ("PNG", "palett.png", ".png", "P"),
        ("JPEG", "foto.jpg", ".jpg", "RGB"),
        ("JPEG", "gra.jpeg", ".jpg", "L"),
        ("WEBP", "bilde.webp", ".webp", "RGB"),
        ("WEBP", "alfa.webp", ".webp", "RGBA"),
        # The format comes from the bytes: a PNG named .jpg is saved as the PNG it is.
        ("PNG", "feil-navn.jpg", ".png", "RGB"),
    ],
)
def test_clean_image_accepts_and_reencodes(fmt, name, suffix, mode):
    original = image_bytes(fmt, mode=mode)

    cleaned = clean_image(upload(name, original))

    assert cleaned.name == f"image{suffix}"
    image = opened(cleaned)
    assert (image.format, image.size) == (fmt, (40, 30))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_clean_image_strips_exif_icc_and_text(fmt):
    from PIL import PngImagePlugin

    save = {"exif": exif_with_gps_and_make(), "icc_profile": b"fake-icc-profile-data" * 10}
    if fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Author", "Kari Nordmann")
        save["pnginfo"] = text
    if fmt == "JPEG":
        save["comment"] = b"taken at home"
    original = image_bytes(fmt, **save)
    assert b"SpyCam" in original

    cleaned = clean_image(upload(f"foto.{fmt.lower()}", original))

    content = cleaned.read()
    assert b"SpyCam" not in content
    assert b"fake-icc" not in content
    assert b"Kari Nordmann" not in content
    assert b"taken at home" not in content
    image = Image.open(io.BytesIO(content))
    assert dict(image.getexif()) == {}
    assert "icc_profile" not in image.info


def test_clean_image_turns_the_picture_as_exif_says():
    # Orientation 6: the camera was turned; the stored 40x30 pixels show upright as 30x40.
    original = image_bytes("JPEG", size=(40, 30), exif=exif_with_gps_and_make(orientation=6))

    cleaned = clean_image(upload("snudd.jpg", original))

    image = opened(cleaned)
    assert image.size == (30, 40)
    assert 0x0112 not in image.getexif()


def test_clean_image_keeps_the_first_frame_of_an_animation():
    frames = [Image.new("RGB", (20, 20), colour) for colour in ("red", "blue", "green")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:], lossless=True)

    cleaned = clean_image(upload("animert.webp", buffer.getvalue()))

    image = opened(cleaned)
    assert getattr(image, "n_frames", 1) == 1
    # Re-encoded lossily: red, give or take a little.
    assert tuple(round(channel / 51) for channel in image.getpixel((10, 10))[:3]) == (5, 0, 0)


# --- Images refused -------------------------------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of `width` x `height` black pixels: tiny on disk, huge in memory."""
    row = bytes(1 + (width + 7) // 8)  # filter byte + packed pixels
    compressor = zlib.compressobj(9)
    rows_per_chunk = 1000
    data = b"".join(
        compressor.compress(row * rows_per_chunk) for _ in range(height // rows_per_chunk)
    )
    data += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("width", "height"), [(20_000, 20_000), (6_000, 5_000)])
def test_clean_image_refuses_an_image_bomb_without_decoding_it(width, height):
    bomb = png_bomb(width, height)
    assert len(bomb) < MAX_UPLOAD_BYTES
    assert width * height > MAX_IMAGE_PIXELS
    tracemalloc.start()

    error = error_of(clean_image, upload("bombe.png", bomb))

    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert error.code == "image_too_many_pixels"
    assert peak < 20 * 1024 * 1024
    if width * height > 2 * Image.MAX_IMAGE_PIXELS:
        # Past Pillow's own limit it refuses on opening, before telling the size.
        assert error.messages[0].startswith("“bombe.png” has too many pixels.")
    else:
        assert error.messages == [
            f"“bombe.png” is {width} × {height} pixels, more than 25 megapixels. "
            "Make it smaller and upload it again."
        ]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("animasjon.gif", image_bytes("GIF")),
        ("animasjon.png", image_bytes("GIF")),
        ("bilde.bmp", image_bytes("BMP")),
        ("bilde.tiff", image_bytes("TIFF")),
        (
            "tegning.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        ),
        ("rapport.png", pdf_bytes()),
        ("tekst.jpg", b"not an image at all"),
    ],
)
def test_clean_image_refuses_other_formats(name, content):
    error = error_of(clean_image, upload(name, content))

    assert error.code == "image_type"
    assert error.messages == [
        f"“{name}” is not an image we accept. "
        "Upload a PNG, JPEG or WebP image of at most 10 MB and 25 megapixels."
    ]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_clean_image_refuses_a_truncated_image(fmt):
    buffer = io.BytesIO()
    Image.effect_noise((200, 200), 64).convert("RGB").save(buffer, format=fmt)
    truncated = buffer.getvalue()[: len(buffer.getvalue()) // 2]

    error = error_of(clean_image, upload(f"halv.{fmt.lower()}", truncated))

    assert error.code == "image_damaged"
    assert error.messages[0].startswith(f"“halv.{fmt.lower()}” could not be read as an image")


def test_clean_image_refuses_a_png_with_a_bad_checksum():
    content = bytearray(image_bytes("PNG"))
    content[-20] ^= 0xFF  # inside the image data chunk

    error = error_of(clean_image, upload("skadet.png", bytes(content)))

    assert error.code == "image_damaged"
    assert error.messages == [
        "“skadet.png” could not be read as an image; it may be damaged. "
        "Upload a PNG, JPEG or WebP image of at most 10 MB and 25 megapixels."
    ]


def test_clean_image_refuses_over_ten_megabytes():
    uploaded = upload("stor.png", image_bytes("PNG"))
    uploaded.size = MAX_UPLOAD_BYTES + 1

    error = error_of(clean_image, uploaded)

    assert error.code == "file_too_large"
    assert error.messages[0].startswith("“stor.png” is too large (10.0\xa0MB).")
