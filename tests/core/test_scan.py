"""The folder walk: one stat per file, no loops, skips what is not the user's photos."""

import os

from photoface.core.library.walk import plan_root, root_is_online, walk


def _touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _names(result):
    return sorted(os.path.basename(os.fsdecode(f.path)) for f in result.photos)


def test_walk_finds_photos_in_nested_folders_with_any_case_extension(tmp_path):
    for name in ["a.jpg", "b.JPEG", "sub/c.png", "sub/deeper/d.webp", "e.heic", "f.tif", "g.gif", "h.bmp"]:
        _touch(tmp_path / name)
    _touch(tmp_path / "notes.txt")
    result = walk(os.fsencode(tmp_path))
    assert _names(result) == sorted(["a.jpg", "b.JPEG", "c.png", "d.webp", "e.heic", "f.tif", "g.gif", "h.bmp"])


def test_walk_skips_hidden_foreign_libraries_library_dir_and_excludes(tmp_path):
    _touch(tmp_path / "keep.jpg")
    _touch(tmp_path / ".hidden" / "no.jpg")
    _touch(tmp_path / ".secret.jpg")
    _touch(tmp_path / "Photos Library.photoslibrary" / "originals" / "no.jpg")
    _touch(tmp_path / "cat.lrdata" / "no.jpg")
    _touch(tmp_path / "lib" / "no.jpg")
    _touch(tmp_path / "2019" / "trash" / "no.jpg")
    _touch(tmp_path / "2019" / "yes.jpg")
    result = walk(os.fsencode(tmp_path), ["trash"], [os.fsencode(tmp_path / "lib")])
    assert _names(result) == ["keep.jpg", "yes.jpg"]


def test_raw_files_are_unsupported_not_errors(tmp_path):
    _touch(tmp_path / "a.CR2")
    _touch(tmp_path / "b.nef")
    result = walk(os.fsencode(tmp_path))
    assert len(result.unsupported) == 2 and not result.errors and not result.photos


def test_symlink_loop_ends_and_linked_folders_are_walked_once(tmp_path):
    _touch(tmp_path / "a" / "x.jpg")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    os.symlink(tmp_path / "a", tmp_path / "again")
    result = walk(os.fsencode(tmp_path))
    assert _names(result) == ["x.jpg"]


def test_broken_symlink_is_an_error_with_a_reason(tmp_path):
    os.symlink(tmp_path / "nowhere.jpg", tmp_path / "dangling.jpg")
    result = walk(os.fsencode(tmp_path))
    assert result.errors and "broken symbolic link" in result.errors[0][1]


def test_non_utf8_names_are_found(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.jpg"
    with open(raw, "wb") as fh:
        fh.write(b"x")
    result = walk(os.fsencode(tmp_path))
    assert [f.path for f in result.photos] == [raw]


def test_plan_counts_unchanged_files_and_lists_new_changed_and_gone(tmp_path):
    a = _touch(tmp_path / "a.jpg")
    b = _touch(tmp_path / "b.jpg")
    st = a.stat()
    known = {os.fsencode(a): (st.st_size, st.st_mtime_ns, "ok"),
             os.fsencode(b): (999, 1, "ok"),
             os.fsencode(tmp_path / "gone.jpg"): (1, 1, "ok")}
    _touch(tmp_path / "new.jpg")
    plan = plan_root(known, 1, os.fsencode(tmp_path), [], tmp_path / "lib")
    assert plan.online and plan.unchanged == 1
    assert sorted(os.path.basename(f.path) for f in plan.todo) == [b"b.jpg", b"new.jpg"]
    assert plan.gone == [os.fsencode(tmp_path / "gone.jpg")]


def test_missing_or_emptied_root_is_offline_not_deleted(tmp_path):
    assert not root_is_online(os.fsencode(tmp_path / "unmounted"), 10)
    (tmp_path / "mnt").mkdir()
    assert not root_is_online(os.fsencode(tmp_path / "mnt"), 10)   # empty mount point, had files
    assert root_is_online(os.fsencode(tmp_path / "mnt"), 0)        # new empty folder
    plan = plan_root({b"/x/a.jpg": (1, 1, "ok")}, 1, os.fsencode(tmp_path / "unmounted"), [], tmp_path)
    assert not plan.online and plan.gone == []
