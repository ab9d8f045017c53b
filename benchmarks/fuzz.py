"""Fuzz the parsers that read files users bring: image decoding, EXIF dates/orientation, XMP.

Hypothesis generates the inputs (atheris does not install for this Python); each target runs for
a bounded time and every input is checked for the one contract of its function:

- load_image: mutations of small real and synthetic JPEG/PNG/GIF/WebP/TIFF/BMP bytes and
  random bytes; anything raised other than ImageDecodeError is a crash, and a result must be
  an (H, W, 3) uint8 array of the reported size.
- exif: JPEGs whose EXIF block (date, UTC offset, orientation) is mutated, through load_image
  and through read_exif_date / _read_orientation / _parse_exif_datetime, which never raise.
- xmp: mutations of MWG and Microsoft region packets and XML-ish text; parse_xmp raises only
  XmpError and returns regions whose boxes lie inside the unit square.

Crashes are collected (not stopped at), de-duplicated by exception type and raising line, and
their inputs written to --out. Prints one JSON line per target: execs, seconds, crashes.

    .venv/bin/python benchmarks/fuzz.py [--seconds 60] [--target load_image|exif|xmp] [--seed 0]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import random
import struct
import sys
import time
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import OUT_DIR, datasets_root, emit  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from PIL import Image  # noqa: E402

INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\xff\xff", b"\x00\x00", b"\xff\xff\xff\xff",
               b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00", b"\x00\x00\x00\x00", b"\xff\xd8", b"\xff\xd9",
               b"\xff\xc0", b"\xff\xe1", b"IEND", b"IDAT", b"<", b">", b"\"", b"&", b"\x01\x00"]


# --------------------------------------------------------------------------- seeds

def _noise(h: int, w: int, s: int) -> np.ndarray:
    return np.random.default_rng(s).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def exif_block(orientation: int = 6, date: str = "2021:03:04 05:06:07", offset: str = "+02:00") -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0132] = date
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = date
    sub[0x9011] = offset
    sub[0x9004] = date
    return exif.tobytes()


def image_seeds() -> list[bytes]:
    """Small files of every format load_image reads, plus two real photos of lfw_subset."""
    img = Image.fromarray(_noise(24, 32, 1))
    seeds = [
        _save(img, "JPEG", quality=80),
        _save(img, "JPEG", quality=80, exif=exif_block()),
        _save(img, "JPEG", quality=80, progressive=True),
        _save(img, "PNG"),
        _save(img.convert("P"), "PNG", transparency=0),
        _save(Image.fromarray(np.arange(256, dtype=np.uint16).reshape(16, 16) * 256), "PNG"),
        _save(img.convert("P"), "GIF"),
        _save(img, "WEBP", quality=70),
        _save(img, "TIFF"),
        _save(img, "TIFF", compression="tiff_lzw"),
        _save(img, "BMP"),
        _save(img.convert("CMYK"), "JPEG"),
    ]
    lfw = datasets_root() / "lfw_subset"
    if lfw.is_dir():
        seeds += [p.read_bytes() for p in sorted(lfw.rglob("*.jpg"))[:2]]
    return seeds


def xmp_seeds() -> list[bytes]:
    from photoface.core.types import Box
    from photoface.core.interop.xmp import region_xmp

    mwg = region_xmp(640, 480, 6, [("Ann", Box(10, 20, 100, 120)), ("Bob & \"Co\"", Box(300, 40, 80, 90))])
    mp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
          b'<rdf:Description xmlns:MP="http://ns.microsoft.com/photo/1.2/" '
          b'xmlns:MPRI="http://ns.microsoft.com/photo/1.2/t/RegionInfo#" '
          b'xmlns:MPReg="http://ns.microsoft.com/photo/1.2/t/Region#"><MP:RegionInfo rdf:parseType="Resource">'
          b'<MPRI:Regions><rdf:Bag><rdf:li rdf:parseType="Resource"><MPReg:Rectangle>0.1, 0.2, 0.3, 0.4'
          b'</MPReg:Rectangle><MPReg:PersonDisplayName>Carol</MPReg:PersonDisplayName></rdf:li></rdf:Bag>'
          b'</MPRI:Regions></MP:RegionInfo></rdf:Description></rdf:RDF></x:xmpmeta>')
    pixel = mwg.replace(b'stArea:unit="normalized"', b'stArea:unit="pixel"')
    return [mwg, mp, pixel, mwg.decode().encode("utf-16")]


# --------------------------------------------------------------------------- mutations

def mutate(data: bytes, rng: random.Random) -> bytes:
    """1-8 byte-level mutations: flip, overwrite with an interesting value, insert, delete,
    duplicate a chunk, truncate; or (1 in 10) random bytes after the first few bytes."""
    data = bytearray(data)
    if rng.randrange(10) == 0:
        keep = rng.randint(0, min(16, len(data)))
        return bytes(data[:keep]) + rng.randbytes(rng.randint(0, 4096))
    for _ in range(rng.randint(1, 8)):
        if not data:
            break
        pos = rng.randrange(len(data))
        op = rng.randrange(7)
        if op == 0:
            data[pos] ^= 1 << rng.randrange(8)
        elif op == 1:
            v = rng.choice(INTERESTING)
            data[pos:pos + len(v)] = v
        elif op == 2:
            data[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif op == 3:
            del data[pos:pos + rng.randint(1, 64)]
        elif op == 4:
            n = rng.randint(1, 256)
            data[pos:pos] = data[pos:pos + n]
        elif op == 5:
            del data[pos:]
        else:
            data[pos] = rng.randrange(256)
    return bytes(data)


def mutated(seeds: list[bytes]):
    """Hypothesis picks a seed file and a mutation seed; `mutate` does the (fast) rest."""
    return st.builds(lambda i, s: mutate(seeds[i], random.Random(s)),
                     st.integers(0, len(seeds) - 1), st.integers(0, 2**63 - 1))


def _splice_exif(jpeg: bytes, exif: bytes) -> bytes:
    """A JPEG with `exif` as its only APP1 (Exif) segment, right after SOI (cut to 65533 bytes)."""
    payload = b"Exif\x00\x00" + exif
    payload = payload[:65533]
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


# --------------------------------------------------------------------------- the harness

class Crashes:
    """Unexpected exceptions, de-duplicated by (type, file:line of the raise); inputs saved."""

    def __init__(self, target: str, out: Path):
        self.target, self.out = target, out
        self.found: dict[tuple[str, str], dict] = {}
        self.total = 0

    def record(self, exc: BaseException, data: bytes, note: str = "") -> None:
        self.total += 1
        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"
        key = (type(exc).__name__, where)
        if key in self.found:
            self.found[key]["count"] += 1
            return
        self.out.mkdir(parents=True, exist_ok=True)
        name = f"{self.target}-{type(exc).__name__}-{hashlib.sha256(data).hexdigest()[:12]}.bin"
        (self.out / name).write_bytes(data)
        self.found[key] = {"type": type(exc).__name__, "where": where, "message": str(exc)[:300],
                           "note": note, "input": str(self.out / name), "bytes": len(data), "count": 1,
                           "trace": [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in tb[-4:]]}


def run_target(name: str, strategy, check, seconds: float, rng_seed: int, crashes: Crashes) -> dict:
    """Runs `check(example)` on examples of `strategy` until `seconds` pass."""
    execs = [0]
    deadline = time.monotonic() + seconds
    chunk = 0
    while time.monotonic() < deadline:
        @seed(rng_seed * 1000 + chunk)
        @settings(max_examples=300, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def body(example):
            if time.monotonic() >= deadline:
                return
            execs[0] += 1
            check(example, crashes)

        body()
        chunk += 1
    return {"target": name, "execs": execs[0], "seconds": round(seconds, 1), "crashes": crashes.total,
            "unique_crashes": list(crashes.found.values())}


def check_load_image(data: bytes, crashes: Crashes, note: str = "") -> None:
    from photoface.core.errors import ImageDecodeError
    from photoface.core.faces.imaging import load_image

    try:
        img = load_image("fuzz.jpg", data=data)
    except ImageDecodeError as exc:
        if not exc.reason:
            crashes.record(AssertionError("ImageDecodeError without a reason"), data, note)
        return
    except Exception as exc:  # the crash this fuzzer is for
        crashes.record(exc, data, note)
        return
    try:
        assert img.rgb.dtype == np.uint8 and img.rgb.ndim == 3 and img.rgb.shape[2] == 3
        assert img.rgb.shape[:2] == (img.height, img.width)
        assert 1 <= img.orientation <= 8
    except AssertionError as exc:
        crashes.record(exc, data, "bad LoadedImage")


def check_exif(example: tuple[bytes, str, str], crashes: Crashes) -> None:
    from photoface.core.faces.imaging import _parse_exif_datetime, _read_orientation, read_exif_date

    data, text, offset = example
    check_load_image(data, crashes, "mutated EXIF")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data))
    except Exception:
        img = None
    try:
        if img is not None:
            read_exif_date(img)
            o = _read_orientation(img)
            assert 1 <= o <= 8, f"orientation {o}"
        got = _parse_exif_datetime(text, offset)
        assert got is None or isinstance(got, str)
        got = _parse_exif_datetime(text.encode("utf-8", "surrogatepass"), offset.encode("utf-8", "surrogatepass"))
        assert got is None or isinstance(got, str)
    except Exception as exc:
        crashes.record(exc, data + b"\n--text--\n" + repr((text, offset)).encode(), "EXIF readers")


def check_xmp(data: bytes, crashes: Crashes) -> None:
    from photoface.core.interop.xmp import XmpError, parse_xmp

    try:
        regions = parse_xmp(data)
    except XmpError:
        return
    except Exception as exc:
        crashes.record(exc, data)
        return
    try:
        for r in regions:
            b = r.box
            assert all(math.isfinite(v) for v in (b.x, b.y, b.w, b.h)), b
            assert b.w > 0 and b.h > 0 and b.x >= 0 and b.y >= 0 and b.x + b.w <= 1 + 1e-9 \
                and b.y + b.h <= 1 + 1e-9, b
    except AssertionError as exc:
        crashes.record(exc, data, "region outside the unit square")


def exif_strategy(jpeg: bytes):
    dates = st.one_of(st.text(max_size=40), st.sampled_from(
        ["2021:03:04 05:06:07", "0000:00:00 00:00:00", "2021:02:30 25:61:61", "9999:12:31 23:59:59",
         "2021:03:04 05:06:07\x00", "    :  :     :  :  ", "2021-03-04T05:06:07"]))
    offsets = st.one_of(st.text(max_size=12), st.sampled_from(["+02:00", "-0530", "+99:99", "Z", "", "+"]))
    exifs = [exif_block(o, d, off) for o, d, off in
             ((1, "2021:03:04 05:06:07", "+02:00"), (6, "1999:12:31 23:59:59", "-05:30"), (8, "bad", "x"))]
    blocks = st.builds(lambda e, tail: _splice_exif(jpeg, e + tail), mutated(exifs), st.binary(max_size=8))
    return st.tuples(blocks, dates, offsets)


def main() -> int:
    ap = argparse.ArgumentParser(description="Fuzz load_image, the EXIF readers and parse_xmp.")
    ap.add_argument("--seconds", type=float, default=60.0, help="per target")
    ap.add_argument("--target", action="append", choices=("load_image", "exif", "xmp"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT_DIR / "fuzz", help="crash inputs go here")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # Pillow warns on odd files; we only care about raises
    import logging
    logging.disable(logging.WARNING)
    from photoface.core.faces import imaging

    imaging._register_heif()
    targets = args.target or ["load_image", "exif", "xmp"]
    jpeg = _save(Image.fromarray(_noise(24, 32, 2)), "JPEG", quality=80)
    total = 0
    for name in targets:
        crashes = Crashes(name, args.out)
        t0 = time.monotonic()
        if name == "load_image":
            strategy = st.one_of(mutated(image_seeds()), st.binary(max_size=2048))
            result = run_target(name, strategy, check_load_image, args.seconds, args.seed, crashes)
        elif name == "exif":
            result = run_target(name, exif_strategy(jpeg), check_exif, args.seconds, args.seed, crashes)
        else:
            strategy = st.one_of(mutated(xmp_seeds()), st.binary(max_size=512),
                                 st.text(alphabet="<>/=\"' :abcdrfxmpRegionLi", max_size=300).map(str.encode))
            result = run_target(name, strategy, check_xmp, args.seconds, args.seed, crashes)
        result["seconds"] = round(time.monotonic() - t0, 1)
        result["execs_per_s"] = round(result["execs"] / max(result["seconds"], 1e-9), 1)
        emit(result)
        total += crashes.total
    print(json.dumps({"event": "summary", "targets": targets, "crashes": total}))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
