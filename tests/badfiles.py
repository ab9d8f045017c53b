"""Generate small awkward and broken photo files, for decoder and scanner tests.

`make_bad_files(folder)` writes one file per kind and returns {file name: expected}, where
`expected` is one of:

- "ok": a valid image that `load_image` must decode to RGB uint8 (H, W, 3).
- "ok-dir": a *folder* named like a photo ("folder.jpg"); the scanner must not treat it as
  a file (load_image on it raises ImageDecodeError "not a file ...").
- "permission denied|root": a chmod-000 file; it reads fine when tests run as root, so
  tests skip it when `RUNNING_AS_ROOT`.
- otherwise a keyword that must appear in ImageDecodeError.reason ("empty file",
  "truncated", "not an image", "too large").

Everything is synthetic (noise and gradients; never the face datasets) and under 200 KB.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

RUNNING_AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# bytes name that is not valid UTF-8; the dict key is its os.fsdecode() (surrogate-escaped).
NON_UTF8_NAME = b"caf\xe9.jpg"
NON_UTF8_KEY = os.fsdecode(NON_UTF8_NAME)

# file name -> expected outcome (see the module docstring).
KINDS: dict[str, str] = {
    "empty.jpg": "empty file",
    "truncated.jpg": "truncated",
    "truncated.png": "truncated",
    "random_bytes.jpg": "not an image",
    "text.png": "not an image",
    "png_named.jpg": "ok",
    "bomb.png": "too large",  # > 2 * MAX_IMAGE_PIXELS: Pillow itself raises
    "bomb_warn.png": "too large",  # between 1x and 2x: Pillow only warns; we refuse
    "cmyk.jpg": "ok",
    "grey16.png": "ok",
    "rgb16.png": "ok",
    "palette_transparent.png": "ok",
    "rgba.png": "ok",
    "grey.jpg": "ok",
    "one_pixel.png": "ok",
    "animated.gif": "ok",
    "orientation_0.jpg": "ok",
    "orientation_9.jpg": "ok",
    "orientation_str.jpg": "ok",
    "exif_garbage.jpg": "ok",
    NON_UTF8_KEY: "ok",
    "unreadable.jpg": "permission denied|root",
    "folder.jpg": "ok-dir",
}

# First-frame colour of animated.gif (red), for tests that check the frame choice.
GIF_FIRST_FRAME_RGB = (255, 0, 0)


def _noise_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A gradient plus noise, uint8 (height, width, 3): compresses badly, like a photo."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 // max(width - 1, 1), yy * 255 // max(height - 1, 1),
                     (xx + yy) * 255 // max(width + height - 2, 1)], axis=2)
    noisy = base + rng.integers(-40, 41, size=base.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _encode(img: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, rows) -> bytes:
    """A minimal PNG written by hand, streaming rows (so a huge blank image costs no memory).

    Args:
        width, height: size in pixels.
        bit_depth: 1, 8 or 16.
        colour_type: 0 grey, 2 RGB, 6 RGBA (PNG spec numbering).
        rows: iterable of `height` raw scanlines (bytes, no filter byte).
    """
    comp = zlib.compressobj(9)
    idat = bytearray()
    for row in rows:
        idat += comp.compress(b"\x00" + row)
    idat += comp.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", bytes(idat)) + _png_chunk(b"IEND", b""))


def _blank_png(width: int, height: int) -> bytes:
    """1-bit all-black PNG of the given size: tiny on disk, huge once decoded."""
    row = bytes((width + 7) // 8)
    return png_bytes(width, height, 1, 0, (row for _ in range(height)))


def _rgb16_png(height: int = 48, width: int = 64) -> bytes:
    yy, xx = np.mgrid[0:height, 0:width]
    arr = np.stack([xx * 65535 // (width - 1), yy * 65535 // (height - 1),
                    np.full_like(xx, 40000)], axis=2).astype(">u2")
    return png_bytes(width, height, 16, 2, (arr[y].tobytes() for y in range(height)))


def _jpeg_with_exif(exif: bytes) -> bytes:
    return _encode(Image.fromarray(_noise_rgb(40, 60, seed=3)), "JPEG", quality=90, exif=exif)


def _exif_orientation(value: int | str) -> bytes:
    """Raw EXIF (APP1 payload) holding only an orientation tag, as SHORT or (wrongly) ASCII.

    Written by hand because Pillow refuses to write a string where the spec says SHORT.
    """
    if isinstance(value, str):
        text = value.encode("ascii")[:3] + b"\x00"
        entry = struct.pack("<HHI", 0x0112, 2, 4) + text.ljust(4, b"\x00")
    else:
        entry = struct.pack("<HHIHH", 0x0112, 3, 1, value, 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + entry + struct.pack("<I", 0)
    return b"Exif\x00\x00" + tiff


def _file_contents() -> dict[str, bytes]:
    """Contents of every plain-file kind except the non-UTF-8 name and the unreadable file."""
    photo = _encode(Image.fromarray(_noise_rgb(256, 256)), "JPEG", quality=90)
    png = _encode(Image.fromarray(_noise_rgb(64, 96, seed=1)), "PNG")

    grey16 = Image.fromarray(
        (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16))  # mode I;16

    palette = Image.new("P", (32, 32), 0)
    palette.putpalette([0, 0, 0, 0, 128, 255] + [0] * (256 * 3 - 6))
    palette.paste(1, (8, 8, 24, 24))  # opaque blue square on a transparent index 0

    rgba_arr = np.zeros((32, 48, 4), np.uint8)
    rgba_arr[..., 0] = 200
    rgba_arr[..., 3] = np.linspace(0, 255, 48).astype(np.uint8)[None, :]

    frames = [Image.new("RGB", (24, 16), c) for c in (GIF_FIRST_FRAME_RGB, (0, 255, 0), (0, 0, 255))]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    cmyk = Image.fromarray(_noise_rgb(48, 64, seed=2)).convert("CMYK")
    return {
        "empty.jpg": b"",
        "truncated.jpg": photo[: len(photo) // 2],
        "truncated.png": png[: len(png) // 2],
        "random_bytes.jpg": np.random.default_rng(42).bytes(4096),
        "text.png": b"This is not a picture, just some text someone named .png\n" * 20,
        "png_named.jpg": png,
        "bomb.png": _blank_png(20000, 20000),
        "bomb_warn.png": _blank_png(10000, 10000),
        "cmyk.jpg": _encode(cmyk, "JPEG", quality=90),
        "grey16.png": _encode(grey16, "PNG"),
        "rgb16.png": _rgb16_png(),
        "palette_transparent.png": _encode(palette, "PNG", transparency=0),
        "rgba.png": _encode(Image.fromarray(rgba_arr, "RGBA"), "PNG"),
        "grey.jpg": _encode(Image.fromarray(_noise_rgb(40, 50, seed=4)[..., 0], "L"), "JPEG"),
        "one_pixel.png": _encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"),
        "animated.gif": gif.getvalue(),
        "orientation_0.jpg": _jpeg_with_exif(_exif_orientation(0)),
        "orientation_9.jpg": _jpeg_with_exif(_exif_orientation(9)),
        "orientation_str.jpg": _jpeg_with_exif(_exif_orientation("six")),
        # an EXIF block whose TIFF structure is garbage: must not cost the photo
        "exif_garbage.jpg": _jpeg_with_exif(b"Exif\x00\x00" + np.random.default_rng(7).bytes(64)),
    }


def make_bad_files(folder: Path) -> dict[str, str]:
    """Write one file (or folder) per kind of awkward input into `folder`.

    Args:
        folder: an existing, writable directory (a pytest tmp_path).

    Returns:
        {name: expected} as in `KINDS`; the non-UTF-8 name appears as its os.fsdecode() str,
        so `folder / name` opens it.
    """
    folder = Path(folder)
    for name, content in _file_contents().items():
        (folder / name).write_bytes(content)

    good_jpeg = _encode(Image.fromarray(_noise_rgb(32, 32, seed=5)), "JPEG")
    fd = os.open(os.path.join(os.fsencode(folder), NON_UTF8_NAME),
                 os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(good_jpeg)

    unreadable = folder / "unreadable.jpg"
    unreadable.write_bytes(good_jpeg)
    unreadable.chmod(0)

    (folder / "folder.jpg").mkdir()
    (folder / "folder.jpg" / "inside.jpg").write_bytes(good_jpeg)
    return dict(KINDS)


def make_symlink_loop(folder: Path) -> Path:
    """Create `folder/a/link -> ..` (a directory symlink back to `folder`); returns `folder/a`.

    A walker that follows directory symlinks without tracking visited (st_dev, st_ino)
    pairs would loop forever (or until ELOOP / path-length limits).
    """
    sub = Path(folder) / "a"
    sub.mkdir(exist_ok=True)
    (sub / "link").symlink_to("..", target_is_directory=True)
    return sub
