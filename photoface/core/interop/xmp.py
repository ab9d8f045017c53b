"""XMP face regions (MWG, as digiKam, Lightroom and Picasa write them) in and out.

Writing: `region_xmp()` makes a sidecar packet with `mwg-rs:Regions` for the named faces of one
photo. Reading: `read_regions()` finds a photo's regions in `X.jpg.xmp`, `X.xmp` or the XMP
embedded in the file (MWG regions, and Microsoft's `MP:RegionInfo`). Importing:
`import_xmp()` matches those regions to detected faces by box overlap and names the faces, as
one undoable decision (`import_names()`).

Orientation: photoface's boxes are in pixels of the EXIF-oriented image; MWG regions are
normalised to the image as stored (unrotated), with AppliedToDimensions of the stored image
(MWG Guidelines 2.0, "Image Region Metadata"). Boxes are converted both ways here.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Callable, Iterable
from xml.sax.saxutils import escape, quoteattr

from photoface import __version__
from photoface.core.errors import Cancelled, PhotofaceError
from photoface.core.albums.review import Touched, clean_name, record_decision
from photoface.core.library.store import Library, decode_path, display_path, encode_path
from photoface.core.types import Box

log = logging.getLogger(__name__)

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
MWG_RS = "http://www.metadataworkinggroup.com/schemas/regions/"
ST_AREA = "http://ns.adobe.com/xmp/sType/Area#"
ST_DIM = "http://ns.adobe.com/xap/1.0/sType/Dimensions#"
DC = "http://purl.org/dc/elements/1.1/"
DIGIKAM = "http://www.digikam.org/ns/1.0/"
MP = "http://ns.microsoft.com/photo/1.2/"
MPRI = "http://ns.microsoft.com/photo/1.2/t/RegionInfo#"
MPREG = "http://ns.microsoft.com/photo/1.2/t/Region#"

JPEG_XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
MAX_XMP_BYTES = 16 * 1024 * 1024  # a sidecar larger than this is not a sidecar
MIN_IOU = 0.3  # region vs detected box: XMP writers draw boxes tighter or looser than MTCNN


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


# --- orientation ----------------------------------------------------------------------------

# Normalised point (u, v) in the stored image -> the same point in the oriented (upright)
# image, for each EXIF orientation (the transposes photoface.core.faces.imaging applies).
_STORED_TO_ORIENTED: dict[int, Callable[[float, float], tuple[float, float]]] = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1 - u, v),
    3: lambda u, v: (1 - u, 1 - v),
    4: lambda u, v: (u, 1 - v),
    5: lambda u, v: (v, u),
    6: lambda u, v: (1 - v, u),
    7: lambda u, v: (1 - v, 1 - u),
    8: lambda u, v: (v, 1 - u),
}
_INVERSE = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def _map_box(box: Box, fn) -> Box:
    (u0, v0), (u1, v1) = fn(box.x, box.y), fn(box.x + box.w, box.y + box.h)
    return Box(min(u0, u1), min(v0, v1), abs(u1 - u0), abs(v1 - v0))


def stored_to_oriented(box: Box, orientation: int) -> Box:
    """A normalised box of the stored image -> the same box of the upright image."""
    return _map_box(box, _STORED_TO_ORIENTED.get(orientation, _STORED_TO_ORIENTED[1]))


def oriented_to_stored(box: Box, orientation: int) -> Box:
    """A normalised box of the upright image -> the same box of the stored image."""
    return _map_box(box, _STORED_TO_ORIENTED[_INVERSE.get(orientation, 1)])


def stored_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """The stored image's (w, h) from the upright one's: 5..8 swap the sides."""
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def read_orientation(path: str | os.PathLike) -> int:
    """The EXIF orientation (1..8) of a photo file, read from its header only; 1 if unknown."""
    from PIL import Image  # only the header is parsed: no pixels are decoded

    try:
        with Image.open(path) as img:
            value = img.getexif().get(0x0112)
    except Exception:  # no EXIF, unreadable, unknown format: upright
        return 1
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8 else 1


# --- writing --------------------------------------------------------------------------------

_XML_BAD = {c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)} | {0xFFFE, 0xFFFF}


def _xml_text(text: str) -> str:
    """Drops what XML 1.0 cannot carry (control characters, lone surrogates)."""
    return "".join(ch for ch in text if ord(ch) not in _XML_BAD and not 0xD800 <= ord(ch) <= 0xDFFF)


def _num(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def region_xmp(width_px: int, height_px: int, orientation: int,
               faces: Iterable[tuple[str, Box]]) -> bytes:
    """An XMP sidecar packet naming the faces of one photo.

    Args:
        width_px, height_px: size of the upright (EXIF-oriented) image, as photoface stores it.
        orientation: the photo's EXIF orientation 1..8.
        faces: (name, box in pixels of the upright image) per named face.

    Returns:
        UTF-8 XMP with mwg-rs:Regions (areas normalised to the stored image, centre x/y),
        dc:subject (the names) and digiKam:TagsList ("People/NAME").
    """
    sw, sh = stored_size(width_px, height_px, orientation)
    items, names = [], []
    for name, box in faces:
        name = _xml_text(name)
        norm = Box(box.x / width_px, box.y / height_px, box.w / width_px, box.h / height_px)
        s = _clamp(oriented_to_stored(norm, orientation))
        cx, cy = s.x + s.w / 2, s.y + s.h / 2
        items.append(
            "     <rdf:li>\n"
            f"      <rdf:Description mwg-rs:Name={quoteattr(name)} mwg-rs:Type=\"Face\">\n"
            f"       <mwg-rs:Area stArea:x=\"{_num(cx)}\" stArea:y=\"{_num(cy)}\" "
            f"stArea:w=\"{_num(s.w)}\" stArea:h=\"{_num(s.h)}\" stArea:unit=\"normalized\"/>\n"
            "      </rdf:Description>\n"
            "     </rdf:li>\n")
        if name not in names:
            names.append(name)
    subjects = "".join(f"     <rdf:li>{escape(n)}</rdf:li>\n" for n in names)
    tags = "".join(f"     <rdf:li>{escape('People/' + n.replace('/', '|'))}</rdf:li>\n" for n in names)
    text = (
        "<?xpacket begin=\"\ufeff\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
        f"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"photoface {__version__}\">\n"
        f" <rdf:RDF xmlns:rdf=\"{RDF}\">\n"
        "  <rdf:Description rdf:about=\"\"\n"
        f"    xmlns:mwg-rs=\"{MWG_RS}\"\n    xmlns:stDim=\"{ST_DIM}\"\n    xmlns:stArea=\"{ST_AREA}\"\n"
        f"    xmlns:dc=\"{DC}\"\n    xmlns:digiKam=\"{DIGIKAM}\">\n"
        "   <mwg-rs:Regions rdf:parseType=\"Resource\">\n"
        f"    <mwg-rs:AppliedToDimensions stDim:w=\"{sw}\" stDim:h=\"{sh}\" stDim:unit=\"pixel\"/>\n"
        "    <mwg-rs:RegionList>\n     <rdf:Bag>\n"
        f"{''.join(items)}"
        "     </rdf:Bag>\n    </mwg-rs:RegionList>\n   </mwg-rs:Regions>\n"
        f"   <dc:subject>\n    <rdf:Bag>\n{subjects}    </rdf:Bag>\n   </dc:subject>\n"
        f"   <digiKam:TagsList>\n    <rdf:Seq>\n{tags}    </rdf:Seq>\n   </digiKam:TagsList>\n"
        "  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>\n")
    return text.encode("utf-8")


def _clamp(b: Box) -> Box:
    x0, y0 = min(max(b.x, 0.0), 1.0), min(max(b.y, 0.0), 1.0)
    x1, y1 = min(max(b.x + b.w, 0.0), 1.0), min(max(b.y + b.h, 0.0), 1.0)
    return Box(x0, y0, x1 - x0, y1 - y0)


# --- reading --------------------------------------------------------------------------------

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
    clamped = _clamp(box)
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


# --- importing names ------------------------------------------------------------------------

@dataclass(frozen=True)
class Conflict:
    """An XMP name that was not applied, and why."""

    face_id: int
    xmp_name: str
    library_name: str | None
    reason: str
    path: str | None = None


@dataclass
class ImportResult:
    """What `import_names` changed: `named` faces confirmed, `already` ones that had the name."""

    decision_id: int | None = None
    named: int = 0
    already: int = 0
    persons_created: list[int] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


def import_names(library: Library, assignments: Iterable[tuple[int, str, str | None]],
                 params: dict | None = None) -> ImportResult:
    """Names faces as one undoable decision ('import_xmp'): `Review(library).undo()` undoes it all.

    Each face becomes confirmed for the person of that name (an existing one, matched
    case-insensitively, or a new named person). What the user decided in photoface wins:
    a confirmed face, a face the user kept with another named person (accepted), a face marked
    "not a face", or a face rejected from that person keeps its state and is listed as a conflict; so is a second, different name for the same face.

    Args:
        assignments: (face id, name, where the name came from or None).
        params: recorded with the decision (what the user asked for).
    """
    result = ImportResult()
    with library.transaction() as con:
        plan: dict[int, str] = {}
        for face_id, raw_name, origin in assignments:
            name = clean_name(_xml_text(raw_name or ""))
            if name is None:
                continue
            row = con.execute("SELECT f.person_id, f.state, p.name FROM faces f LEFT JOIN persons p "
                              "ON p.id = f.person_id WHERE f.id = ?", (face_id,)).fetchone()
            if row is None:
                continue
            person_id, state, pname = row
            conflict = lambda why: result.conflicts.append(  # noqa: E731
                Conflict(face_id, name, pname, why, origin))
            if face_id in plan:
                if plan[face_id].casefold() != name.casefold():
                    conflict(f"another XMP names this face {plan[face_id]!r}")
                continue
            if state == "accepted" and pname is not None and pname.casefold() != name.casefold():
                conflict(f"kept with {pname!r} in photoface")
                continue
            if state == "confirmed":
                if pname is not None and pname.casefold() == name.casefold():
                    result.already += 1
                elif pname is not None:
                    conflict(f"confirmed as {pname!r} in photoface")
                else:
                    conflict(f"confirmed for unnamed person {person_id} in photoface")
                continue
            if state == "not_face":
                conflict("marked as not a face in photoface")
                continue
            if con.execute("SELECT 1 FROM rejections r JOIN persons p ON p.id = r.person_id "
                           "WHERE r.face_id = ? AND p.name = ? COLLATE NOCASE",
                           (face_id, name)).fetchone():
                conflict(f"rejected from {name!r} in photoface")
                continue
            plan[face_id] = name
        if not plan:
            return result
        touched = Touched(faces=set(plan))
        record = {**(params or {}), "faces": sorted(plan), "persons_created": result.persons_created}

        def apply(con) -> None:
            person_of: dict[str, int] = {}
            now = time.time()
            for face_id in sorted(plan):
                name = plan[face_id]
                key = name.casefold()
                if key not in person_of:
                    row = con.execute("SELECT id FROM persons WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
                    if row is None:
                        row = (con.execute("INSERT INTO persons(name, created_at) VALUES (?, ?)",
                                           (name, now)).lastrowid,)
                        touched.created_persons.add(row[0])
                        result.persons_created.append(row[0])  # also in `record`: the same list
                    person_of[key] = row[0]
                con.execute("UPDATE faces SET person_id = ?, state = 'confirmed' WHERE id = ?",
                            (person_of[key], face_id))

        _, result.decision_id = record_decision(con, "import_xmp", record, touched, apply)
        result.named = len(plan)
    return result


@dataclass
class XmpImportReport:
    """What `import_xmp` found and did.

    Attributes:
        photos: library photos with a file under the folder.
        files_with_regions: photo files whose XMP held named face regions.
        regions: named face regions read.
        matched: regions matched to a detected face.
        unmatched: (path, name) of regions no detected face overlapped enough.
        errors: (file, reason) of XMP that could not be read.
        result: the names applied and the conflicts (see ImportResult).
    """

    photos: int = 0
    files_with_regions: int = 0
    regions: int = 0
    matched: int = 0
    unmatched: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    result: ImportResult = field(default_factory=ImportResult)
    seconds: float = 0.0


def _library_photos_under(library: Library, folder: str) -> dict[int, list[str]]:
    """photo id -> its files (present, sorted) under `folder`."""
    root = encode_path(os.path.abspath(folder)).rstrip(b"/") + b"/"
    out: dict[int, list[str]] = {}
    for path, photo_id in library.con.execute(
            "SELECT path, photo_id FROM locations WHERE status = 'ok' AND photo_id IS NOT NULL ORDER BY path"):
        if path.startswith(root):
            out.setdefault(photo_id, []).append(decode_path(path))
    return out


def match_regions(boxes: list[tuple[int, Box]], regions: list[tuple[str, Box]],
                  min_iou: float = MIN_IOU) -> tuple[list[tuple[int, str]], list[str]]:
    """Pairs named regions with detected faces, best overlap first, each at most once.

    Args:
        boxes: (face id, box in upright pixels) of the detected faces.
        regions: (name, box in upright pixels) of the XMP regions.

    Returns:
        ((face id, name) pairs, names of the regions left unmatched).
    """
    pairs = sorted(((fb.iou(rb), fid, i) for fid, fb in boxes for i, (_, rb) in enumerate(regions)),
                   key=lambda t: (-t[0], t[1], t[2]))
    used_faces, used_regions, matched = set(), set(), []
    for iou, fid, i in pairs:
        if iou < min_iou or fid in used_faces or i in used_regions:
            continue
        used_faces.add(fid)
        used_regions.add(i)
        matched.append((fid, regions[i][0]))
    return matched, [regions[i][0] for i in range(len(regions)) if i not in used_regions]


def import_xmp(library: Library, folder: str, min_iou: float = MIN_IOU,
               progress: Callable[[int, int], None] | None = None,
               cancel: threading.Event | None = None) -> XmpImportReport:
    """Reads the XMP face names of the library's photos under `folder` and applies them.

    Sidecars (`X.jpg.xmp`, `X.xmp`) and XMP embedded in the photo are read; each named face
    region is matched to a detected face by IoU >= min_iou (after converting it to the
    upright pixels photoface uses) and all matches are applied as one undoable decision.

    Args:
        progress: called (done, total) after each photo.
        cancel: when set, stops before applying anything and raises Cancelled.
    """
    started = time.perf_counter()
    report = XmpImportReport()
    photos = _library_photos_under(library, folder)
    report.photos = len(photos)
    sizes = dict(((pid, (w, h)) for pid, w, h in library.con.execute("SELECT id, width, height FROM photos")))
    assignments: list[tuple[int, str, str]] = []
    for done, (photo_id, paths) in enumerate(sorted(photos.items()), 1):
        if cancel is not None and cancel.is_set():
            raise Cancelled("XMP import cancelled; nothing was changed")
        width, height = sizes[photo_id]
        faces = [(f.id, f.box) for f in library.faces_of_photo(photo_id)]
        named_regions: list[tuple[str, Box, str]] = []
        for path in paths:
            regions, errors = read_regions(path)
            report.errors.extend((display_path(p), why) for p, why in errors)
            regions = [r for r in regions if r.name and r.name.strip()]
            if not regions:
                continue
            report.files_with_regions += 1
            orientation = read_orientation(path)
            for r in regions:
                box = region_to_pixels(r, width, height, orientation)
                # The same region seen again through a second copy of the photo counts once.
                if not any(n.casefold() == r.name.casefold() and b.iou(box) > 0.8 for n, b, _ in named_regions):
                    named_regions.append((r.name, box, path))
        report.regions += len(named_regions)
        matched, unmatched = match_regions(faces, [(n, b) for n, b, _ in named_regions], min_iou)
        report.matched += len(matched)
        origin = {n: p for n, _, p in named_regions}
        assignments.extend((fid, name, origin[name]) for fid, name in matched)
        report.unmatched.extend((display_path(origin[n]), n) for n in unmatched)
        if progress is not None:
            progress(done, len(photos))
    report.result = import_names(library, assignments, {"folder": os.path.abspath(folder)})
    report.seconds = time.perf_counter() - started
    log.info("XMP import from %s: %d regions, %d matched, %d named, %d conflicts", folder,
             report.regions, report.matched, report.result.named, len(report.result.conflicts))
    return report
