"""Reading XMP: the face regions of a photo, from its sidecar or the XMP embedded in the file
(MWG regions as digiKam, Lightroom and Picasa write them, and Microsoft's `MP:RegionInfo`)."""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from photoface.core.errors import PhotofaceError
from photoface.core.interop.xmp_regions import (MP, MPREG, MPRI, MWG_RS, RDF, ST_AREA, ST_DIM, clamp_box,
                                                stored_to_oriented)
from photoface.core.types import Box

JPEG_XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
MAX_XMP_BYTES = 16 * 1024 * 1024  # a sidecar larger than this is not a sidecar


class XmpError(PhotofaceError):
    """XMP that cannot be read (malformed XML, a DTD, too large)."""


@dataclass(frozen=True)
class Region:
    """One face region read from XMP.

    Attributes:
        name: the person's name, or None for an unnamed region.
        box: top-left x, y and size w, h, normalised to [0, 1], relative to the image as
            stored (before EXIF orientation).
        source: "mwg" (mwg-rs:Regions) or "mp" (Microsoft MP:RegionInfo).
        dims: the AppliedToDimensions (w, h) in pixels when the XMP gives them.
    """

    name: str | None
    box: Box
    source: str
    dims: tuple[float, float] | None = None


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _struct_nodes(node: ET.Element) -> list[ET.Element]:
    """The nodes that may hold a struct's fields: RDF allows them as attributes or children of
    the property element (parseType="Resource") or of an rdf:Description inside it."""
    return [node, *(c for c in node if c.tag == _q(RDF, "Description"))]


def _field(node: ET.Element, ns: str, name: str) -> str | ET.Element | None:
    key = _q(ns, name)
    for n in _struct_nodes(node):
        if key in n.attrib:
            return n.attrib[key]
        for child in n:
            if child.tag == key:
                return child
    return None


def _text(value: str | ET.Element | None) -> str | None:
    """A simple property's text; for a language alternative, its first item."""
    if value is None or isinstance(value, str):
        return value.strip() if value is not None else None
    for li in value.iter(_q(RDF, "li")):
        return (li.text or "").strip()
    if _q(RDF, "value") in value.attrib:
        return value.attrib[_q(RDF, "value")].strip()
    return (value.text or "").strip()


def _items(value: str | ET.Element | None) -> list[ET.Element]:
    """The rdf:li items of the Bag/Seq/Alt held by a property element."""
    if not isinstance(value, ET.Element):
        return []
    for n in _struct_nodes(value):
        for container in n:
            if container.tag in (_q(RDF, "Bag"), _q(RDF, "Seq"), _q(RDF, "Alt")):
                return [li for li in container if li.tag == _q(RDF, "li")]
    return []


def _float(value: str | ET.Element | None) -> float | None:
    text = _text(value)
    if not text:
        return None
    try:
        number = float(text.replace(",", ".") if "." not in text else text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _valid(box: Box) -> Box | None:
    """A normalised box, clamped to the image; None when it is empty or nowhere near it."""
    if not (box.w > 0 and box.h > 0) or box.w > 2 or box.h > 2:
        return None
    clamped = clamp_box(box)
    return clamped if clamped.w > 0 and clamped.h > 0 else None


def parse_xmp(data: bytes) -> list[Region]:
    """Face regions of an XMP packet (MWG and Microsoft), in document order.

    Regions of other MWG types (Pet, Focus, BarCode) are left out; malformed regions are
    skipped.

    Raises:
        XmpError: the packet is not well-formed XML, carries a DTD, or is too large.
    """
    if len(data) > MAX_XMP_BYTES:
        raise XmpError(f"XMP too large ({len(data)} bytes)")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise XmpError("undecodable UTF-16 XMP") from exc
    start = data.find(b"<")
    if start < 0:
        raise XmpError("no XML in the XMP")
    data = data[start:]
    # XMP never needs a DTD; refusing one rules out entity-expansion bombs.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise XmpError("XMP with a DTD is not accepted")
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, ValueError, UnicodeError, RecursionError) as exc:
        raise XmpError(f"malformed XMP: {exc}") from None
    regions: list[Region] = []
    for node in root.iter(_q(MWG_RS, "Regions")):
        regions.extend(_mwg_regions(node))
    for node in root.iter(_q(MP, "RegionInfo")):
        regions.extend(_mp_regions(node))
    return regions


def _mwg_regions(node: ET.Element) -> list[Region]:
    dims = None
    applied = _field(node, MWG_RS, "AppliedToDimensions")
    if isinstance(applied, ET.Element):
        w, h = _float(_field(applied, ST_DIM, "w")), _float(_field(applied, ST_DIM, "h"))
        if w and h and w > 0 and h > 0:
            dims = (w, h)
    out = []
    for li in _items(_field(node, MWG_RS, "RegionList")):
        kind = _text(_field(li, MWG_RS, "Type"))
        if kind and kind.casefold() != "face":
            continue
        area = _field(li, MWG_RS, "Area")
        if not isinstance(area, ET.Element):
            continue
        x, y, w, h = (_float(_field(area, ST_AREA, k)) for k in ("x", "y", "w", "h"))
        if None in (x, y, w, h):
            continue
        unit = (_text(_field(area, ST_AREA, "unit")) or "normalized").casefold()
        if unit == "pixel":  # not MWG, but seen in the wild
            if dims is None:
                continue
            x, w, y, h = x / dims[0], w / dims[0], y / dims[1], h / dims[1]
        box = _valid(Box(x - w / 2, y - h / 2, w, h))  # MWG x, y are the centre
        if box is not None:
            out.append(Region(_text(_field(li, MWG_RS, "Name")) or None, box, "mwg", dims))
    return out


def _mp_regions(node: ET.Element) -> list[Region]:
    out = []
    for li in _items(_field(node, MPRI, "Regions")):
        rect = _text(_field(li, MPREG, "Rectangle"))
        if not rect:
            continue
        try:
            x, y, w, h = (float(p) for p in rect.split(","))
        except ValueError:
            continue
        if not all(math.isfinite(v) for v in (x, y, w, h)):
            continue
        box = _valid(Box(x, y, w, h))  # Microsoft's x, y are the top-left corner
        if box is not None:
            out.append(Region(_text(_field(li, MPREG, "PersonDisplayName")) or None, box, "mp"))
    return out


def sidecar_paths(path: str) -> list[str]:
    """Where a photo's sidecar may be: `X.jpg.xmp` (digiKam, darktable) then `X.xmp`
    (Lightroom, exiftool), each also as .XMP."""
    stem = os.path.splitext(path)[0]
    return [path + ".xmp", path + ".XMP", stem + ".xmp", stem + ".XMP"]


def jpeg_xmp(path: str | os.PathLike) -> bytes | None:
    """The XMP packet of a JPEG's APP1 segment, or None; reads only the header segments."""
    with open(path, "rb") as f:
        if f.read(2) != b"\xff\xd8":
            return None
        for _ in range(1000):  # a real JPEG has a few dozen segments before the scan
            byte = f.read(1)
            while byte == b"\xff":  # fill bytes before a marker
                marker = f.read(1)
                if marker != b"\xff":
                    break
            else:
                return None
            if not marker or marker in (b"\xda", b"\xd9"):  # start of scan / end of image
                return None
            if 0xD0 <= marker[0] <= 0xD7 or marker[0] == 0x01:  # markers without a length
                continue
            size = f.read(2)
            if len(size) < 2 or int.from_bytes(size, "big") < 2:
                return None
            payload = f.read(int.from_bytes(size, "big") - 2)
            if marker == b"\xe1" and payload.startswith(JPEG_XMP_SIGNATURE):
                return payload[len(JPEG_XMP_SIGNATURE):]
    return None


def embedded_xmp(path: str) -> bytes | None:
    """The XMP a photo file carries itself (JPEG APP1; PNG/WebP/TIFF via Pillow), or None."""
    if os.path.splitext(path)[1].lower() in (".jpg", ".jpeg", ".jpe"):
        return jpeg_xmp(path)
    from PIL import Image

    try:
        with Image.open(path) as img:
            data = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
            if data is None and hasattr(img, "tag_v2"):
                data = img.tag_v2.get(700)  # TIFF XMLPacket
    except Exception:  # unreadable or unknown format: no XMP
        return None
    if isinstance(data, str):
        data = data.encode("utf-8")
    return bytes(data) if data else None


def read_regions(path: str) -> tuple[list[Region], list[tuple[str, str]]]:
    """A photo's face regions: from its sidecar, else from the XMP embedded in it.

    Returns:
        (regions, errors): errors are (file, reason) of XMP that could not be read; the next
        source is tried after one.
    """
    errors: list[tuple[str, str]] = []
    seen: set[str] = set()
    for candidate in sidecar_paths(path):
        real = os.path.realpath(candidate)
        if real in seen or not os.path.isfile(candidate):
            continue  # .xmp and .XMP are one file on case-insensitive file systems
        seen.add(real)
        try:
            with open(candidate, "rb") as f:
                data = f.read(MAX_XMP_BYTES + 1)
            regions = parse_xmp(data)
        except (OSError, XmpError) as exc:
            errors.append((candidate, str(exc)))
            continue
        if regions:
            return regions, errors
    try:
        data = embedded_xmp(path)
        if data:
            return parse_xmp(data), errors
    except (OSError, XmpError) as exc:
        errors.append((path, str(exc)))
    return [], errors


def region_to_pixels(region: Region, width_px: int, height_px: int, orientation: int) -> Box:
    """A region as a box in pixels of the upright image photoface stores.

    A writer that normalised to the upright image instead (its AppliedToDimensions are the
    upright size while a 90° orientation makes the stored one differ) is taken at its word.
    """
    upright_dims = region.dims is not None and orientation in (5, 6, 7, 8) and width_px != height_px \
        and abs(region.dims[0] / region.dims[1] - width_px / height_px) < 0.02
    box = region.box if upright_dims else stored_to_oriented(region.box, orientation)
    return Box(box.x * width_px, box.y * height_px, box.w * width_px, box.h * height_px)
