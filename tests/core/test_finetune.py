"""Learning from the user: training data, the triplet loss, the acceptance rule, model versions."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from photoface.core.albums import update as cluster
from photoface.core.learning import versions as models
from photoface.core.config import DEFAULTS
from photoface.core.errors import Cancelled
from photoface.core.learning.finetune import NotEnoughToLearn, finetune
from photoface.core.learning.plan import plan_training
from photoface.core.learning.triplet import _masks
from photoface.core.learning.validation import Figures, accept, validation_albums
from photoface.core.albums.review import Review
from photoface.core.library.store import Library
from tests.core.fakes import cancel_after_first_batch, fill_library, identity_vectors

# --------------------------------------------------------------------------- no model


def _fake_library(tmp_path, n_ids: int, per_id: int) -> tuple[Library, list[int], np.ndarray]:
    lib = Library(tmp_path / "lib")
    x, labels = identity_vectors(n_ids, per_id)
    return lib, fill_library(lib, x, model=models.active_version(lib)), labels


def test_too_few_confirmations_raise_not_enough_to_learn(tmp_path):
    lib, ids, labels = _fake_library(tmp_path, 3, 10)
    review = Review(lib)
    with pytest.raises(NotEnoughToLearn, match="at least 2 people"):
        plan_training(lib)
    review.split(ids[0:2], "A")
    review.split(ids[10:11], "B")  # one face: does not count
    with pytest.raises(NotEnoughToLearn, match="at least 2 people with 2"):
        plan_training(lib)
    review.confirm(ids[11:12], lib.con.execute("SELECT id FROM persons WHERE name='B'").fetchone()[0])
    # Two people with two faces each can train but leave nothing to validate with.
    with pytest.raises(NotEnoughToLearn, match="check whether learning helps"):
        plan_training(lib)
    lib.close()


def test_split_is_seeded_stable_and_keeps_two_training_faces(tmp_path):
    lib, ids, labels = _fake_library(tmp_path, 3, 10)
    review = Review(lib)
    for p in range(3):
        review.split(ids[p * 10:p * 10 + 8], f"P{p}")
    review.reject([ids[9]], lib.con.execute("SELECT id FROM persons WHERE name='P0'").fetchone()[0])
    data = plan_training(lib, val_fraction=0.25, seed=3)
    assert data.persons == 3 and len(data.face_ids) == 24
    assert data.summary()["val_faces"] == 6  # round(8 * 0.25) per person
    again = plan_training(lib, val_fraction=0.25, seed=3)
    assert np.array_equal(data.val, again.val)
    # More confirmations later keep the earlier validation faces in validation.
    review.confirm(ids[8:9], int(data.person[0]))
    later = plan_training(lib, val_fraction=0.25, seed=3)
    old_val = set(data.face_ids[data.val].tolist())
    assert old_val <= set(later.face_ids[later.val].tolist()) | {ids[8]}
    # The rejected face (confirmed for nobody) is a known negative of P0.
    assert data.neg_face_ids.tolist() == [ids[9]]
    assert data.neg_person.tolist() == [int(data.person[0])]
    lib.close()


def test_acceptance_rule():
    before = Figures(auc=0.95, ops_to_clean=4, faces=20)
    assert accept(before, Figures(0.96, 3, 20))[0]
    assert accept(before, Figures(0.9485, 4, 20))[0]          # within 0.002 of AUC, same ops
    ok, reason = accept(before, Figures(0.947, 2, 20))      # AUC down by more than 0.002
    assert not ok and "AUC" in reason
    ok, reason = accept(before, Figures(0.99, 5, 20))       # more corrections
    assert not ok and "corrections" in reason
    ok, reason = accept(before, Figures(0.99, 2, 20, wrong_suggestions=1))  # a stranger suggested for a person
    assert not ok and "wrong" in reason
    assert accept(Figures(0.95, 4, 20, 3), Figures(0.96, 4, 20, 2))[0]


def test_acceptance_rule_refuses_a_model_that_forgets_strangers():
    """Issue 16: a model that tells the held-out persons (people it never learnt) apart less well,
    by more than 0.005 AUC, is refused, however much it gains on the user's persons."""
    before = Figures(0.95, 4, 20, stranger_auc=0.950, stranger_faces=12)
    ok, reason = accept(before, Figures(0.99, 1, 20, stranger_auc=0.944, stranger_faces=12))
    assert not ok and "did not learn from" in reason and "0.9500" in reason and "0.9440" in reason
    ok, reason = accept(before, Figures(0.99, 1, 20, stranger_auc=0.946, stranger_faces=12))
    assert ok and "0.9500 -> 0.9460" in reason                  # within 0.005
    # Against the shipped model too: models in a row cannot each lose a little.
    shipped = Figures(0.93, 5, 20, stranger_auc=0.960, stranger_faces=12)
    assert not accept(before, Figures(0.99, 1, 20, stranger_auc=0.952, stranger_faces=12), shipped)[0]
    assert accept(before, Figures(0.99, 1, 20, stranger_auc=0.956, stranger_faces=12), shipped)[0]
    # No held-out persons: the rule is the old one.
    assert accept(Figures(0.95, 4, 20), Figures(0.96, 3, 20))[0]


def test_plan_holds_out_the_two_smallest_persons_and_samples_untouched_faces(tmp_path):
    lib, ids, labels = _fake_library(tmp_path, 6, 10)
    review = Review(lib)
    sizes = [9, 8, 7, 5, 4, 3]      # the last has too few faces to be held out
    pids = [review.split(ids[p * 10:p * 10 + n], f"P{p}") for p, n in enumerate(sizes)]
    review.reject([ids[9]], pids[1])
    data = plan_training(lib, seed=0)
    assert set(data.holdout_person.tolist()) == {pids[3], pids[4]} and data.holdout_note == ""
    assert sorted(data.holdout_face_ids.tolist()) == ids[30:35] + ids[40:44]
    assert not set(data.holdout_face_ids.tolist()) & set(data.face_ids.tolist())   # never trained on
    assert set(data.person.tolist()) == {pids[0], pids[1], pids[2], pids[5]}
    touched = {f for p, n in enumerate(sizes) for f in ids[p * 10:p * 10 + n]} | {ids[9]}
    assert data.stranger_face_ids.tolist() == [f for f in ids if f not in touched]
    assert data.summary()["holdout_persons"] == 2 and data.summary()["stranger_faces"] == 60 - len(touched)
    assert plan_training(lib, seed=0, hold_out=False).holdout_face_ids.size == 0
    lib.close()


def test_distillation_skips_the_faces_suggested_for_the_users_persons(tmp_path):
    """Faces the engine suggests for a person the user confirmed are most likely that person:
    distilling them towards the shipped model would undo what training learns about them. The
    faces of people the user never touched (unnamed albums, Unsorted) are distilled."""
    lib, ids, labels = _fake_library(tmp_path, 4, 12)
    review = Review(lib)
    pids = [review.split(ids[p * 12:p * 12 + 8], f"P{p}") for p in range(2)]
    cluster.update_albums(lib, full=True)
    state = dict(lib.con.execute("SELECT id, state || ':' || COALESCE(person_id, '') FROM faces").fetchall())
    claimed = {f for f in ids if state[f] in {f"suggested:{p}" for p in pids}}
    assert claimed and claimed <= set(ids[8:12] + ids[20:24])      # P0's and P1's other faces
    untouched = [f for f in ids if f not in set(ids[0:8] + ids[12:20])]
    assert any(state[f].startswith("suggested:") for f in untouched if f not in claimed)  # unnamed albums
    assert plan_training(lib, strangers="untouched").stranger_face_ids.tolist() == untouched
    assert plan_training(lib).stranger_face_ids.tolist() == [f for f in untouched if f not in claimed]
    lib.close()


def test_a_strangers_faces_suggested_for_a_users_person_are_still_distilled(tmp_path):
    """Where the grouping suggests a stranger's whole album for a person the user confirmed (on
    japanese_actors it did: 68 faces of people held out of training), those faces lie outside the
    person's core and are distilled like any stranger's; the person's own suggestions are not."""
    lib, ids, labels = _fake_library(tmp_path, 4, 12)
    review = Review(lib)
    p0 = review.split(ids[0:8], "P0")
    review.split(ids[12:20], "P1")
    cluster.update_albums(lib, full=True)
    stranger = ids[36:48]  # identity 3, as if the grouping had merged it into P0
    with lib.transaction() as con:
        con.executemany("UPDATE faces SET state = 'suggested', person_id = ? WHERE id = ?", [(p0, f) for f in stranger])
    state = dict(lib.con.execute("SELECT id, state || ':' || COALESCE(person_id, '') FROM faces").fetchall())
    own = [f for f in ids[8:12] if state[f] == f"suggested:{p0}"]
    assert own, "P0's other faces are suggested for P0"
    distilled = set(plan_training(lib).stranger_face_ids.tolist())
    assert set(stranger) <= distilled
    assert not set(own) & distilled
    lib.close()


def test_plan_says_why_no_person_is_held_out(tmp_path):
    lib, ids, labels = _fake_library(tmp_path, 4, 10)
    review = Review(lib)
    for p, n in enumerate([9, 8, 7, 3]):
        review.split(ids[p * 10:p * 10 + n], f"P{p}")
    data = plan_training(lib)
    assert data.holdout_face_ids.size == 0 and data.persons == 4
    assert "4 people with 4 or more" in data.holdout_note and "has 3" in data.holdout_note
    lib.close()


def test_validation_counts_wrong_suggestions_for_known_persons():
    """Two tight persons and a rejected face sitting on the first: the albums suggest it back
    (rejections are not enforced here on purpose: they measure the model), and a validation face
    of person B moved next to A is suggested for A. Both count as wrong."""
    from photoface.core.config import DEFAULTS
    from photoface.core.learning.plan import TrainingData
    from photoface.core.learning.validation import validation_figures
    from tests.core.fakes import identity_vectors

    x, labels = identity_vectors(2, 12, noise=0.2)
    person = np.where(labels == 0, 10, 20)
    val = np.tile(np.arange(12) >= 8, 2)
    data = TrainingData(np.arange(24), person, val, np.array([100]), np.array([10]))
    clean = validation_figures(x, data, dict(DEFAULTS))
    assert clean.wrong_suggestions == 0
    assert validation_figures(x, data, dict(DEFAULTS), x_neg=x[:1] * 0.999 + x[1:2] * 0.001).wrong_suggestions == 1
    moved = x.copy()
    moved[23] = x[0]  # a validation face of person 20 that looks exactly like one of person 10
    assert validation_figures(moved, data, dict(DEFAULTS)).wrong_suggestions == 1


def test_batch_masks_use_rejected_faces_only_against_their_person():
    rng = np.random.default_rng(0)
    rows = np.arange(7)
    label = np.array([0, 0, 1, 1, 2, 2, -1])   # row 6 was rejected from person 1
    neg_of = np.array([-1] * 6 + [1])
    _, views, pos, neg_ok, known = _masks(rows, label, neg_of, rng)
    assert pos[0, 1] and pos[1, 0] and not pos[0, 0] and not pos[0, 2]
    assert not pos[6].any() and not pos[:, 6].any()          # never an anchor or positive
    assert known[2, 6] and known[3, 6] and not known[0, 6]
    assert neg_ok[2, 6] and not neg_ok[0, 6] and not neg_ok[6].any()
    assert neg_ok[0, 2] and not neg_ok[0, 1]
    assert set(views.tolist()) <= {0, 1}


def test_triplet_loss_semi_hard_and_hardest():
    tf = pytest.importorskip("tensorflow")
    from photoface.core.learning.triplet import _triplet_loss

    # a and p at squared distance 0.5; negatives at 0.6 (semi-hard) and 0.3 (hard).
    def unit(angle):
        return [np.cos(angle), np.sin(angle)] + [0.0] * 510

    ang = lambda d: np.arccos(1 - d / 2)  # noqa: E731  squared L2 d between unit vectors
    emb = tf.constant(np.array([unit(0), unit(ang(0.5)), unit(-ang(0.6)), unit(-ang(0.3))], np.float32))
    label = np.array([0, 0, 1, 2])
    pos = tf.constant((label[:, None] == label[None]) & ~np.eye(4, dtype=bool))
    neg_ok = tf.constant(label[:, None] != label[None])
    none = tf.zeros((4, 4), tf.bool)
    loss, _, violating = _triplet_loss(emb, pos, neg_ok, none, 0.2, hardest=False)
    # Anchor 0: semi-hard negative at 0.6 -> 0.5 - 0.6 + 0.2 = 0.1. Anchor 1 (p = 0): negatives at
    # d(1,2) and d(1,3) both > 0.5 -> the closer one. Loss averages violating triplets only.
    assert float(violating) >= 1
    d12 = 2 - 2 * np.cos(ang(0.5) + ang(0.6))
    d13 = 2 - 2 * np.cos(ang(0.5) + ang(0.3))
    t1 = max(0.5 - min(d12, d13) + 0.2, 0)
    terms = [0.1] + ([t1] if t1 > 0 else [])
    assert float(loss) == pytest.approx(np.mean(terms), abs=1e-4)
    loss_h, _, _ = _triplet_loss(emb, pos, neg_ok, none, 0.2, hardest=True)
    assert float(loss_h) == pytest.approx(0.5 - 0.3 + 0.2, abs=1e-4) or float(loss_h) > float(loss)
    # A known negative (rejected face) adds its own triplets even when the mined one is easy.
    known = tf.constant(np.array([[0, 0, 0, 1], [0, 0, 0, 1], [0] * 4, [0] * 4], bool))
    loss_k, _, viol_k = _triplet_loss(emb, pos, neg_ok, known, 0.2, hardest=False)
    assert float(viol_k) > float(violating)


def test_distillation_loss_is_zero_when_unmoved_and_relational_allows_a_rotation():
    from photoface.core.learning.triplet import _distill_loss

    x, _ = identity_vectors(3, 4)
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(512, 512)))
    rotated = (x @ q).astype(np.float32)
    assert float(_distill_loss(x, x, "embedding")) == pytest.approx(0.0, abs=1e-6)
    assert float(_distill_loss(rotated, x, "embedding")) > 0.5          # every face moved
    assert float(_distill_loss(rotated, x, "relational")) == pytest.approx(0.0, abs=1e-5)  # geometry kept


def test_in_memory_albums_follow_anchors():
    x, labels = identity_vectors(4, 12, noise=0.3, seed=1)
    anchor = np.where(np.arange(len(x)) % 12 < 6, labels, -1)  # half of each identity confirmed
    settings = {**DEFAULTS, "cluster_k": 10, "cluster_strictness": 1.0, "cluster_max_dist": 1.0, "min_album_size": 3}
    pred = validation_albums(x, anchor, settings)
    assert np.array_equal(pred, labels)


def test_update_albums_uses_only_the_active_version(tmp_path):
    lib, ids, labels = _fake_library(tmp_path, 3, 8)
    other = "abcdef012345:margin:fixed"
    x2, _ = identity_vectors(3, 8, seed=9)
    with lib.transaction() as con:
        for fid, v in zip(ids[:5], x2[:5]):  # a second version for five faces only
            lib.put_embedding(con, fid, other, v)
    report = cluster.update_albums(lib, full=True)
    assert report.faces_considered == 24
    lib.set_setting("active_weights", "abcdef012345")
    report = cluster.update_albums(lib, full=True)
    assert report.faces_considered == 5
    lib.close()


# --------------------------------------------------------------------------- real model


def _decisions(lib):
    con = lib.con
    return (con.execute("SELECT id, person_id FROM faces WHERE state = 'confirmed' ORDER BY id").fetchall(),
            con.execute("SELECT id, name FROM persons WHERE name IS NOT NULL ORDER BY id").fetchall(),
            con.execute("SELECT * FROM rejections ORDER BY 1, 2").fetchall())


@pytest.fixture(scope="module")
def tuned(scanned_set, tmp_path_factory):
    """A copy of lfw_subset where the user named 10 people (6 faces each) and rejected a face,
    fine-tuned for a few steps (bottleneck only, small batches)."""
    from photoface.core.learning.evaluation import labelled_faces

    lib_dir, folder = scanned_set("lfw_subset")
    copy = tmp_path_factory.mktemp("finetune") / "lib"
    shutil.copytree(lib_dir, copy)
    lib = Library(copy)
    lf = labelled_faces(lib, str(folder), models.active_version(lib))
    names, counts = np.unique(lf.identities, return_counts=True)
    review = Review(lib)
    chosen = sorted(names[counts >= 8])[:10]
    for name in chosen:
        review.split([int(f) for f in lf.face_ids[lf.identities == name][:6]], name)
    first = lib.con.execute("SELECT id FROM persons WHERE name = ?", (chosen[0],)).fetchone()[0]
    stranger = int(lf.face_ids[lf.identities == chosen[1]][-1])
    review.reject([stranger], first)
    cluster.update_albums(lib, full=True)
    # Every person trains (hold_out=False): held out, two of these ten leave eight so easy that
    # the fixed training faces violate no triplet, and the test could not see the loss fall.
    result = finetune(lib, steps=30, blocks=0, persons_per_batch=6, faces_per_person=3,
                      learning_rate=1e-3, eval_every=10, patience=3, save_rejected=True, keep="last",
                      hold_out=False)
    yield lib, result
    lib.close()


@pytest.mark.model
def test_finetune_learns_and_saves_a_model_that_round_trips(tuned, tmp_path):
    from photoface.core.faces import facenet as facenet_model
    from photoface.core.faces.embed import FaceEmbedder
    from photoface.core.learning.reembed import decode_crop

    lib, result = tuned
    assert result.data["persons"] == 10 and result.data["rejected_faces"] == 1
    assert result.data["holdout_persons"] == 0 and result.data["stranger_faces"] > 0
    first, last = result.history[0], min(result.history[1:], key=lambda h: h["loss"])
    assert last["loss"] < first["loss"], result.history  # the loss on fixed training faces went down
    assert result.best_step > 0 and result.model_id is not None, result.history
    assert result.after.auc >= result.before.auc - 0.01
    saved = models.get_model(lib, result.model_id)
    assert saved.info["blocks_trained"] == 0 and saved.info["data"]["persons"] == 10
    weights = lib.models_dir / result.model_id / "facenet.weights.h5"
    embedder = FaceEmbedder(weights=weights)
    assert embedder.weights_id == result.model_id
    ids = [int(f) for (f,) in lib.con.execute("SELECT id FROM faces ORDER BY id LIMIT 6")]
    crops = np.stack([decode_crop(lib.face_crop(f)) for f in ids])
    a = embedder.embed(crops)
    again = facenet_model.save_weights(embedder.model, tmp_path / "again.weights.h5")
    b = FaceEmbedder(weights=again).embed(crops)
    np.testing.assert_array_equal(a, b)
    shipped = FaceEmbedder().embed(crops)
    assert np.abs(a - shipped).max() > 1e-3              # the file holds the trained weights


@pytest.mark.model
def test_activate_cancel_resume_and_rollback_keep_every_decision(tuned):
    lib, result = tuned
    before = _decisions(lib)
    shipped_version = models.active_version(lib)
    n_faces = lib.con.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
    cancel, stop_after_first = cancel_after_first_batch()

    with pytest.raises(Cancelled):
        models.activate_model(lib, result.model_id, progress=stop_after_first, cancel=cancel, batch_size=16)
    assert lib.get_setting("active_weights") == "shipped"      # nothing switched half-way
    new_version = f"{result.model_id}:margin:fixed"
    assert dict(lib.models_in_use())[new_version] == 16

    report = models.activate_model(lib, result.model_id)
    assert report.reembedded == n_faces - 16                   # resumed, not redone
    assert lib.get_setting("active_weights") == result.model_id
    assert models.active_version(lib) == new_version
    assert dict(lib.models_in_use())[new_version] == n_faces
    assert new_version in lib.get_setting("verify_thresholds")
    assert _decisions(lib) == before
    assert [m.id for m in models.list_models(lib) if m.active] == [result.model_id]

    report = models.activate_model(lib, "shipped")              # rollback: nothing to re-embed
    assert report.reembedded == 0 and models.active_version(lib) == shipped_version
    assert _decisions(lib) == before
    models.discard_model(lib, result.model_id)
    assert new_version not in dict(lib.models_in_use())
    assert [m.id for m in models.list_models(lib)] == ["shipped"]


def test_after_a_model_switch_a_named_person_gains_only_faces_the_shipped_model_puts_near(tmp_path):
    """A fine-tuned model that pulls a stranger onto Ann (as one did in the window: a named person
    gained a stranger and a woman) does not get the stranger suggested for her: the evidence
    test reads the shipped model's embeddings, where the stranger is far."""
    lib, ids, labels = _fake_library(tmp_path, 2, 12)  # Ann = identity 0, a stranger group = 1
    review = Review(lib)
    ann = review.split(ids[:6], "Ann")
    stranger = ids[12]
    x, _ = identity_vectors(2, 12)
    tuned = "abcdef012345:margin:fixed"
    with lib.transaction() as con:
        for i, fid in enumerate(ids):
            # The tuned model: Ann's faces as before, the stranger right beside Ann's faces.
            lib.put_embedding(con, fid, tuned, x[0] * 0.97 + x[1] * 0.03 if fid == stranger else x[i])
    lib.set_setting("active_weights", "abcdef012345")
    cluster.update_albums(lib, full=True)
    suggested = {f for (f,) in lib.con.execute("SELECT id FROM faces WHERE person_id = ? AND state = 'suggested'",
                                                (ann,))}
    assert set(ids[6:12]) <= suggested      # Ann's own faces are suggested for her
    assert stranger not in suggested        # the stranger is not: the shipped model puts it far
    # Without shipped embeddings (faces scanned under the tuned model) the tuned model judges.
    with lib.transaction() as con:
        con.execute("DELETE FROM embeddings WHERE model != ?", (tuned,))
    cluster.update_albums(lib, full=True)
    (now,) = lib.con.execute("SELECT person_id FROM faces WHERE id = ?", (stranger,)).fetchone()
    assert now == ann
    lib.close()
