"""Writing XMP: a sidecar packet naming the faces of one photo as MWG regions."""

from __future__ import annotations

from typing import Iterable
from xml.sax.saxutils import escape, quoteattr

from photoface import __version__
from photoface.core.interop.xmp_regions import (DC, DIGIKAM, MWG_RS, RDF, ST_AREA, ST_DIM, clamp_box,
                                                oriented_to_stored, stored_size)
from photoface.core.types import Box

_XML_BAD = {c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)} | {0xFFFE, 0xFFFF}


def xml_text(text: str) -> str:
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
        name = xml_text(name)
        norm = Box(box.x / width_px, box.y / height_px, box.w / width_px, box.h / height_px)
        s = clamp_box(oriented_to_stored(norm, orientation))
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
