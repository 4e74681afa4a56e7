"""Checks for uploaded files: documents by their content, images decoded and re-encoded.

Forms call these from `clean_<field>`. A file's name is only a claim: a document must
also look inside like the kind its extension names, and an image is identified by
Pillow from its bytes, checked for size before its pixels are decoded, and saved
again without the metadata (EXIF with GPS positions, ICC profiles, XMP, comments)
that cameras and phones put in it.
"""

import io
import struct
import warnings
import zipfile
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 25_000_000

PDF_SIGNATURE = b"%PDF-"
OLE2_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_SIGNATURE = b"PK\x03\x04"

# Extension -> (kind, what the content must show). OOXML: the folder of its main part;
# OpenDocument: the value of its "mimetype" entry.
DOCUMENT_TYPES: dict[str, tuple[str, str]] = {
    ".pdf": ("pdf", ""),
    ".docx": ("ooxml", "word/"),
    ".xlsx": ("ooxml", "xl/"),
    ".pptx": ("ooxml", "ppt/"),
    ".doc": ("ole2", ""),
    ".xls": ("ole2", ""),
    ".ppt": ("ole2", ""),
    ".odt": ("odf", "application/vnd.oasis.opendocument.text"),
    ".ods": ("odf", "application/vnd.oasis.opendocument.spreadsheet"),
    ".odp": ("odf", "application/vnd.oasis.opendocument.presentation"),
}

ACCEPTED_DOCUMENTS = _(
    "Upload a PDF, a Word, Excel or PowerPoint file (.docx, .xlsx, .pptx, .doc, .xls, .ppt) "
    "or an OpenDocument file (.odt, .ods, .odp), at most 10 MB."
)
ACCEPTED_IMAGES = _("Upload a PNG, JPEG or WebP image of at most 10 MB and 25 megapixels.")

# Pillow's detected format -> the format and suffix it is saved again with. MPO is
# how Pillow names a JPEG carrying several pictures (some cameras); the first is kept.
IMAGE_FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("PNG", ".png"),
    "JPEG": ("JPEG", ".jpg"),
    "MPO": ("JPEG", ".jpg"),
    "WEBP": ("WEBP", ".webp"),
}
# Only these parsers ever see an upload: less code exposed to hostile bytes.
PILLOW_FORMATS = ["PNG", "JPEG", "WEBP"]
SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "JPEG": {"quality": 85},
    "WEBP": {"quality": 85},
    "PNG": {},
}
# What zipfile raises for damaged, encrypted or oddly compressed archives.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)
# The largest "mimetype" entry an OpenDocument file can honestly have.
ODF_MIMETYPE_MAX = 100


def _size_of(uploaded_file) -> int:
    size = getattr(uploaded_file, "size", None)
    if size is None:
        uploaded_file.seek(0, io.SEEK_END)
        size = uploaded_file.tell()
    return size


def _check_size(uploaded_file, accepted) -> None:
    size = _size_of(uploaded_file)
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("“%(name)s” is too large (%(size)s). %(accepted)s"),
            code="file_too_large",
            params={"name": uploaded_file.name, "size": filesizeformat(size), "accepted": accepted},
        )
    if size == 0:
        raise ValidationError(
            _("“%(name)s” is empty. %(accepted)s"),
            code="file_empty",
            params={"name": uploaded_file.name, "accepted": accepted},
        )


# --- Documents -------------------------------------------------------------------


def validate_document(uploaded_file) -> None:
    """Refuse anything but a PDF, Office or OpenDocument file whose content matches its name.

    Zip-based formats are read through their directory only, never extracted, so a
    zip bomb costs nothing. Raises ValidationError with code file_too_large, file_empty,
    document_type (an extension we do not take) or document_content (the bytes are not
    what the extension says, or the file is damaged). Leaves the file at its start.
    """
    _check_size(uploaded_file, ACCEPTED_DOCUMENTS)
    suffix = PurePath(uploaded_file.name or "").suffix.lower()
    if suffix not in DOCUMENT_TYPES:
        raise ValidationError(
            _("“%(name)s” is not a kind of document we accept. %(accepted)s"),
            code="document_type",
            params={"name": uploaded_file.name, "accepted": ACCEPTED_DOCUMENTS},
        )
    kind, expected = DOCUMENT_TYPES[suffix]
    uploaded_file.seek(0)
    try:
        head = uploaded_file.read(8)
        uploaded_file.seek(0)
        if kind == "pdf":
            matches = head.startswith(PDF_SIGNATURE)
        elif kind == "ole2":
            matches = head == OLE2_SIGNATURE
        else:
            matches = head.startswith(ZIP_SIGNATURE) and _zip_matches(uploaded_file, kind, expected)
    finally:
        uploaded_file.seek(0)
    if not matches:
        raise ValidationError(
            _(
                "The content of “%(name)s” is not a %(suffix)s document, or the file is damaged. "
                "Save it again as %(suffix)s from the program that made it. %(accepted)s"
            ),
            code="document_content",
            params={"name": uploaded_file.name, "suffix": suffix, "accepted": ACCEPTED_DOCUMENTS},
        )


def _zip_matches(uploaded_file, kind: str, expected: str) -> bool:
    """Whether a zip is the OOXML or OpenDocument file `expected` describes.

    Only the central directory is read, plus the few bytes of an OpenDocument's
    "mimetype" entry after its declared size has been checked.
    """
    try:
        with zipfile.ZipFile(uploaded_file) as archive:
            entries = archive.infolist()
            if kind == "ooxml":
                names = {entry.filename for entry in entries}
                return "[Content_Types].xml" in names and any(
                    name.startswith(expected) for name in names
                )
            # OpenDocument: "mimetype" first, tiny, holding exactly the type.
            first = entries[0] if entries else None
            if first is None or first.filename != "mimetype":
                return False
            if first.file_size > ODF_MIMETYPE_MAX or first.compress_size > ODF_MIMETYPE_MAX:
                return False
            return archive.read(first) == expected.encode("ascii")
    except ZIP_ERRORS:
        # A damaged, encrypted or oddly compressed archive is not a document we can vouch for.
        return False


# --- Images ------------------------------------------------------------------------


def clean_image(uploaded_file) -> ContentFile:
    """A PNG, JPEG or WebP image, turned upright and saved again without its metadata.

    The format comes from the bytes, not the name; the returned file's name carries the
    right suffix (the model's upload_to makes the stored name). The pixel count is read
    from the header before anything is decoded, so an image bomb is refused cheaply.
    An animated PNG or WebP keeps only its first frame. Raises ValidationError with code
    file_too_large, file_empty, image_type, image_too_many_pixels or image_damaged.
    """
    _check_size(uploaded_file, ACCEPTED_IMAGES)
    name = uploaded_file.name
    uploaded_file.seek(0)
    try:
        # Pillow's own bomb check raises beyond twice its limit and warns beyond it; make
        # the warning an error too, so nothing past the limit is ever decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(uploaded_file, formats=PILLOW_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(name) from None
    except UnidentifiedImageError:
        raise ValidationError(
            _("“%(name)s” is not an image we accept. %(accepted)s"),
            code="image_type",
            params={"name": name, "accepted": ACCEPTED_IMAGES},
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error):
        raise _damaged(name) from None

    with image:
        if image.format not in IMAGE_FORMATS:
            raise ValidationError(
                _("“%(name)s” is not an image we accept. %(accepted)s"),
                code="image_type",
                params={"name": name, "accepted": ACCEPTED_IMAGES},
            )
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise _too_many_pixels(name, width, height)
        save_format, suffix = IMAGE_FORMATS[image.format]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image.seek(0)
                image.load()
                cleaned = _upright_without_metadata(image, save_format)
                output = io.BytesIO()
                cleaned.save(output, format=save_format, **SAVE_OPTIONS[save_format])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(name) from None
        except (OSError, ValueError, SyntaxError, EOFError, struct.error):
            raise _damaged(name) from None
    uploaded_file.seek(0)
    return ContentFile(output.getvalue(), name=f"image{suffix}")


def _upright_without_metadata(image: Image.Image, save_format: str) -> Image.Image:
    """The first frame, turned as its EXIF orientation says, in a mode the format saves,
    with every piece of metadata dropped (save() writes what `info` holds)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if save_format == "JPEG":
        mode = "L" if image.mode == "L" else "RGB"
    elif save_format == "WEBP":
        mode = "RGBA" if has_alpha else "RGB"
    elif image.mode in ("1", "L", "LA", "RGB", "RGBA", "I;16") and "transparency" not in image.info:
        mode = image.mode
    else:
        # Palettes and transparent colours become plain alpha, so no info entry is needed.
        mode = "RGBA" if has_alpha else "RGB"
    upright = ImageOps.exif_transpose(image)
    if upright.mode != mode:
        upright = upright.convert(mode)
    upright.info = {}
    return upright


def _too_many_pixels(name: str, width: int | None = None, height: int | None = None):
    if width is None or height is None:
        return ValidationError(
            _("“%(name)s” has too many pixels. %(accepted)s"),
            code="image_too_many_pixels",
            params={"name": name, "accepted": ACCEPTED_IMAGES},
        )
    return ValidationError(
        _(
            "“%(name)s” is %(width)s × %(height)s pixels, more than 25 megapixels. "
            "Make it smaller and upload it again."
        ),
        code="image_too_many_pixels",
        params={"name": name, "width": width, "height": height},
    )


def _damaged(name: str) -> ValidationError:
    return ValidationError(
        _("“%(name)s” could not be read as an image; it may be damaged. %(accepted)s"),
        code="image_damaged",
        params={"name": name, "accepted": ACCEPTED_IMAGES},
    )
