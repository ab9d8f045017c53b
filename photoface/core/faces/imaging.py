"""Decode one photo file into an EXIF-oriented RGB uint8 array, or say in plain words why not.

Every failure becomes `ImageDecodeError(path, reason)` so the scanner can record it and carry
on. Files are only ever opened read-only, and callers that already read the bytes (to hash
them) pass them in as `data` so each photo is read from disk once.
"""

from __future__ import annotations

import datetime as _dt
import io
import logging
import math
import os
import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from photoface.core.errors import ImageDecodeError

log = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".gif"}
)
# Camera RAW files: the scanner counts them as unsupported, not as errors. Pillow would
# happily open the small embedded TIFF preview of some of them, which is not the photo.
RAW_EXTENSIONS = frozenset(
    {
        ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".raf",
        ".orf", ".rw2", ".pef", ".srw", ".x3f", ".3fr", ".erf", ".kdc", ".mrw", ".mos",
        ".iiq", ".rwl",
    }
)

_TAG_ORIENTATION = 0x0112
_TAG_DATETIME = 0x0132
_TAG_EXIF_IFD = 0x8769
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_DATETIME_DIGITIZED = 0x9004
_TAG_OFFSET_TIME_ORIGINAL = 0x9011
_TAG_OFFSET_TIME_DIGITIZED = 0x9012
_TAG_OFFSET_TIME = 0x9010

# EXIF orientation -> the transpose that shows the image upright (same table as
# PIL.ImageOps.exif_transpose, applied by hand so a broken tag cannot make it raise).
_ORIENT_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_heif_lock = threading.Lock()
_heif_registered = False


@dataclass
class LoadedImage:
    """A decoded photo.

    Attributes:
        rgb: uint8 array of shape (H, W, 3), EXIF orientation applied: (height, width, 3), or
            smaller when the photo was decoded for a size (`load_image(max_side=...)`).
        width: width in pixels of the oriented original.
        height: height in pixels of the oriented original.
        taken_at: ISO 8601 capture time from EXIF (DateTimeOriginal, then DateTimeDigitized,
            then DateTime), with the UTC offset when EXIF records one; None when absent or
            malformed.
        orientation: the EXIF orientation tag (1..8) that was applied; 1 when absent or invalid.
    """

    rgb: np.ndarray
    width: int
    height: int
    taken_at: str | None
    orientation: int

    @property
    def to_original(self) -> tuple[float, float]:
        """Factors (x, y) from pixels of `rgb` to pixels of the original; (1.0, 1.0) at full size."""
        return self.width / self.rgb.shape[1], self.height / self.rgb.shape[0]


def _register_heif() -> None:
    """Teach Pillow HEIC/HEIF once, on first use (pillow-heif is slow-ish to import)."""
    global _heif_registered
    if _heif_registered:
        return
    with _heif_lock:
        if _heif_registered:
            return
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except Exception as exc:  # a missing/broken plugin only costs HEIC support
            log.warning("HEIC/HEIF support unavailable: %s", exc)
        _heif_registered = True


def _extension(path: str | bytes | os.PathLike) -> str:
    return os.path.splitext(os.fsdecode(path))[1].lower()


def _parse_exif_datetime(value: object, offset: object = None) -> str | None:
    """'YYYY:MM:DD HH:MM:SS' (EXIF) -> ISO 8601, or None when it isn't a real date."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    text = value.strip().strip("\x00").strip()
    try:
        when = _dt.datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    iso = when.isoformat()
    if isinstance(offset, bytes):
        offset = offset.decode("ascii", "replace")
    if isinstance(offset, str):
        off = offset.strip().strip("\x00")
        try:
            _dt.datetime.strptime(off, "%z")  # "+02:00" / "-0530"; rejects garbage
        except ValueError:
            return iso
        iso += off if ":" in off else f"{off[:3]}:{off[3:]}"
    return iso


def read_exif_date(img: Image.Image) -> str | None:
    """The capture time of an opened image as ISO 8601, or None.

    Tries DateTimeOriginal, DateTimeDigitized, then DateTime, taking the first that parses.

    Args:
        img: an opened Pillow image (any format Pillow reads EXIF from: JPEG, PNG, TIFF,
            WebP, HEIC).

    Returns:
        e.g. "2021-03-04T05:06:07" or "2021-03-04T05:06:07+02:00"; None when absent/malformed.
    """
    try:
        exif = img.getexif()
        sub = exif.get_ifd(_TAG_EXIF_IFD)
    except Exception:  # broken EXIF must never cost the photo
        return None
    candidates = (
        (sub.get(_TAG_DATETIME_ORIGINAL), sub.get(_TAG_OFFSET_TIME_ORIGINAL)),
        (sub.get(_TAG_DATETIME_DIGITIZED), sub.get(_TAG_OFFSET_TIME_DIGITIZED)),
        (exif.get(_TAG_DATETIME), sub.get(_TAG_OFFSET_TIME)),
    )
    for value, offset in candidates:
        iso = _parse_exif_datetime(value, offset)
        if iso is not None:
            return iso
    return None


def _read_orientation(img: Image.Image) -> int:
    """EXIF orientation 1..8, or 1 when absent, out of range or not a number."""
    try:
        value = img.getexif().get(_TAG_ORIENTATION)
    except Exception:
        return 1
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 8:
        return 1
    return value


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[:, :, None], 3, axis=2)


def _scale_to_uint8(arr: np.ndarray, full_scale: float) -> np.ndarray:
    """Map [0, full_scale] linearly onto [0, 255], rounding; values outside are clipped."""
    scaled = np.rint(arr.astype(np.float64) * (255.0 / full_scale))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _deep_grey_to_uint8(arr: np.ndarray) -> np.ndarray:
    """16/32-bit integer or float greyscale -> uint8, scaled (a plain cast would clip)."""
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
        if lo >= 0.0 and hi <= 1.0:
            return _scale_to_uint8(arr, 1.0)  # the usual [0, 1] float convention
        if lo >= 0.0 and hi <= 255.0:
            return _scale_to_uint8(arr, 255.0)
        return _scale_to_uint8(arr - lo, max(hi - lo, 1e-12))
    if arr.dtype.itemsize == 2:  # I;16 family: the full 16-bit range is the scale
        return _scale_to_uint8(arr, 65535.0)
    # Mode "I" (int32): Pillow uses it for 16-bit TIFF/PNG as well as true 32-bit data,
    # so pick the smallest conventional range the values fit in.
    arr = arr.astype(np.int64)
    lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
    if lo >= 0 and hi <= 255:
        return arr.astype(np.uint8)
    if lo >= 0 and hi <= 65535:
        return _scale_to_uint8(arr, 65535.0)
    return _scale_to_uint8(arr - lo, float(max(hi - lo, 1)))


def _composite_on_white(img: Image.Image) -> Image.Image:
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> an "RGB" image (8 bits per channel, alpha composited on white)."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode.startswith("I") or mode == "F":
        grey = _deep_grey_to_uint8(np.asarray(img))
        return Image.fromarray(_grey_to_rgb(grey), "RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in img.info
    ):
        return _composite_on_white(img)
    # CMYK, YCbCr, L, 1, P (opaque), LAB, HSV...: Pillow's own conversions are correct here.
    return img.convert("RGB")


def _draft_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size to ask JPEG draft decoding for: the original shrunk to a long side of `max_side`.

    Draft decoding scales by 1/2, 1/4 or 1/8 and never below the size asked, so the decoded long
    side stays at least `max_side`.
    """
    long_side = max(width, height)
    return (max(1, math.ceil(width * max_side / long_side)),
            max(1, math.ceil(height * max_side / long_side)))


def _decode(path: str | bytes | os.PathLike, data: bytes, max_side: int | None = None) -> LoadedImage:
    """Decode `data` (the whole file). Raises ImageDecodeError on any failure."""
    if len(data) == 0:
        raise ImageDecodeError(path, "empty file (0 bytes)")
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageDecodeError(path, "not an image (unrecognised format)") from None
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(path, _bomb_reason(exc)) from None
    except Image.DecompressionBombWarning as exc:  # only if someone set warnings to "error"
        raise ImageDecodeError(path, _bomb_reason(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError,
            ZeroDivisionError, OverflowError) as exc:
        raise ImageDecodeError(path, "truncated or corrupt image data") from exc
    with img:
        # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; photoface refuses
        # both (checked here rather than via a warnings filter, which is not thread-safe).
        limit = Image.MAX_IMAGE_PIXELS
        pixels = img.width * img.height
        if limit is not None and pixels > limit:
            raise ImageDecodeError(
                path, f"image too large ({pixels} pixels): possible decompression bomb"
            )
        full_size, drafted = img.size, False
        try:
            if max_side is not None and img.format == "JPEG" and max(full_size) >= 2 * max_side:
                # DCT-domain scaling: a 12-megapixel photo decodes about 3x faster at 1/2 size.
                img.draft(None, _draft_size(*full_size, max_side))
                drafted = img.size != full_size
            img.load()  # GIF / animated WebP: this is the first frame
            orientation = _read_orientation(img)
            taken_at = read_exif_date(img)
            rgb_img = _to_rgb(img)
        except MemoryError:
            raise ImageDecodeError(path, "image too large to decode (out of memory)") from None
        except Image.DecompressionBombError as exc:  # a later frame can be a bomb too
            raise ImageDecodeError(path, _bomb_reason(exc)) from None
        except ValueError as exc:
            if "conversion" in str(exc) or "mode" in str(exc):
                raise ImageDecodeError(
                    path, f"unsupported format ({img.format or '?'} image in mode {img.mode})"
                ) from exc
            raise ImageDecodeError(path, "truncated or corrupt image data") from exc
        except (OSError, SyntaxError, EOFError, IndexError, KeyError, TypeError,
                ZeroDivisionError, OverflowError, RuntimeError) as exc:
            raise ImageDecodeError(path, "truncated or corrupt image data") from exc
    transpose = _ORIENT_TRANSPOSE.get(orientation)
    if transpose is not None:
        rgb_img = rgb_img.transpose(transpose)
    rgb = np.asarray(rgb_img, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:  # defensive: _to_rgb promises RGB
        raise ImageDecodeError(path, f"unsupported format (decoded to shape {rgb.shape})")
    if not rgb.flags.writeable:
        rgb = rgb.copy()
    height, width = rgb.shape[:2]
    if drafted:
        width, height = full_size
        if orientation in (5, 6, 7, 8):  # the transposing orientations swap the sides
            width, height = height, width
    return LoadedImage(rgb=rgb, width=width, height=height, taken_at=taken_at,
                       orientation=orientation)


def _bomb_reason(exc: Exception) -> str:
    # Pillow's message: "Image size (N pixels) exceeds limit of ..."; keep N if present.
    text = str(exc)
    pixels = "?"
    if "(" in text and " pixels)" in text:
        pixels = text.split("(", 1)[1].split(" pixels)", 1)[0]
    return f"image too large ({pixels} pixels): possible decompression bomb"


def _read_file(path: str | bytes | os.PathLike) -> bytes:
    """The whole file, opened read-only. Raises ImageDecodeError for OS-level failures."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ImageDecodeError(path, "file not found") from None
    except PermissionError:
        raise ImageDecodeError(path, "permission denied") from None
    except IsADirectoryError:
        raise ImageDecodeError(path, "not a file (it is a folder)") from None
    except MemoryError:
        raise ImageDecodeError(path, "file too large to read (out of memory)") from None
    except OSError as exc:
        raise ImageDecodeError(path, f"cannot read file ({exc.strerror or exc})") from None


def load_image(path: str | bytes | os.PathLike, data: bytes | None = None,
               max_side: int | None = None) -> LoadedImage:
    """Decode a photo into an upright RGB uint8 array.

    Args:
        path: the photo's path (str, bytes for non-UTF-8 names, or path-like). Used for
            error messages and the extension; read (read-only) only when `data` is None.
        data: the file's bytes when the caller already read them (the scanner hashes
            each file first); the file is then not touched.
        max_side: when given, a JPEG whose long side exceeds it may be decoded smaller (1/2,
            1/4 or 1/8 of its size), keeping a long side of at least `max_side` pixels; other
            formats decode at full size. None: always full size.

    Returns:
        LoadedImage with rgb of shape (H, W, 3) uint8, EXIF orientation applied; `width` and
        `height` are the original's (see `LoadedImage.to_original`).

    Raises:
        ImageDecodeError: with a short reason such as "empty file (0 bytes)", "not an image
            (unrecognised format)", "truncated or corrupt image data", "image too large (N
            pixels): possible decompression bomb", "permission denied", "file not found" or
            "unsupported format (...)".
    """
    ext = _extension(path)
    if ext in RAW_EXTENSIONS:
        raise ImageDecodeError(path, f"unsupported format (camera RAW {ext})")
    _register_heif()
    if data is None:
        data = _read_file(path)
    return _decode(path, bytes(data) if not isinstance(data, bytes) else data, max_side)
