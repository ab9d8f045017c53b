"""load_image: awkward and broken files, EXIF orientation and dates, bytes input, HEIC."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from photoface.core.errors import ImageDecodeError
from photoface.core.faces.imaging import (
    RAW_EXTENSIONS,
    SUPPORTED_EXTENSIONS,
    LoadedImage,
    load_image,
    read_exif_date,
)
from tests import badfiles

BOMB_WARNING = "ignore::PIL.Image.DecompressionBombWarning"


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("badfiles")
    return folder, badfiles.make_bad_files(folder)


def _check_rgb(result: LoadedImage) -> None:
    assert isinstance(result, LoadedImage)
    assert result.rgb.dtype == np.uint8
    assert result.rgb.ndim == 3 and result.rgb.shape[2] == 3
    assert result.rgb.shape[:2] == (result.height, result.width)
    assert 1 <= result.orientation <= 8


def _jpeg(arr: np.ndarray, exif: Image.Exif | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=95, **({"exif": exif} if exif is not None else {}))
    return buf.getvalue()


def test_extension_sets():
    assert {".jpg", ".jpeg", ".png", ".heic", ".gif", ".tiff"} <= SUPPORTED_EXTENSIONS
    assert {".cr2", ".nef", ".dng", ".arw"} <= RAW_EXTENSIONS
    assert not SUPPORTED_EXTENSIONS & RAW_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in SUPPORTED_EXTENSIONS | RAW_EXTENSIONS)


@pytest.mark.filterwarnings(BOMB_WARNING)
@pytest.mark.parametrize("name", sorted(badfiles.KINDS), ids=ascii)
def test_bad_and_odd_files(bad_dir, name):
    folder, kinds = bad_dir
    expected = kinds[name]
    path = folder / name
    if expected == "ok-dir":
        assert path.is_dir()
        with pytest.raises(ImageDecodeError, match="not a file"):
            load_image(path)
        return
    assert path.stat().st_size < 200_000
    if expected == "ok":
        _check_rgb(load_image(path))
        return
    if expected == "permission denied|root":
        if badfiles.RUNNING_AS_ROOT:
            pytest.skip("root can read a chmod-000 file")
        expected = "permission denied"
    with pytest.raises(ImageDecodeError) as info:
        load_image(path)
    assert expected in info.value.reason
    assert str(path) in str(info.value)
    assert info.value.path == str(path)


@pytest.mark.filterwarnings(BOMB_WARNING)
def test_bomb_is_small_on_disk_and_over_pillows_hard_limit(bad_dir):
    folder, _ = bad_dir
    assert (folder / "bomb.png").stat().st_size < 200_000
    with Image.open(folder / "bomb_warn.png") as img:  # header only: below the hard limit
        assert Image.MAX_IMAGE_PIXELS < img.width * img.height <= 2 * Image.MAX_IMAGE_PIXELS
    with pytest.raises(Image.DecompressionBombError):
        Image.open(folder / "bomb.png")


def test_bomb_warning_as_error_filter_still_gives_decode_error(bad_dir):
    folder, _ = bad_dir
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(ImageDecodeError, match="possible decompression bomb"):
            load_image(folder / "bomb_warn.png")


def test_truncated_images_flag_left_alone(bad_dir):
    folder, _ = bad_dir
    with pytest.raises(ImageDecodeError):
        load_image(folder / "truncated.jpg")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_sixteen_bit_grey_is_scaled_not_clipped(bad_dir):
    rgb = load_image(bad_dir[0] / "grey16.png").rgb
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255
    assert 120 < rgb.mean() < 135  # a linear 0..65535 ramp; clipping would give ~255
    assert (rgb == 255).mean() < 0.01


def test_sixteen_bit_rgb_png(bad_dir):
    rgb = load_image(bad_dir[0] / "rgb16.png").rgb
    assert rgb.shape == (48, 64, 3)
    assert rgb[0, 0, 0] == 0 and rgb[0, -1, 0] == 255  # red ramps left to right
    assert abs(int(rgb[10, 10, 2]) - round(40000 / 65535 * 255)) <= 1


def test_transparency_composited_on_white(bad_dir):
    pal = load_image(bad_dir[0] / "palette_transparent.png").rgb
    assert tuple(pal[0, 0]) == (255, 255, 255)
    assert tuple(pal[16, 16]) == (0, 128, 255)
    rgba = load_image(bad_dir[0] / "rgba.png").rgb
    assert tuple(rgba[5, 0]) == (255, 255, 255)  # alpha 0
    assert tuple(rgba[5, -1]) == (200, 0, 0)  # alpha 255


def test_cmyk_jpeg_colours_survive():
    original = badfiles._noise_rgb(48, 64, seed=2)
    buf = io.BytesIO()
    Image.fromarray(original).convert("CMYK").save(buf, "JPEG", quality=95)
    rgb = load_image("cmyk.jpg", data=buf.getvalue()).rgb
    assert np.abs(rgb.astype(int) - original.astype(int)).mean() < 12


def test_gif_first_frame(bad_dir):
    rgb = load_image(bad_dir[0] / "animated.gif").rgb
    assert tuple(rgb[8, 12]) == badfiles.GIF_FIRST_FRAME_RGB


def test_one_pixel(bad_dir):
    result = load_image(bad_dir[0] / "one_pixel.png")
    assert (result.width, result.height) == (1, 1)
    assert tuple(result.rgb[0, 0]) == (10, 20, 30)


def test_non_utf8_name_as_bytes_and_str(bad_dir):
    folder, _ = bad_dir
    raw = os.path.join(os.fsencode(folder), badfiles.NON_UTF8_NAME)
    from_bytes = load_image(raw)
    from_str = load_image(folder / badfiles.NON_UTF8_KEY)
    np.testing.assert_array_equal(from_bytes.rgb, from_str.rgb)


def test_missing_file_and_raw_extension(tmp_path):
    with pytest.raises(ImageDecodeError, match="file not found"):
        load_image(tmp_path / "nope.jpg")
    raw = tmp_path / "IMG_0001.CR2"
    raw.write_bytes(b"II*\x00" + bytes(100))
    with pytest.raises(ImageDecodeError, match="unsupported format"):
        load_image(raw)


def test_exif_orientation_6_rotates_clockwise():
    arr = np.full((40, 60, 3), 128, np.uint8)  # 60 wide, 40 tall as stored
    arr[:10, :10] = (255, 0, 0)  # red marker at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    result = load_image("rotated.jpg", data=_jpeg(arr, exif))
    assert result.orientation == 6
    assert (result.width, result.height) == (40, 60)
    assert result.rgb.shape == (60, 40, 3)
    # Turning clockwise moves the top-left corner to the top-right.
    r, g, b = result.rgb[4, 35].astype(int)
    assert r > 200 and g < 60 and b < 60
    assert abs(int(result.rgb[4, 4, 0]) - 128) < 30  # top-left is now plain grey


def test_exif_date_original_preferred_and_iso():
    exif = Image.Exif()
    exif[0x0132] = "2020:01:01 00:00:00"  # DateTime (file changed)
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2021:03:04 05:06:07"  # DateTimeOriginal
    sub[0x9004] = "2021:03:04 05:06:08"  # DateTimeDigitized
    result = load_image("dated.jpg", data=_jpeg(np.zeros((8, 8, 3), np.uint8), exif))
    assert result.taken_at == "2021-03-04T05:06:07"


def test_exif_date_fallbacks_offset_and_malformed():
    def date_of(setup) -> str | None:
        exif = Image.Exif()
        setup(exif)
        data = _jpeg(np.zeros((8, 8, 3), np.uint8), exif)
        with Image.open(io.BytesIO(data)) as img:
            return read_exif_date(img)

    assert date_of(lambda e: e.__setitem__(0x0132, "2019:12:31 23:59:58")) == "2019-12-31T23:59:58"

    def with_offset(e):
        sub = e.get_ifd(0x8769)
        sub[0x9003] = "2021:03:04 05:06:07"
        sub[0x9011] = "+02:00"

    assert date_of(with_offset) == "2021-03-04T05:06:07+02:00"

    def malformed_original(e):
        sub = e.get_ifd(0x8769)
        sub[0x9003] = "0000:00:00 00:00:00"
        sub[0x9004] = "2018:07:08 09:10:11"

    assert date_of(malformed_original) == "2018-07-08T09:10:11"
    assert date_of(lambda e: e.__setitem__(0x0132, "yesterday")) is None
    assert date_of(lambda e: None) is None


def test_data_bytes_equal_path(bad_dir):
    path = bad_dir[0] / "png_named.jpg"
    from_path = load_image(path)
    from_data = load_image(path, data=path.read_bytes())
    np.testing.assert_array_equal(from_path.rgb, from_data.rgb)
    assert from_path.taken_at == from_data.taken_at


def test_data_given_file_not_touched(tmp_path):
    # The path does not exist: with data= it is only a label for messages.
    data = _jpeg(np.zeros((8, 8, 3), np.uint8))
    assert load_image(tmp_path / "gone.jpg", data=data).rgb.shape == (8, 8, 3)
    with pytest.raises(ImageDecodeError, match="empty file"):
        load_image(tmp_path / "gone.jpg", data=b"")


def test_real_dataset_photo_loads_read_only(datasets_dir):
    photos = sorted((datasets_dir / "five_celebrity_faces").rglob("*.jpg"))
    if not photos:
        pytest.skip("no photos in five_celebrity_faces")
    photo = photos[0]
    before = photo.stat()
    result = load_image(photo)
    _check_rgb(result)
    assert result.width > 20 and result.height > 20
    after = photo.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)


def test_heic_round_trip(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    arr = badfiles._noise_rgb(64, 96, seed=9)
    path = tmp_path / "photo.heic"
    try:
        Image.fromarray(arr).save(path, format="HEIF", quality=95)
    except Exception as exc:  # some libheif builds decode only
        pytest.skip(f"HEIF encoding unsupported here: {exc}")
    result = load_image(path)
    _check_rgb(result)
    assert (result.width, result.height) == (96, 64)
    assert np.abs(result.rgb.astype(int) - arr.astype(int)).mean() < 25


def test_permission_error_maps_to_reason(tmp_path, monkeypatch):
    # Covers the mapping even where tests run as root (who can read chmod-000 files).
    import builtins

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(builtins, "open", deny)
    with pytest.raises(ImageDecodeError, match="permission denied"):
        load_image(tmp_path / "locked.jpg")


def test_draft_decoding_keeps_the_detection_size_and_the_original_dimensions():
    arr = np.full((1200, 2600, 3), 128, np.uint8)  # 2600 wide, 1200 tall as stored
    arr[:200, :200] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _jpeg(arr, exif)
    full = load_image("big.jpg", data=data)
    small = load_image("big.jpg", data=data, max_side=1024)
    assert (small.width, small.height) == (full.width, full.height) == (1200, 2600)
    assert full.rgb.shape == (2600, 1200, 3) and full.to_original == (1.0, 1.0)
    assert small.rgb.shape == (1300, 600, 3)  # half size: the long side stays >= 1024
    assert small.to_original == (2.0, 2.0)
    r, g, b = small.rgb[40, 560].astype(int)  # the red corner, turned clockwise as in full
    assert r > 200 and g < 60 and b < 60
    # Under twice the size asked for (no 1/2 step fits), or not a JPEG: decoded in full.
    assert load_image("big.jpg", data=data, max_side=1301).rgb.shape == (2600, 1200, 3)
    png = io.BytesIO()
    Image.fromarray(arr).save(png, "PNG")
    assert load_image("big.png", data=png.getvalue(), max_side=1024).rgb.shape == (1200, 2600, 3)


@pytest.mark.filterwarnings(BOMB_WARNING)
def test_draft_decoding_still_refuses_bombs_and_reads_odd_files(bad_dir):
    folder, kinds = bad_dir
    with pytest.raises(ImageDecodeError, match="possible decompression bomb"):
        load_image(folder / "bomb.png", max_side=1024)
    for name, expected in kinds.items():
        if expected == "ok":  # odd modes (CMYK, 16-bit, palette...) decode as they did
            small, full = load_image(folder / name, max_side=64), load_image(folder / name)
            assert small.rgb.dtype == np.uint8 and small.rgb.shape[2] == 3
            assert (small.width, small.height, small.orientation) == (full.width, full.height, full.orientation)
            fx, fy = small.to_original
            assert small.rgb.shape[:2] == (round(full.height / fy), round(full.width / fx))
