"""Branding rules of an insurer, with no Flask in them: colour contrast and logo files.

The origin of an embedding page is defined once, in `app.roster.insurers.normalize_origin`
(shared with `insurer add`); it is re-exported here so the embedding code has one import.

SVG logos are checked against a strict allow-list with the standard library's parser:
no DOCTYPE or entity (so no entity expansion nor external entity), only the drawing
elements and presentation attributes listed below, no script, event handler,
`foreignObject`, `style` element or reference leaving the file (`href` only to `#id`,
`url()` only to `url(#id)`). Editors' metadata (Inkscape, Sodipodi, `<metadata>`) is dropped;
anything else unknown refuses the file. What is stored is the tree re-serialised, so
comments and processing instructions (`<?xml-stylesheet?>`) never reach the browser.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: N817, S405 - DOCTYPE/entities refused before parsing
from dataclasses import dataclass

import filetype

from app.roster.insurers import ORIGIN_MESSAGE, normalize_origin

__all__ = [
    "ORIGIN_MESSAGE",
    "normalize_origin",
]

# --- Colour -------------------------------------------------------------------------------

MIN_CONTRAST = 4.5  # WCAG 2.x AA, normal text
WHITE = "#ffffff"
COLOR_FORMAT_MESSAGE = (
    "La couleur « {color} » est invalide : attendu un code hexadécimal comme #1F4E8C."
)
COLOR_CONTRAST_MESSAGE = (
    "La couleur « {color} » est trop claire : un texte blanc sur cette couleur n'aurait qu'un "
    "contraste de {ratio}:1, il faut au moins 4,5:1 (WCAG AA). Choisissez une couleur plus "
    "foncée."
)
_HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def normalize_color(raw: str) -> str | None:
    """`#rrggbb` in lower case from `#RGB`, `#RRGGBB` (the `#` optional), or None."""
    match = _HEX_COLOR.fullmatch((raw or "").strip())
    if match is None:
        return None
    digits = match[1].lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def _channels(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def relative_luminance(color: str) -> float:
    """WCAG relative luminance of a `#rrggbb` colour (0 black, 1 white)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio between two `#rrggbb` colours, from 1 to 21."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)))[::-1]
    return (lighter + 0.05) / (darker + 0.05)


def color_problem(raw: str) -> str | None:
    """Why a primary colour is refused (format, or white text on it under 4.5:1), or None."""
    color = normalize_color(raw)
    if color is None:
        return COLOR_FORMAT_MESSAGE.format(color=raw)
    ratio = contrast_ratio(WHITE, color)
    if ratio < MIN_CONTRAST:
        # Rounded down: 4.49 must not read « 4,5 ».
        shown = f"{int(ratio * 100) / 100:.2f}".rstrip("0").rstrip(".").replace(".", ",")
        return COLOR_CONTRAST_MESSAGE.format(color=raw, ratio=shown)
    return None


def darken(color: str, amount: float = 0.2) -> str:
    """The colour mixed with `amount` of black (hover states: still readable under white)."""
    return "#" + "".join(f"{round(c * (1 - amount)):02x}" for c in _channels(color))


# --- Logo ---------------------------------------------------------------------------------

MAX_LOGO_BYTES = 256 * 1024
PNG = "image/png"
SVG = "image/svg+xml"
LOGO_EXTENSIONS = {PNG: "png", SVG: "svg"}

LOGO_EMPTY_MESSAGE = "Le fichier du logo est vide."
LOGO_TOO_BIG_MESSAGE = "Le logo dépasse la taille maximale de 256 Ko."
LOGO_TYPE_MESSAGE = "Le logo doit être une image PNG ou SVG."
SVG_INVALID_MESSAGE = "Le logo SVG n'est pas un fichier XML valide."
SVG_DOCTYPE_MESSAGE = "Le logo SVG ne doit contenir ni DOCTYPE ni entité XML."
SVG_ELEMENT_MESSAGE = "Le logo SVG contient un élément interdit : « {name} »."
SVG_ATTRIBUTE_MESSAGE = "Le logo SVG contient un attribut interdit : « {name} »."
SVG_HANDLER_MESSAGE = (
    "Le logo SVG contient un gestionnaire d'événement (« {name} ») : les scripts sont interdits."
)
SVG_REFERENCE_MESSAGE = (
    "Le logo SVG fait référence à une ressource externe (« {value} ») : seules les références "
    "internes (#identifiant) sont acceptées."
)

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# Editors' bookkeeping, harmless but useless to a browser: dropped, not refused.
DROPPED_NAMESPACES = {
    "http://www.inkscape.org/namespaces/inkscape",
    "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
    "http://purl.org/dc/elements/1.1/",
    "http://creativecommons.org/ns#",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}
DROPPED_ELEMENTS = {"metadata"}
SVG_ELEMENTS = {
    "svg", "g", "defs", "title", "desc", "symbol", "use",
    "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
    "text", "tspan",
    "linearGradient", "radialGradient", "stop", "clipPath", "mask",
}  # fmt: skip
SVG_ATTRIBUTES = {
    "id", "class", "version", "viewBox", "preserveAspectRatio", "width", "height",
    "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy", "dx", "dy",
    "d", "points", "pathLength", "transform",
    "fill", "fill-opacity", "fill-rule", "clip-rule", "clip-path", "clipPathUnits", "mask",
    "maskUnits", "maskContentUnits", "stroke", "stroke-width", "stroke-linecap",
    "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset",
    "stroke-opacity", "opacity", "color", "display", "visibility", "style",
    "font-family", "font-size", "font-style", "font-weight", "letter-spacing",
    "text-anchor", "dominant-baseline", "textLength", "lengthAdjust",
    "offset", "stop-color", "stop-opacity", "gradientUnits", "gradientTransform",
    "spreadMethod", "href", "role", "aria-label", "aria-hidden", "focusable",
    "{http://www.w3.org/XML/1998/namespace}space",
}  # fmt: skip
_URL = re.compile(r"url\(\s*['\"]?([^)'\"]*)['\"]?\s*\)", re.IGNORECASE)
_INTERNAL = re.compile(r"#[A-Za-z_][\w.\-:]*")
# In a `style` attribute, nothing that could load or run anything.
_STYLE_FORBIDDEN = re.compile(r"@|\\|expression|javascript:|behavior|-moz-binding", re.I)

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


class LogoError(ValueError):
    """The logo was refused; the message says why, in French."""


@dataclass(frozen=True)
class Logo:
    """An accepted logo: the bytes to store (SVG re-serialised) and their media type."""

    content: bytes
    media_type: str

    @property
    def extension(self) -> str:
        return LOGO_EXTENSIONS[self.media_type]


def check_logo(content: bytes) -> Logo:
    """The logo to store from an uploaded file: a PNG (by content) or a sanitised SVG."""
    if not content:
        raise LogoError(LOGO_EMPTY_MESSAGE)
    if len(content) > MAX_LOGO_BYTES:
        raise LogoError(LOGO_TOO_BIG_MESSAGE)
    kind = filetype.guess(content[:261])
    if kind is not None:
        if kind.mime != PNG:
            raise LogoError(LOGO_TYPE_MESSAGE)
        return Logo(content, PNG)
    if not _looks_like_xml(content):
        raise LogoError(LOGO_TYPE_MESSAGE)
    return Logo(sanitize_svg(content), SVG)


def _looks_like_xml(content: bytes) -> bool:
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def _local(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


def _check_reference(value: str) -> None:
    """Only `url(#id)` may appear in a value: nothing outside the file, no script, no data."""
    lowered = "".join(value.lower().split())
    targets = _URL.findall(value)
    if (
        "javascript:" in lowered
        or "data:" in lowered
        or lowered.count("url(") != len(targets)
        or not all(_INTERNAL.fullmatch(target.strip()) for target in targets)
    ):
        raise LogoError(SVG_REFERENCE_MESSAGE.format(value=value[:80]))


def _clean_element(element: ET.Element) -> None:
    for name, value in list(element.attrib.items()):
        namespace, local = _local(name)
        if local.lower().startswith("on"):
            raise LogoError(SVG_HANDLER_MESSAGE.format(name=local))
        if namespace in DROPPED_NAMESPACES:
            del element.attrib[name]
            continue
        if (namespace == XLINK_NS and local == "href") or name == "href":
            if not _INTERNAL.fullmatch(value.strip()):
                raise LogoError(SVG_REFERENCE_MESSAGE.format(value=value[:80]))
            continue
        if name not in SVG_ATTRIBUTES:
            raise LogoError(SVG_ATTRIBUTE_MESSAGE.format(name=local))
        if name == "style" and _STYLE_FORBIDDEN.search(value):
            raise LogoError(SVG_ATTRIBUTE_MESSAGE.format(name="style"))
        _check_reference(value)
    for child in list(element):
        namespace, local = _local(child.tag) if isinstance(child.tag, str) else (None, "")
        if namespace in DROPPED_NAMESPACES or (namespace == SVG_NS and local in DROPPED_ELEMENTS):
            element.remove(child)
            continue
        if namespace != SVG_NS or local not in SVG_ELEMENTS:
            raise LogoError(SVG_ELEMENT_MESSAGE.format(name=local or "?"))
        _clean_element(child)


def sanitize_svg(content: bytes) -> bytes:
    """The SVG re-serialised once every element and attribute passed the allow-list."""
    try:
        # UTF-8 only: the DOCTYPE check below must see the text as the parser will.
        content.decode("utf-8")
    except UnicodeDecodeError:
        raise LogoError(SVG_INVALID_MESSAGE) from None
    if b"<!DOCTYPE" in content.upper() or b"<!ENTITY" in content.upper():
        raise LogoError(SVG_DOCTYPE_MESSAGE)
    try:
        root = ET.fromstring(content)  # noqa: S314 - no DOCTYPE, so no entity can be declared
    except ET.ParseError:
        raise LogoError(SVG_INVALID_MESSAGE) from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise LogoError(LOGO_TYPE_MESSAGE)
    _clean_element(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
