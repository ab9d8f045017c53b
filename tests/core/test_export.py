"""Person albums exported to disk: complete, byte-identical, incremental, and safe when the disk fills."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest

from photoface.core.albums import update as cluster
from photoface.core.interop import export, export_files
from photoface.core.library import people
from photoface.core.errors import Cancelled
from photoface.core.interop.export import (INDEX_NAME, DiskFullError, ExportError, album_folders, export_albums,
                                   safe_file_name, safe_name)
from photoface.core.albums.review import NameTaken, Review
from photoface.core.library.store import Library


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def name_albums(lib: Library) -> dict[int, str]:
    """Names every album after the dataset folder most of its faces come from (as a user would)."""
    cluster.update_albums(lib, full=True)
    review = Review(lib)
    named = {}
    for p in people.list_people(lib):
        idents = Counter(Path(f.path).parent.name for f in people.person_faces(lib, p.id) if f.path)
        if not idents:
            continue
        try:
            review.rename(p.id, idents.most_common(1)[0][0])
            named[p.id] = idents.most_common(1)[0][0]
        except NameTaken:
            pass
    return named


@pytest.fixture(scope="module")
def named_library(scanned_set, tmp_path_factory):
    """A copy of the scanned lfw_subset library with its albums named. Tests only read it."""
    lib_dir, _ = scanned_set("lfw_subset")
    copy = tmp_path_factory.mktemp("export-lib") / "lib"
    shutil.copytree(lib_dir, copy)
    with Library(copy) as lib:
        assert len(name_albums(lib)) >= 10
    return copy


@pytest.fixture()
def lib(named_library):
    with Library(named_library) as library:
        yield library


def expected_files(lib) -> dict[str, set[str]]:
    """folder -> sources of every photo of every named, shown person."""
    folders = album_folders([(p.id, p.name) for p in people.list_people(lib) if p.name])
    return {folders[p.id]: {path for _, _, path in people.person_photos(lib, p.id)}
            for p in people.list_people(lib) if p.name}


def no_temp_files(dest: Path) -> bool:
    return not [p for p in dest.rglob("*") if p.name.startswith(".photoface-") or p.name.endswith(".new")]


# --- names (no models) --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, safe", [
    ("Ann/Bob", "Ann_Bob"), ("a\\b:c*d?e\"f<g>h|i", "a_b_c_d_e_f_g_h_i"), ("Dots...", "Dots"),
    ("trail  ", "trail"), ("CON", "_CON"), ("nul.txt", "_nul.txt"), ("com1", "_com1"), ("LPT9 ", "_LPT9"),
    ("", "_"), ("...", "_"), (".hidden", "_hidden"), ("tab\there\x00x\x1f", "tab_here_x_"),
    ("Zoë", "Zoë"), ("Zoe\u0308", "Zoë"), ("CONSTANCE", "CONSTANCE"),
])
def test_safe_name(raw, safe):
    assert safe_name(raw) == safe


def test_safe_name_is_length_limited_on_a_character_boundary():
    name = safe_name("é" * 300)
    assert len(name.encode("utf-8")) <= export.MAX_NAME_BYTES
    assert name == "é" * (export.MAX_NAME_BYTES // 2)
    assert safe_file_name("x" * 400 + ".jpeg").endswith(".jpeg")
    assert len(safe_file_name("x" * 400 + ".jpeg").encode()) <= export.MAX_NAME_BYTES


def test_album_folders_resolve_collisions_deterministically():
    persons = [(7, "a:b"), (3, "A_B"), (5, "a?b"), (9, "Plain")]
    folders = album_folders(persons)
    assert folders == album_folders(list(reversed(persons)))
    assert folders == {3: "A_B", 5: "a_b (5)", 7: "a_b (7)", 9: "Plain"}
    assert len({f.casefold() for f in folders.values()}) == 4


# --- exporting the real dataset -------------------------------------------------------------------

@pytest.mark.model
def test_export_copies_every_album_photo_byte_identical(lib, tmp_path):
    expected = expected_files(lib)
    sources = sorted({s for paths in expected.values() for s in paths})
    before = {s: (sha256(s), os.stat(s).st_mtime_ns) for s in sources}
    calls = []
    report = export_albums(lib, tmp_path / "out", progress=lambda d, t: calls.append((d, t)))
    dest = tmp_path / "out"
    n = sum(len(v) for v in expected.values())
    assert report.photos == report.copied == n and report.unchanged == 0 and not report.missing
    assert calls[-1] == (n, n) and len(calls) == n
    for folder, paths in expected.items():
        files = {p.name: p for p in (dest / folder).iterdir()}
        assert len(files) == len(paths)
        for src in paths:
            out = files[os.path.basename(src)]
            assert sha256(out) == before[src][0]
            assert out.stat().st_mtime_ns == before[src][1]
    assert {s: (sha256(s), os.stat(s).st_mtime_ns) for s in sources} == before  # originals untouched
    index = json.loads((dest / INDEX_NAME).read_text("utf-8"))
    listed = {(p["folder"], ph["source"], ph["path"]) for p in index["persons"] for ph in p["photos"]}
    assert len(listed) == n
    assert all(ph["faces"] and len(ph["faces"][0]) == 4 for p in index["persons"] for ph in p["photos"])
    assert {p["folder"] for p in index["persons"]} == set(expected)
    assert no_temp_files(dest)


@pytest.mark.model
def test_reexport_copies_nothing_and_never_overwrites_a_changed_file(lib, tmp_path, monkeypatch):
    dest = tmp_path / "out"
    first = export_albums(lib, dest)
    monkeypatch.setattr(export_files, "_copy_bytes", lambda *a: pytest.fail("re-export copied a file"))
    again = export_albums(lib, dest)
    assert again.copied == 0 and again.unchanged == first.photos
    monkeypatch.undo()

    victim = dest / first.items[0].path
    victim.write_bytes(b"edited by the user")
    third = export_albums(lib, dest)
    assert victim.read_bytes() == b"edited by the user"
    assert third.copied == third.renamed == 1
    renamed = victim.with_name(f"{victim.stem} (1){victim.suffix}")
    assert sha256(renamed) == sha256(first.items[0].source)
    assert export_albums(lib, dest).copied == 0  # the " (1)" copy is recognised next time


@pytest.mark.model
def test_same_size_other_mtime_is_checked_by_hash(lib, tmp_path):
    dest = tmp_path / "out"
    first = export_albums(lib, dest, person_ids=[first_named(lib)])
    os.utime(dest / first.items[0].path, ns=(1, 1))  # same bytes, other time: identical
    assert export_albums(lib, dest, person_ids=[first_named(lib)]).copied == 0


def first_named(lib) -> int:
    return next(p.id for p in people.list_people(lib) if p.name)


@pytest.mark.model
def test_hardlink_and_symlink_modes(lib, tmp_path):
    pid = first_named(lib)
    hard = export_albums(lib, tmp_path / "hard", person_ids=[pid], mode="hardlink")
    assert hard.hardlinked == hard.photos > 0 and hard.fallback_copies == 0
    for it in hard.items:
        assert os.path.samefile(tmp_path / "hard" / it.path, it.source)
    soft = export_albums(lib, tmp_path / "soft", person_ids=[pid], mode="symlink")
    assert soft.symlinked == soft.photos
    for it in soft.items:
        link = tmp_path / "soft" / it.path
        assert link.is_symlink() and os.readlink(link) == os.path.abspath(it.source)
    assert export_albums(lib, tmp_path / "soft", person_ids=[pid], mode="symlink").unchanged == soft.photos


@pytest.mark.model
def test_hardlink_across_file_systems_falls_back_to_copies(lib, tmp_path, monkeypatch):
    def no_link(*a, **k):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    report = export_albums(lib, tmp_path / "out", person_ids=[first_named(lib)], mode="hardlink")
    assert report.fallback_copies == report.photos > 0 and report.hardlinked == 0
    assert report.copied == report.photos
    assert any("another file system" in n for n in report.notes)
    for it in report.items:
        out = tmp_path / "out" / it.path
        assert sha256(out) == sha256(it.source) and not os.path.samefile(out, it.source)


@pytest.mark.model
def test_same_file_name_from_two_folders_gets_stable_suffixes(scanned_set, face_models, tmp_path):
    from photoface.core.library.ingest import scan

    _, folder = scanned_set("lfw_subset")
    photos = sorted((folder / "bill_clinton").glob("*.jpg"))[:2]
    for sub, photo in zip(("a", "b"), photos):
        (tmp_path / "photos" / sub).mkdir(parents=True)
        shutil.copy2(photo, tmp_path / "photos" / sub / "IMG_0001.jpg")
    with Library(tmp_path / "lib") as lib:
        scan(lib, [str(tmp_path / "photos")], models=face_models)
        faces = [f for (f,) in lib.con.execute("SELECT id FROM faces")]
        pid = Review(lib).split(faces, "Bill: the 42nd")
        one = export_albums(lib, tmp_path / "one")
        two = export_albums(lib, tmp_path / "two")
        names = sorted(os.path.basename(it.path) for it in one.items)
        assert len(names) == 2 and names == sorted(os.path.basename(it.path) for it in two.items)
        shas = {it.sha256 for it in one.items}
        assert set(names) == {f"IMG_0001_{s[:8]}.jpg" for s in shas}
        assert {os.path.dirname(it.path) for it in one.items} == {"Bill_ the 42nd"}
        assert export_albums(lib, tmp_path / "one", person_ids=[pid]).unchanged == 2


@pytest.mark.model
def test_cancel_stops_between_photos(lib, tmp_path):
    cancel = threading.Event()

    def progress(done, total):
        if done == 3:
            cancel.set()

    with pytest.raises(Cancelled):
        export_albums(lib, tmp_path / "out", progress=progress, cancel=cancel)
    assert len([p for p in (tmp_path / "out").rglob("*.jpg")]) == 3
    assert no_temp_files(tmp_path / "out")


# --- a full disk ----------------------------------------------------------------------------------

@pytest.mark.model
def test_disk_full_leaves_no_partial_file_and_a_rerun_finishes(lib, tmp_path, monkeypatch):
    dest = tmp_path / "out"
    real = export_files._copy_bytes
    calls = [0]

    def fills_up(src, dst):
        calls[0] += 1
        if calls[0] == 6:
            dst.write(src.read(1000))  # part of the file made it to disk
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(export_files, "_copy_bytes", fills_up)
    with pytest.raises(DiskFullError) as info:
        export_albums(lib, dest)
    assert str(dest) in str(info.value) and info.value.errno == errno.ENOSPC
    assert no_temp_files(dest)
    written = [p for p in dest.rglob("*.jpg")]
    assert len(written) == 5
    monkeypatch.undo()
    report = export_albums(lib, dest)
    assert report.unchanged == 5 and report.copied == report.photos - 5
    for it in report.items:
        assert sha256(dest / it.path) == sha256(it.source)


@pytest.mark.model
def test_quota_exceeded_is_a_disk_full_error(lib, tmp_path, monkeypatch):
    def quota(src, dst):
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(export_files, "_copy_bytes", quota)
    with pytest.raises(DiskFullError, match="quota"):
        export_albums(lib, tmp_path / "out")
    assert no_temp_files(tmp_path / "out")


@pytest.fixture()
def small_tmpfs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


@pytest.mark.model
def test_real_full_disk_on_a_1_mib_tmpfs(lib, small_tmpfs):
    dest = small_tmpfs / "albums"
    with pytest.raises(DiskFullError) as info:
        export_albums(lib, dest, mode="hardlink")  # another file system: links become copies
    assert str(dest) in str(info.value)
    assert no_temp_files(dest)
    for p in dest.rglob("*.jpg"):  # what is there is whole
        src = next(s for s in expected_files(lib)[p.parent.name] if os.path.basename(s) == p.name)
        assert sha256(p) == sha256(src)
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
    report = export_albums(lib, dest, mode="hardlink")
    assert report.unchanged > 0 and report.copied + report.unchanged == report.photos
    assert report.fallback_copies == report.copied and any("another file system" in n for n in report.notes)
    assert (dest / INDEX_NAME).is_file()


@pytest.mark.model
def test_unwritable_destination_is_a_clear_error(lib, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can write into a read-only folder")
    dest = tmp_path / "ro"
    dest.mkdir()
    dest.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="cannot write"):
            export_albums(lib, dest)
    finally:
        dest.chmod(0o700)


# --- sidecars -------------------------------------------------------------------------------------

@pytest.mark.model
def test_sidecars_are_written_and_an_edited_one_is_kept(lib, tmp_path):
    pid = first_named(lib)
    dest = tmp_path / "out"
    report = export_albums(lib, dest, person_ids=[pid], xmp=True)
    assert report.sidecars_written == report.photos
    sidecar = dest / (report.items[0].path + ".xmp")
    assert b"mwg-rs:Regions" in sidecar.read_bytes()
    assert not any(Path(it.source + ".xmp").exists() for it in report.items)  # never beside originals
    again = export_albums(lib, dest, person_ids=[pid], xmp=True)
    assert again.sidecars_unchanged == report.photos and again.sidecars_written == 0
    sidecar.write_bytes(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    third = export_albums(lib, dest, person_ids=[pid], xmp=True)
    assert third.sidecars_kept == 1 and sidecar.read_bytes().startswith(b"<x:xmpmeta xmlns:x=")


def test_a_named_person_with_nothing_confirmed_is_not_counted_but_named_in_the_notes(named_library, tmp_path):
    copy = tmp_path / "lib"
    shutil.copytree(named_library, copy)
    with Library(copy) as lib:
        empty = Review(lib).create_person("Nobody Yet")
        report = export_albums(lib, tmp_path / "out", person_ids=[first_named(lib), empty])
    assert report.persons == 1 and report.photos > 0
    assert not (tmp_path / "out" / "Nobody Yet").exists()
    assert any("Nobody Yet" in note and "confirmed" in note for note in report.notes), report.notes
    assert report.summary().startswith("Exported ") and "of 1 person " in report.summary()
