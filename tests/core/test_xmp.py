"""XMP face regions: written as MWG, read back by exiftool and by photoface, rotated photos, import."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from photoface.cli import main as cli_main
from photoface.core.library import people
from photoface.core.interop import xmp
from photoface.core.interop.export import export_albums, write_sidecars_beside_originals
from photoface.core.faces.imaging import _ORIENT_TRANSPOSE
from photoface.core.albums.review import Review
from photoface.core.library.store import Library
from photoface.core.types import Box
from photoface.core.interop.xmp import (Region, XmpError, import_names, import_xmp, jpeg_xmp, oriented_to_stored,
                                parse_xmp, read_regions, region_to_pixels, region_xmp, stored_to_oriented)
from tests.core.fakes import face_state, fill_library, identity_vectors
from tests.core.test_export import name_albums, named_library  # noqa: F401 (a fixture)

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed "
                                    "(apt-get install libimage-exiftool-perl)")
# The transpose that turns an upright image into the stored pixels of each orientation.
TO_STORED = {o: {Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
                 Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90}.get(t, t)
             for o, t in _ORIENT_TRANSPOSE.items()}


def xywh(b: Box) -> tuple[float, float, float, float]:
    return (b.x, b.y, b.w, b.h)


def bbox(mask: Image.Image) -> Box:
    x0, y0, x1, y1 = mask.getbbox()
    return Box(x0, y0, x1 - x0, y1 - y0)


def mask_box(size: tuple[int, int], box: Box) -> Image.Image:
    mask = Image.new("L", size, 0)
    mask.paste(255, (round(box.x), round(box.y), round(box.x + box.w), round(box.y + box.h)))
    return mask


def exiftool_regions(path) -> dict:
    out = subprocess.run([EXIFTOOL, "-j", "-struct", "-XMP-mwg-rs:all", str(path)], capture_output=True,
                         check=True).stdout
    return json.loads(out)[0]["RegionInfo"]


# --- orientation (no models) --------------------------------------------------------------------

@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_maps_agree_with_pillow(orientation):
    stored = Box(30, 10, 40, 20)
    size = (120, 80)
    upright = mask_box(size, stored)
    if orientation in _ORIENT_TRANSPOSE:
        upright = upright.transpose(_ORIENT_TRANSPOSE[orientation])  # what imaging.load_image does
    expected = bbox(upright)
    norm = Box(stored.x / size[0], stored.y / size[1], stored.w / size[0], stored.h / size[1])
    got = stored_to_oriented(norm, orientation)
    W, H = upright.size
    assert Box(got.x * W, got.y * H, got.w * W, got.h * H).iou(expected) > 0.999
    back = oriented_to_stored(got, orientation)
    assert back.iou(norm) > 0.999


@pytest.mark.parametrize("orientation", range(1, 9))
def test_written_regions_read_back_in_upright_pixels(orientation):
    w, h = (300, 200) if orientation < 5 else (200, 300)
    faces = [("Ann", Box(10, 20, 50, 60)), ("Bo", Box(120, 100, 40, 40))]
    regions = parse_xmp(region_xmp(w, h, orientation, faces))
    assert [r.name for r in regions] == ["Ann", "Bo"]
    for (_, box), r in zip(faces, regions):
        assert r.dims == xmp.stored_size(w, h, orientation)
        assert region_to_pixels(r, w, h, orientation).iou(box) > 0.99


# --- parsing (no models) ------------------------------------------------------------------------

ELEMENT_FORM = b"""<?xml version="1.0"?><x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
 xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#" xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#">
<mwg-rs:Regions><rdf:Description>
 <mwg-rs:AppliedToDimensions rdf:parseType="Resource"><stDim:w>400</stDim:w><stDim:h>200</stDim:h>
  <stDim:unit>pixel</stDim:unit></mwg-rs:AppliedToDimensions>
 <mwg-rs:RegionList><rdf:Seq>
  <rdf:li rdf:parseType="Resource"><mwg-rs:Name>Ann Lee</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type>
   <mwg-rs:Area rdf:parseType="Resource"><stArea:x>0.5</stArea:x><stArea:y>0.5</stArea:y>
    <stArea:w>0.2</stArea:w><stArea:h>0.4</stArea:h><stArea:unit>normalized</stArea:unit></mwg-rs:Area></rdf:li>
  <rdf:li><rdf:Description mwg-rs:Name="Rex" mwg-rs:Type="Pet"><mwg-rs:Area stArea:x="0.1" stArea:y="0.1"
   stArea:w="0.1" stArea:h="0.1"/></rdf:Description></rdf:li>
  <rdf:li><rdf:Description mwg-rs:Name="Pix"><mwg-rs:Area stArea:x="100" stArea:y="50"
   stArea:w="40" stArea:h="20" stArea:unit="pixel"/></rdf:Description></rdf:li>
  <rdf:li><rdf:Description mwg-rs:Name="Broken"><mwg-rs:Area stArea:x="nan" stArea:y="0.1"
   stArea:w="0.1" stArea:h="0.1"/></rdf:Description></rdf:li>
  <rdf:li><rdf:Description mwg-rs:Name="Empty"><mwg-rs:Area stArea:x="0.3" stArea:y="0.1"
   stArea:w="0" stArea:h="0.1"/></rdf:Description></rdf:li>
 </rdf:Seq></mwg-rs:RegionList></rdf:Description></mwg-rs:Regions>
</rdf:Description></rdf:RDF></x:xmpmeta>"""

MICROSOFT = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:MP="http://ns.microsoft.com/photo/1.2/"
 xmlns:MPRI="http://ns.microsoft.com/photo/1.2/t/RegionInfo#" xmlns:MPReg="http://ns.microsoft.com/photo/1.2/t/Region#">
<MP:RegionInfo rdf:parseType="Resource"><MPRI:Regions><rdf:Bag>
 <rdf:li MPReg:Rectangle="0.25, 0.5, 0.1, 0.2" MPReg:PersonDisplayName="Kim"/>
 <rdf:li rdf:parseType="Resource"><MPReg:Rectangle>0.1,0.1,0.3,0.3</MPReg:Rectangle></rdf:li>
 <rdf:li MPReg:Rectangle="oops" MPReg:PersonDisplayName="Bad"/>
</rdf:Bag></MPRI:Regions></MP:RegionInfo></rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_parse_element_form_types_and_units():
    regions = parse_xmp(ELEMENT_FORM)
    assert [r.name for r in regions] == ["Ann Lee", "Pix"]
    ann, pix = regions
    assert ann.dims == (400, 200) and xywh(ann.box) == pytest.approx((0.4, 0.3, 0.2, 0.4))
    assert xywh(pix.box) == pytest.approx((0.2, 0.2, 0.1, 0.1))


def test_parse_microsoft_regions():
    regions = parse_xmp(MICROSOFT)
    assert [(r.name, r.source) for r in regions] == [("Kim", "mp"), (None, "mp")]
    assert xywh(regions[0].box) == pytest.approx((0.25, 0.5, 0.1, 0.2))


@pytest.mark.parametrize("data", [
    b"", b"garbage", b"<x:xmpmeta", ELEMENT_FORM[:300], b"\xff\xfe<\x00",
    b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
    b"<a xmlns:rdf='u'><rdf:li/></a>" + b"\x00",
])
def test_malformed_xmp_is_an_xmp_error(data):
    try:
        assert parse_xmp(data) == []
    except XmpError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=64), st.integers(0, len(ELEMENT_FORM)), st.integers(0, 40))
def test_mangled_xmp_never_raises_anything_else(junk, at, cut):
    data = ELEMENT_FORM[:at] + junk + ELEMENT_FORM[at + cut:]
    try:
        regions = parse_xmp(data)
    except XmpError:
        return
    assert all(0 <= r.box.x <= 1 and 0 < r.box.w <= 1 for r in regions)


def jpeg_with_xmp(packet: bytes, size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(buf, "JPEG")
    data = buf.getvalue()
    payload = xmp.JPEG_XMP_SIGNATURE + packet
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return data[:2] + segment + data[2:]


def test_read_regions_prefers_sidecars_and_survives_bad_ones(tmp_path):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(jpeg_with_xmp(MICROSOFT))
    assert jpeg_xmp(photo).startswith(b"<x:xmpmeta")
    assert [r.name for r in read_regions(str(photo))[0]] == ["Kim", None]
    (tmp_path / "p.xmp").write_bytes(b"<not xml")
    regions, errors = read_regions(str(photo))
    assert [r.name for r in regions] == ["Kim", None] and errors and "malformed" in errors[0][1]
    (tmp_path / "p.jpg.xmp").write_bytes(region_xmp(64, 48, 1, [("Sidecar", Box(1, 1, 10, 10))]))
    assert [r.name for r in read_regions(str(photo))[0]] == ["Sidecar"]
    (tmp_path / "q.jpg").write_bytes(b"\xff\xd8\xff\xe1\x00")  # truncated header
    assert read_regions(str(tmp_path / "q.jpg")) == ([], [])


# --- importing names (no models) ----------------------------------------------------------------

def test_import_names_is_one_undoable_decision_and_photoface_wins(tmp_path):
    with Library(tmp_path / "lib") as lib:
        faces = fill_library(lib, identity_vectors(2, 4)[0])
        review = Review(lib)
        alice = review.create_person("Alice")
        review.confirm([faces[0]], alice)
        review.not_a_face([faces[1]])
        review.reject([faces[2]], alice)
        before = face_state(lib)
        result = import_names(lib, [(faces[0], "ALICE", "a.xmp"), (faces[1], "Bob", None),
                                    (faces[2], "alice", None), (faces[3], "alice", None),
                                    (faces[4], "Carol", None), (faces[4], "Dave", None),
                                    (faces[5], "  Bob \x07 ", None), (faces[6], "", None)])
        assert result.named == 3 and result.already == 1 and len(result.persons_created) == 2
        reasons = {c.face_id: c.reason for c in result.conflicts}
        assert set(reasons) == {faces[1], faces[2], faces[4]}
        assert "not a face" in reasons[faces[1]] and "rejected" in reasons[faces[2]]
        state = dict((f, (p, s)) for f, p, s in face_state(lib)["faces"])
        assert state[faces[3]] == (alice, "confirmed")
        names = dict(lib.con.execute("SELECT id, name FROM persons").fetchall())
        assert names[state[faces[4]][0]] == "Carol" and names[state[faces[5]][0]] == "Bob"
        after = face_state(lib)
        assert review.undo()[1] == "import_xmp"
        assert face_state(lib) == before
        review.redo()
        assert face_state(lib) == after
        assert import_names(lib, []).decision_id is None


# --- real photos ----------------------------------------------------------------------------------

def rotated_photos(src: Path, folder: Path, orientations=(6, 8)) -> dict[str, tuple[int, Box]]:
    """Re-saves a dataset face off-centre on a wider canvas, stored rotated with an EXIF
    orientation. Returns file name -> (orientation, where the pasted photo is, upright pixels)."""
    face = Image.open(src).convert("RGB")
    canvas = Image.new("RGB", (face.width + 170, face.height + 50), (200, 190, 180))
    canvas.paste(face, (20, 30))
    out = {}
    folder.mkdir(parents=True, exist_ok=True)
    for o in orientations:
        exif = Image.Exif()
        exif[0x0112] = o
        canvas.transpose(TO_STORED[o]).save(folder / f"rot{o}.jpg", "JPEG", quality=95, exif=exif)
        out[f"rot{o}.jpg"] = (o, Box(20, 30, face.width, face.height))
    return out


@pytest.mark.model
def test_regions_of_a_rotated_photo_land_on_the_face(datasets_dir, face_models, tmp_path):
    from photoface.core.library.ingest import scan

    src = sorted((datasets_dir / "lfw_subset" / "kofi_annan").glob("*.jpg"))[0]
    made = rotated_photos(src, tmp_path / "photos")
    with Library(tmp_path / "lib") as lib:
        scan(lib, [str(tmp_path / "photos")], models=face_models)
        detected = {}
        for name, (o, pasted) in made.items():
            (pid,) = lib.con.execute("SELECT photo_id FROM locations WHERE path = ?",
                                     (os.fsencode(tmp_path / "photos" / name),)).fetchone()
            faces = lib.faces_of_photo(pid)
            assert len(faces) == 1 and faces[0].box.iou(pasted) > 0.05  # found, on the pasted photo
            Review(lib).split([faces[0].id], f"Rot {o}")
            detected[name] = faces[0].box
        report = export_albums(lib, tmp_path / "out", xmp=True)
        assert not list((tmp_path / "photos").glob("*.xmp"))  # export never writes beside originals
        beside = write_sidecars_beside_originals(lib)  # unless asked to, explicitly
        assert sorted(os.path.basename(p) for p in beside.written) == ["rot6.jpg.xmp", "rot8.jpg.xmp"]
        assert write_sidecars_beside_originals(lib).skipped == beside.written  # never overwritten
        assert [r.name for r in read_regions(str(tmp_path / "photos" / "rot6.jpg"))[0]] == ["Rot 6"]
    assert report.sidecars_written == 2
    for it in report.items:
        name = os.path.basename(it.source)
        o = made[name][0]
        sidecar = tmp_path / "out" / (it.path + ".xmp")
        upright_size = Image.open(tmp_path / "photos" / name).size[::-1]  # stored is rotated
        stored_size = upright_size[::-1]
        # Where the detected face is in the stored pixels, found by Pillow, not by xmp.py.
        expected = bbox(mask_box(upright_size, detected[name]).transpose(TO_STORED[o]))
        regions = parse_xmp(sidecar.read_bytes())
        assert regions[0].name == f"Rot {o}" and regions[0].dims == stored_size
        r = regions[0].box
        assert Box(r.x * stored_size[0], r.y * stored_size[1], r.w * stored_size[0],
                   r.h * stored_size[1]).iou(expected) > 0.95
        if EXIFTOOL:
            info = exiftool_regions(sidecar)
            assert (info["AppliedToDimensions"]["W"], info["AppliedToDimensions"]["H"]) == stored_size
            (area,) = [reg["Area"] for reg in info["RegionList"] if reg["Name"] == f"Rot {o}"]
            w, h = area["W"] * stored_size[0], area["H"] * stored_size[1]
            got = Box(area["X"] * stored_size[0] - w / 2, area["Y"] * stored_size[1] - h / 2, w, h)
            assert got.iou(expected) > 0.95
    # And back: a fresh library of the exported photos takes the names onto the same faces.
    with Library(tmp_path / "lib2") as lib2:
        scan(lib2, [str(tmp_path / "out")], models=face_models)
        rep = import_xmp(lib2, str(tmp_path / "out"))
        assert rep.result.named == 2 and not rep.unmatched and not rep.errors
        named = {p.name for p in people.list_people(lib2) if p.name}
        assert named == {"Rot 6", "Rot 8"}


def named_faces(lib: Library, shas: set[str] | None = None) -> list[tuple[str, Box, str]]:
    rows = lib.con.execute("SELECT ph.sha256, f.x, f.y, f.w, f.h, p.name FROM faces f JOIN photos ph "
                           "ON ph.id = f.photo_id JOIN persons p ON p.id = f.person_id "
                           "WHERE p.name IS NOT NULL AND f.state IN ('confirmed', 'accepted')").fetchall()
    return [(s, Box(x, y, w, h), n) for s, x, y, w, h, n in rows if shas is None or s in shas]


@pytest.mark.model
def test_round_trip_export_scan_import_gives_the_same_names(named_library, face_models, tmp_path,  # noqa: F811
                                                            capsys):
    from photoface.core.library.ingest import scan

    lib_copy = tmp_path / "lib"
    shutil.copytree(named_library, lib_copy)
    with Library(lib_copy) as lib:
        small = sorted((p for p in people.list_people(lib) if p.name and p.faces >= 3), key=lambda p: p.faces)[:2]
        dest = tmp_path / "out"
        args = ["--library", str(lib_copy), "export", str(dest), "--xmp", "--persons"] + [p.name for p in small]
        assert cli_main(args) == 0
        assert "Exported" in capsys.readouterr().out
        exported = json.loads((dest / "photoface-export.json").read_text())
        shas = {ph["sha256"] for p in exported["persons"] for ph in p["photos"]}
        expected = named_faces(lib, shas)
    sidecars = sorted(dest.rglob("*.jpg.xmp"))
    assert len(sidecars) == len(list(dest.rglob("*.jpg")))
    if EXIFTOOL:
        out = subprocess.run([EXIFTOOL, "-j", "-RegionName", "-RegionType", *map(str, sidecars)],
                             capture_output=True, check=True).stdout
        for rec in json.loads(out):
            names = rec["RegionName"] if isinstance(rec["RegionName"], list) else [rec["RegionName"]]
            assert set(names) & {p.name for p in small}
            assert set(rec["RegionType"] if isinstance(rec["RegionType"], list) else [rec["RegionType"]]) == {"Face"}

    fresh = tmp_path / "fresh"
    with Library(fresh) as new:
        scan(new, [str(dest)], models=face_models)
        # The user already named one of the faces otherwise: that decision must win.
        c_sha, c_box, c_name = expected[0]
        (c_face,) = [fid for fid, sha, x, y, w, h in new.con.execute(
            "SELECT f.id, ph.sha256, f.x, f.y, f.w, f.h FROM faces f JOIN photos ph ON ph.id = f.photo_id")
            if sha == c_sha and Box(x, y, w, h).iou(c_box) > 0.9]
        review = Review(new)
        review.confirm([c_face], review.create_person("Someone Else"))
        before = face_state(new)
    assert cli_main(["--library", str(fresh), "import-xmp", str(dest)]) == 0
    out = capsys.readouterr().out
    assert f"conflict: face {c_face}" in out and "Someone Else" in out and repr(c_name) in out
    with Library(fresh) as new:
        got = named_faces(new)
        assert len(got) == len(expected)
        for sha, box, name in expected:
            match = [n for s, b, n in got if s == sha and b.iou(box) > 0.9]
            assert match == (["Someone Else"] if (sha, box) == (c_sha, c_box) else [name]), (sha, box, name)
        assert Review(new).undo()[1] == "import_xmp"
        assert face_state(new) == before


@pytest.mark.model
def test_import_from_xmp_embedded_in_jpegs(scanned_set, face_models, tmp_path):
    from photoface.core.library.ingest import scan

    lib_dir, folder = scanned_set("lfw_subset")
    sources = sorted((folder / "hans_blix").glob("*.jpg"))[:2]
    with Library(lib_dir) as lib:
        boxes = []
        for src in sources:
            (pid,) = lib.con.execute("SELECT photo_id FROM locations WHERE path = ?", (os.fsencode(src),)).fetchone()
            boxes.append(max(lib.faces_of_photo(pid), key=lambda f: f.box.area).box)
    photos = tmp_path / "photos"
    photos.mkdir()
    # One by hand: a Microsoft region in the APP1 XMP segment.
    img = Image.open(sources[0])
    b = boxes[0]
    rect = f"{b.x / img.width:.4f}, {b.y / img.height:.4f}, {b.w / img.width:.4f}, {b.h / img.height:.4f}"
    packet = MICROSOFT.replace(b"0.25, 0.5, 0.1, 0.2", rect.encode()).replace(b"Kim", b"Hans Blix")
    data = sources[0].read_bytes()
    payload = xmp.JPEG_XMP_SIGNATURE + packet
    (photos / "a.jpg").write_bytes(data[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + data[2:])
    expected = 1
    if EXIFTOOL:  # one written by exiftool, MWG regions
        shutil.copy(sources[1], photos / "b.jpg")
        (tmp_path / "b-src.xmp").write_bytes(region_xmp(img.width, img.height, 1, [("hans blix", boxes[1])]))
        subprocess.run([EXIFTOOL, "-q", "-overwrite_original", f"-xmp<={tmp_path / 'b-src.xmp'}",
                        str(photos / "b.jpg")], check=True)
        assert jpeg_xmp(photos / "b.jpg") is not None
        expected = 2
    with Library(tmp_path / "lib") as lib:
        scan(lib, [str(photos)], models=face_models)
        report = import_xmp(lib, str(photos))
        assert report.files_with_regions == expected and report.result.named == expected
        assert len(report.result.persons_created) == 1  # "hans blix" is "Hans Blix"
        assert [p.name for p in people.list_people(lib) if p.name] == ["Hans Blix"]


def test_region_to_pixels_trusts_upright_dimensions():
    # A writer that normalised to the upright image of an orientation-6 photo (400 x 300).
    r = Region("X", Box(0.1, 0.2, 0.3, 0.4), "mwg", dims=(400, 300))
    assert xywh(region_to_pixels(r, 400, 300, 6)) == pytest.approx((40, 60, 120, 120))
    r = Region("X", Box(0.1, 0.2, 0.3, 0.4), "mwg", dims=(300, 400))
    assert region_to_pixels(r, 400, 300, 6).iou(Box(0.4 * 400, 0.1 * 300, 0.4 * 400, 0.3 * 300)) > 0.99
    assert np.isclose(region_to_pixels(r, 400, 300, 1).x, 40)
