"""Colour contrast as WCAG 2.1 defines it, for text on coloured backgrounds."""

BLACK = "#000000"
WHITE = "#FFFFFF"
AA_NORMAL_TEXT = 4.5


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of a "#RRGGBB" colour, from 0 (black) to 1 (white)."""
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """From 1 (same colour) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_colour_on(background: str) -> str:
    """Black or white, whichever contrasts more with the background.

    One of them always reaches at least 4.58:1 (the worst background has a relative
    luminance of about 0.18, where both give the same ratio), so no background ever
    needs darkening to carry AA normal text.
    """
    if contrast_ratio(background, BLACK) >= contrast_ratio(background, WHITE):
        return BLACK
    return WHITE
