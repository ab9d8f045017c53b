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
import stat
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
    # --- added for the bad-input corpus (tests/test_corpus.py) ---
    "jpeg_named.png": "ok",                # wrong extension, the other way round
    "webp_named.jpg": "ok",
    "upper_case.JPG": "ok",                # extensions are matched case-insensitively
    "animated.webp": "ok",                 # first frame
    "trailing_garbage.jpg": "ok",          # bytes after EOI: viewers show it, so do we
    "exif_ifd_overflow.jpg": "ok",         # IFD entry count far past the end of the EXIF block
    "a" * 251 + ".jpg": "ok",              # a 255-byte file name (the Linux maximum)
    "\u00e9" * 125 + ".jpg": "ok",         # 254 bytes of UTF-8, 129 characters
    "soi_only.jpg": "not an image",  # just FF D8 (Pillow cannot even identify it)
    "jpeg_zero_size.jpg": "not an image",  # SOF0 declaring 0 x 0 pixels
    "jpeg_huge_declared.jpg": "too large",  # SOF0 declaring 65535 x 65535, then nothing
    "png_signature_only.png": "not an image",
    "png_bad_crc.png": "not an image",  # IHDR checksum wrong
    "bmp_bogus_header.bmp": "truncated",    # "BM" then a header with impossible fields
    "bmp_huge_declared.bmp": "too large",
    "tiff_bad_compression.tif": "not an image",  # compression tag 0xBEEF
    "webp_truncated.webp": "truncated",
    "heic_garbage.heic": "not an image",  # an ftyp box saying heic, then noise
    "gif_zero_frames.gif": "not an image",  # header, screen descriptor, trailer: no image
    "psd_named.jpg": "not an image",  # a Photoshop header with nothing after it
    "pdf_named.jpg": "not an image",
    "svg_named.jpg": "not an image",
    "utf16_text.png": "not an image",      # a UTF-16 text file with a BOM
    "zip_named.jpg": "not an image",
    "html_named.jpg": "not an image",
}

# Files and folders that only a scanner meets (see `make_scanner_corpus`); the value is what the
# scan must record: a keyword of the reason in `Library.errors()` for the path, "skipped" (not an
# error, not a photo), "scanned" (a photo), or "permission denied|root" (root reads it anyway).
SCANNER_KINDS: dict[str, str] = {
    "fifo.jpg": "not a regular file",      # a named pipe: opening it would block forever
    "socket.jpg": "not a regular file",
    "device.jpg": "not a regular file",    # a character device (root only; else left out)
    "dangling.jpg": "broken symbolic link",
    "loop": "skipped",                     # a/link -> .. : the walk must end
    "empty_folder": "skipped",
    "locked_folder": "permission denied|root",  # chmod 000 folder holding a photo
    "deep": "name too long",               # nested folders whose path exceeds 4,096 bytes
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


def _jpeg_sof(width: int, height: int) -> bytes:
    """A JPEG that is only SOI, a baseline SOF0 header of the given size, and EOI."""
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"".join(
        bytes((i, 0x11, 0)) for i in (1, 2, 3))
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


def _bmp_header(width: int, height: int, bpp: int, offset: int = 54, compression: int = 0) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bpp, compression, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 64, 0, 0, offset) + info + bytes(64)


def _tiff_bad_compression() -> bytes:
    """An 8 x 8 greyscale TIFF whose compression tag names a scheme nobody implements."""
    entries = [(256, 3, 1, 8), (257, 3, 1, 8), (258, 3, 1, 8), (259, 3, 1, 0xBEEF),
               (262, 3, 1, 1), (273, 4, 1, 8 + 2 + 9 * 12 + 4), (277, 3, 1, 1),
               (278, 3, 1, 8), (279, 4, 1, 64)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3
                                                 else struct.pack("<I", value))
        for tag, kind, count, value in entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(range(64))


def _exif_ifd_overflow() -> bytes:
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 0xFFFF) + bytes(12)
    return _jpeg_with_exif(b"Exif\x00\x00" + tiff)


def _zip_bytes() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("photo.jpg", b"not really")
    return buf.getvalue()


def _extra_contents(photo: bytes, png: bytes) -> dict[str, bytes]:
    """The kinds added for the corpus (see KINDS)."""
    small = Image.fromarray(_noise_rgb(40, 56, seed=11))
    webp = _encode(small, "WEBP", quality=80)
    frames = [Image.new("RGB", (24, 16), c) for c in (GIF_FIRST_FRAME_RGB, (0, 255, 0))]
    anim = io.BytesIO()
    frames[0].save(anim, "WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0)
    bad_crc = bytearray(png)
    bad_crc[29] ^= 0xFF  # the last byte of IHDR's CRC (8 signature + 4 + 4 + 13 bytes before it)
    gif0 = b"GIF89a" + struct.pack("<HHBBB", 16, 16, 0, 0, 0) + b"\x3b"
    return {
        "jpeg_named.png": _encode(small, "JPEG", quality=85),
        "webp_named.jpg": webp,
        "upper_case.JPG": _encode(small, "JPEG", quality=85),
        "animated.webp": anim.getvalue(),
        "trailing_garbage.jpg": photo + np.random.default_rng(12).bytes(2048),
        "exif_ifd_overflow.jpg": _exif_ifd_overflow(),
        "a" * 251 + ".jpg": _encode(small, "JPEG", quality=85),
        "\u00e9" * 125 + ".jpg": _encode(small, "JPEG", quality=85),
        "soi_only.jpg": b"\xff\xd8",
        "jpeg_zero_size.jpg": _jpeg_sof(0, 0),
        "jpeg_huge_declared.jpg": _jpeg_sof(65535, 65535),
        "png_signature_only.png": b"\x89PNG\r\n\x1a\n",
        "png_bad_crc.png": bytes(bad_crc),
        "bmp_bogus_header.bmp": _bmp_header(64, 64, 7, offset=0xFFFFFF, compression=9),
        "bmp_huge_declared.bmp": _bmp_header(100_000, 100_000, 24),
        "tiff_bad_compression.tif": _tiff_bad_compression(),
        "webp_truncated.webp": webp[: len(webp) // 2],
        "heic_garbage.heic": (struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic"
                              + np.random.default_rng(13).bytes(3000)),
        "gif_zero_frames.gif": gif0,
        "psd_named.jpg": b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 64, 64, 8, 3),
        "pdf_named.jpg": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        "svg_named.jpg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" '
                          b'height="10"><rect width="10" height="10"/></svg>'),
        "utf16_text.png": "This is text, saved by Notepad as UTF-16.\n".encode("utf-16"),
        "zip_named.jpg": _zip_bytes(),
        "html_named.jpg": b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n",
    }


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
        **_extra_contents(photo, png),
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


def _deep_folders(folder: Path, total_bytes: int = 4300) -> bytes:
    """Nested 200-byte folder names under `folder/deep` until the path exceeds total_bytes,
    with a photo at the bottom. Made with dir_fd, since the full path is too long for the OS.

    Returns:
        The deepest folder's path (bytes; longer than PATH_MAX, so only usable relatively).
    """
    base = os.path.join(os.fsencode(folder), b"deep")
    os.mkdir(base)
    path, fd = base, os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        while len(path) <= total_bytes:
            name = b"d" * 200
            os.mkdir(name, dir_fd=fd)
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd, path = sub, path + b"/" + name
        photo = os.open(b"photo.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        with os.fdopen(photo, "wb") as f:
            f.write(_encode(Image.fromarray(_noise_rgb(32, 32, seed=6)), "JPEG"))
    finally:
        os.close(fd)
    return path


def make_scanner_corpus(folder: Path) -> dict[str, str]:
    """Write the files and folders of `SCANNER_KINDS` into `folder`.

    Kinds this process cannot make (a device node when not root) are left out of the result.

    Returns:
        {name: expected} as in `SCANNER_KINDS`.
    """
    import socket

    folder = Path(folder)
    made = dict(SCANNER_KINDS)
    good = _encode(Image.fromarray(_noise_rgb(32, 32, seed=8)), "JPEG")
    os.mkfifo(folder / "fifo.jpg")
    # AF_UNIX paths are limited to ~108 bytes: bind a relative name from inside the folder.
    cwd = os.getcwd()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.chdir(folder)
        sock.bind("socket.jpg")
    finally:
        os.chdir(cwd)
        sock.close()  # the socket file stays behind, as after a crashed program
    try:
        os.mknod(folder / "device.jpg", 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null
    except (PermissionError, OSError):
        del made["device.jpg"]
    os.symlink(folder / "nowhere.jpg", folder / "dangling.jpg")
    make_symlink_loop(folder).rename(folder / "loop")
    (folder / "empty_folder").mkdir()
    locked = folder / "locked_folder"
    locked.mkdir()
    (locked / "inside.jpg").write_bytes(good)
    locked.chmod(0)
    _deep_folders(folder)
    return made
