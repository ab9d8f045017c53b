"""Switching FaceNet's arithmetic (FP32 <-> INT8) is a model switch: re-embed, regroup, undo."""

from __future__ import annotations

import numpy as np
import pytest

from photoface.core.albums.review import Review
from photoface.core.errors import Cancelled, PhotofaceError
from photoface.core.learning import versions
from photoface.core.learning.int8_model import int8_model_path
from photoface.core.library.store import Library
from tests.core.fakes import cancel_after_first_batch


def _decisions(lib):
    con = lib.con
    return (con.execute("SELECT id, person_id, state FROM faces WHERE state IN ('confirmed', 'accepted') "
                        "ORDER BY id").fetchall(),
            con.execute("SELECT id, name FROM persons WHERE name IS NOT NULL ORDER BY id").fetchall(),
            con.execute("SELECT * FROM rejections ORDER BY 1, 2").fetchall())


def _vectors(lib, version: str) -> dict[int, np.ndarray]:
    return {f: np.frombuffer(v, np.float32) for f, v in
            lib.con.execute("SELECT face_id, vec FROM embeddings WHERE model = ?", (version,))}


@pytest.mark.model
def test_int8_switch_reembeds_keeps_decisions_and_undo_restores_fp32(clustered_copy):
    lib = Library(clustered_copy("five_celebrity_faces"))
    review = Review(lib)
    albums = lib.con.execute("SELECT person_id, COUNT(*) FROM faces WHERE person_id IS NOT NULL "
                             "GROUP BY person_id ORDER BY 2 DESC").fetchall()
    ann = [f for (f,) in lib.con.execute("SELECT id FROM faces WHERE person_id = ? ORDER BY id LIMIT 5",
                                         (albums[0][0],))]
    review.split(ann, "Ann")
    before = _decisions(lib)
    fp32 = versions.active_version(lib)
    assert fp32 == "shipped:margin:fixed"
    n_faces = lib.con.execute("SELECT COUNT(*) FROM faces").fetchone()[0]

    cancel, stop_after_first = cancel_after_first_batch()

    with pytest.raises(Cancelled):
        versions.activate_model(lib, "shipped", progress=stop_after_first, cancel=cancel, batch_size=16,
                                precision="int8")
    assert lib.get_setting("embed_precision") == "fp32"       # nothing switched half-way
    assert dict(lib.models_in_use())[fp32 + ":int8"] == 16
    assert int8_model_path(lib, "shipped").is_file()           # quantised on the library's own faces

    report = versions.activate_model(lib, "shipped", precision="int8")
    assert report.reembedded == n_faces - 16                   # resumed, not redone
    assert (report.precision, report.previous_precision) == ("int8", "fp32")
    assert lib.get_setting("embed_precision") == "int8"
    assert versions.active_version(lib) == fp32 + ":int8"
    assert dict(lib.models_in_use())[fp32 + ":int8"] == n_faces
    assert _decisions(lib) == before
    # Other numbers than FP32's, but the same faces: every INT8 vector points where its FP32 one does.
    v32, v8 = _vectors(lib, fp32), _vectors(lib, fp32 + ":int8")
    cosines = np.array([v32[f] @ v8[f] for f in v32])
    assert cosines.min() > 0.95 and (cosines < 0.99999).any(), (cosines.min(), cosines.max())
    # Scans from now on embed with the library's INT8 file.
    models = versions.face_models(lib)
    assert models.model_version == fp32 + ":int8"
    assert models.embedder.int8_file == int8_model_path(lib, "shipped")

    assert review.next_undo() == "use_model"
    assert review.undo_label() == "Switch to Fast 8-bit Arithmetic"  # Edit → Undo names what changed
    decision, action = review.undo()
    assert review.describe(decision, action) == "Switch to Fast 8-bit Arithmetic"
    assert lib.get_setting("embed_precision") == "fp32"
    assert versions.active_version(lib) == fp32
    assert _decisions(lib) == before
    review.redo()
    assert lib.get_setting("embed_precision") == "int8"

    report = versions.activate_model(lib, "shipped", precision="fp32")  # back: nothing to re-embed
    assert report.reembedded == 0 and versions.active_version(lib) == fp32
    assert _decisions(lib) == before
    lib.close()


def test_int8_needs_faces_to_calibrate_on(tmp_path):
    lib = Library(tmp_path / "lib")
    with pytest.raises(PhotofaceError, match="scan photos with at least"):
        versions.prepare_activation(lib, "shipped", precision="int8")
    with pytest.raises(ValueError, match="precision"):
        versions.prepare_activation(lib, "shipped", precision="int4")
    assert lib.get_setting("embed_precision") == "fp32"
    lib.close()
