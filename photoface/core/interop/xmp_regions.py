"""What reading and writing XMP face regions share: the namespaces, box orientation, clamping.

Orientation: photoface's boxes are in pixels of the EXIF-oriented image; MWG regions are
normalised to the image as stored (unrotated), with AppliedToDimensions of the stored image
(MWG Guidelines 2.0, "Image Region Metadata"). Boxes are converted both ways here.
"""

from __future__ import annotations

import os
from typing import Callable

from photoface.core.types import Box

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
MWG_RS = "http://www.metadataworkinggroup.com/schemas/regions/"
ST_AREA = "http://ns.adobe.com/xmp/sType/Area#"
ST_DIM = "http://ns.adobe.com/xap/1.0/sType/Dimensions#"
DC = "http://purl.org/dc/elements/1.1/"
DIGIKAM = "http://www.digikam.org/ns/1.0/"
MP = "http://ns.microsoft.com/photo/1.2/"
MPRI = "http://ns.microsoft.com/photo/1.2/t/RegionInfo#"
MPREG = "http://ns.microsoft.com/photo/1.2/t/Region#"


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


def clamp_box(b: Box) -> Box:
    """A normalised box cut to the image ([0, 1] on both axes)."""
    x0, y0 = min(max(b.x, 0.0), 1.0), min(max(b.y, 0.0), 1.0)
    x1, y1 = min(max(b.x + b.w, 0.0), 1.0), min(max(b.y + b.h, 0.0), 1.0)
    return Box(x0, y0, x1 - x0, y1 - y0)
