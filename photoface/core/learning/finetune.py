"""Learn from the user: fine-tune FaceNet with the triplet loss on the faces the user confirmed.

What it trains on (`plan_training`): every person (named or not) with at least 2 confirmed faces;
each person's confirmed faces are split, seeded by face id, into training and validation faces.
A face rejected from a person (and confirmed for nobody) is a known negative of that person.

How (`finetune`), as in Schroff et al. 2015 ("FaceNet"):
- triplet loss on squared L2 distances of L2-normalised embeddings, margin 0.2, averaged over the
  triplets that violate it; batches of P persons x K faces; online semi-hard negative mining inside
  each batch (hardest-negative as an option); each rejected face in a batch is also used as a
  negative for every anchor-positive pair of the person it was rejected from;
- only the tail of the network trains (the last `blocks` Block8 blocks and the bottleneck; the
  bottleneck batch-norm stays in inference mode). The frozen part's output is computed once per
  face (and once for its mirror image, the only augmentation) and kept in memory, so a step runs
  only the tail: milliseconds instead of seconds on a CPU. The "head" model shares its layers with
  the full network, so the full network's weights are what is saved;
- every run starts from the shipped model and uses every confirmation so far;
- every `eval_every` steps the validation faces are embedded; training stops when their ROC AUC
  (ties broken by their triplet loss) has not improved for `patience` evaluations, and the best
  weights are kept.

Honest validation: before and after, on the validation faces only, (1) verification ROC AUC over
all pairs of validation faces and (2) ops-to-clean of albums made the way the app makes them
(`_albums`: the rank-order clustering and nearest-confirmed vote of core/albums/update.py, run in memory
with the training faces as confirmed anchors and the validation faces free). The new model is
offered (`accepted`) only if its AUC is at most 0.002 below the current model's, its
ops-to-clean is not higher and (3) it makes no more wrong suggestions for the user's persons
(validation faces suggested for another person; rejected faces suggested for the person they were
rejected from); saving it makes it a model version (core/learning/versions.py) that
`versions.activate_model` switches to.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from photoface.core.learning import metrics
from photoface.core.albums.attach import attach_small_groups
from photoface.core.albums.update import active_model, must_link_chains, thresholds
from photoface.core.albums.constraints import components_with_cannot_link
from photoface.core.errors import Cancelled, PhotofaceError
from photoface.core.albums.evidence import filter_suggestions
from photoface.core.albums.knn import knn
from photoface.core.albums.rank_order import rank_order_edges
from photoface.core.library.store import Library

log = logging.getLogger(__name__)

MARGIN = 0.2               # alpha of the triplet loss, squared L2 on unit vectors (FaceNet paper)
DEFAULT_BLOCKS = 1         # Block8-type blocks trained: benchmarks/finetune.py --blocks (see README figures)
AUC_TOLERANCE = 0.002      # the new model may lose at most this much validation AUC
MIN_PERSONS = 2
MIN_FACES = 2              # confirmed faces a person needs to take part


class NotEnoughToLearn(PhotofaceError):
    """Too few confirmed faces to fine-tune; the message says what the user can do."""


# --------------------------------------------------------------------------- the data


@dataclass
class TrainingData:
    """The confirmed faces a fine-tuning run uses, and their split.

    Attributes:
        face_ids: (N,) int64 confirmed faces of persons with >= 2 confirmed faces.
        person: (N,) int64 their person ids.
        val: (N,) bool, True for validation faces (never trained on).
        neg_face_ids: (M,) int64 faces rejected from a person and confirmed for nobody.
        neg_person: (M,) int64 the person each of those was rejected from.
        seed: seed of the split.
    """

    face_ids: np.ndarray
    person: np.ndarray
    val: np.ndarray
    neg_face_ids: np.ndarray
    neg_person: np.ndarray
    seed: int = 0

    @property
    def persons(self) -> int:
        return int(len(np.unique(self.person)))

    def summary(self) -> dict:
        """Counts for reports and info.json."""
        return {"persons": self.persons, "confirmed_faces": int(len(self.face_ids)),
                "train_faces": int((~self.val).sum()), "val_faces": int(self.val.sum()),
                "val_persons": int(len(np.unique(self.person[self.val]))),
                "rejected_faces": int(len(self.neg_face_ids)), "split_seed": self.seed}


def _split_rank(face_id: int, seed: int) -> str:
    # A face's place in the split depends only on its id and the seed: later runs, with more
    # confirmations, keep earlier validation faces in validation.
    return hashlib.sha256(f"{seed}:{face_id}".encode()).hexdigest()


def plan_training(library: Library, val_fraction: float = 0.25, seed: int = 0) -> TrainingData:
    """Collects the confirmed faces to learn from and splits them into training and validation.

    Per person with n >= 2 confirmed faces, round(n * val_fraction) of them (at most n - 2, so that
    2 stay for training) go to validation, chosen by a seeded hash of the face id.

    Raises:
        NotEnoughToLearn: fewer than 2 persons with 2 confirmed faces, or too few to validate
            (no two validation faces of one person).
    """
    rows = library.con.execute(
        "SELECT id, person_id FROM faces WHERE state = 'confirmed' AND person_id IS NOT NULL "
        "ORDER BY id").fetchall()
    by_person: dict[int, list[int]] = {}
    for fid, pid in rows:
        by_person.setdefault(int(pid), []).append(int(fid))
    persons = {p: f for p, f in by_person.items() if len(f) >= MIN_FACES}
    if len(persons) < MIN_PERSONS:
        raise NotEnoughToLearn(
            f"Learning needs at least {MIN_PERSONS} people with {MIN_FACES} or more confirmed faces "
            f"each; this library has {len(persons)}. Confirm a few more faces of different people "
            f"and try again.")
    face_ids, person, val = [], [], []
    for p in sorted(persons):
        faces = sorted(persons[p], key=lambda f: _split_rank(f, seed))
        n_val = min(int(round(len(faces) * val_fraction)), len(faces) - MIN_FACES)
        for i, f in enumerate(faces):
            face_ids.append(f)
            person.append(p)
            val.append(i < n_val)
    val_a = np.array(val, bool)
    person_a = np.array(person, np.int64)
    _, val_counts = np.unique(person_a[val_a], return_counts=True)
    if not (val_counts >= 2).any() or len(val_counts) < 2:
        raise NotEnoughToLearn(
            "Too few confirmed faces to check whether learning helps: at least two people need "
            f"about {math.ceil(2 / max(val_fraction, 1e-6)) + 2} or more confirmed faces "
            "(some are kept aside to test the new model). Confirm more faces and try again.")
    confirmed = {f for f, _ in rows}
    neg = [(f, p) for f, p in library.con.execute(
        "SELECT face_id, person_id FROM rejections ORDER BY face_id, person_id")
        if f not in confirmed and p in persons]
    return TrainingData(
        face_ids=np.array(face_ids, np.int64), person=person_a, val=val_a,
        neg_face_ids=np.array([f for f, _ in neg], np.int64),
        neg_person=np.array([p for _, p in neg], np.int64), seed=seed)


# --------------------------------------------------------------------------- figures


@dataclass
class Figures:
    """Validation figures of one model: ROC AUC over all pairs of validation faces, ops-to-clean
    of the albums of the validation faces (training faces as confirmed anchors), the number of
    validation faces, and the wrong suggestions those albums give the user's persons: a
    validation face suggested for another person, or a face the user rejected from a person
    suggested for it again (were rejections not enforced)."""

    auc: float
    ops_to_clean: int
    faces: int
    wrong_suggestions: int = 0


@dataclass
class FineTuneResult:
    """What a fine-tuning run found.

    Attributes:
        accepted: the new model is offered (it is saved in the library, not activated).
        reason: one sentence for people: why it is offered or not.
        model_id: the saved model's id (None when not saved).
        path: its folder (None when not saved).
        current_model: the weights id in use when training started.
        before: validation figures of the model in use.
        after: validation figures of the new model.
        shipped: validation figures of the shipped model (equal to `before` when it is in use).
        data: counts from `TrainingData.summary`.
        settings: the run's settings (blocks trained, batch shape, steps, learning rate, mining).
        steps_run, best_step: steps taken; the step whose weights were kept (0 = unchanged).
        history: per evaluation, {"step", "val_auc", "val_loss", "loss"}: validation AUC, and the
            mean triplet loss (zero terms included) of a fixed set of validation faces and of
            training faces.
        losses: the training loss of every step (mean over violating triplets).
        verify_threshold: the best-accuracy same/different threshold on validation pairs.
        feature_seconds, train_seconds: time spent caching features and training.
    """

    accepted: bool
    reason: str
    model_id: str | None
    path: str | None
    current_model: str
    before: Figures
    after: Figures
    shipped: Figures
    data: dict
    settings: dict
    steps_run: int
    best_step: int
    history: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    verify_threshold: float | None = None
    feature_seconds: float = 0.0
    train_seconds: float = 0.0

    def table(self) -> str:
        """The before/after table, as text."""
        lines = [f"{'model':24} {'val AUC':>8} {'ops to clean':>13} {'wrong':>6} {'faces':>6}"]
        rows = [("shipped", self.shipped)]
        if self.current_model != "shipped":
            rows.append((f"current ({self.current_model})", self.before))
        rows.append(("new" + (f" ({self.model_id})" if self.model_id else ""), self.after))
        for name, f in rows:
            lines.append(f"{name:24} {f.auc:8.4f} {f.ops_to_clean:13d} {f.wrong_suggestions:6d} {f.faces:6d}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return asdict(self)


def _albums(x: np.ndarray, anchor: np.ndarray, settings: dict, x_gate: np.ndarray | None = None) -> np.ndarray:
    """Albums as `update.update_albums(full=True)` makes them, in memory.

    The same steps on the same settings: a vote of the nearest confirmed faces, rank-order edges
    under the squared-L2 guard, must-links holding each person's faces together, cannot-links
    between persons and the mean-distance and centre rules, strays attached to the album they
    clearly belong to, thresholds scaled by the faces' crowding (`update.thresholds`);
    components without a person become albums when they reach `min_album_size`.
    Unlike the app, every face counts as good quality (the crops' quality is not looked at).

    Args:
        x: (N, 512) float32 unit embeddings.
        anchor: (N,) int64 person index >= 0 for confirmed faces, -1 for free ones.
        settings: the library's settings (cluster_k, cluster_strictness, cluster_max_dist,
            cluster_link_ratio, cluster_album_ratio, cluster_centre_ratio, cluster_attach_ratio,
            cluster_attach_margin, cluster_attach_spread, min_album_size).
        x_gate: the shipped model's embeddings of the same faces, for the evidence test of
            suggestions for the persons (core/albums/evidence.py); None: `x` is them (no test).

    Returns:
        (N,) int64 labels: the person index for faces joined to a person, larger numbers for new
        albums, -1 for Unsorted.
    """
    n = len(x)
    k = int(settings["cluster_k"])
    limits = thresholds(settings, x)
    max_dist = limits.link
    idx, dist = knn(x, k)
    free = anchor < 0
    node = anchor.copy()
    # 1) The vote: a free face goes to the person most of its confirmed neighbours belong to.
    for r in np.flatnonzero(free):
        close = (idx[r] >= 0) & (dist[r] < max_dist)
        votes = anchor[idx[r][close]]
        votes = votes[votes >= 0]
        if len(votes):
            persons, counts = np.unique(votes, return_counts=True)
            order = np.argsort(-counts, kind="stable")
            c2 = counts[order[1]] if len(order) > 1 else 0
            if counts[order[0]] - c2 >= 1:
                node[r] = persons[order[0]]
    # 2) Rank-order edges, must-links per person, components under cannot-link.
    edges, _, pair_d = rank_order_edges(idx, dist, float(settings["cluster_strictness"]), "approx",
                                        max_dist=max_dist)
    must_e = must_link_chains(node)
    all_e = np.concatenate([must_e, edges]) if len(edges) else must_e
    all_w = np.concatenate([np.zeros(len(must_e)), pair_d.astype(np.float64)])
    is_must = np.arange(len(all_e)) < len(must_e)
    labels = components_with_cannot_link(n, all_e, all_w, node, x=x, max_mean_dist=limits.album,
                                         max_centre_dist=limits.centre, must_link=is_must)
    labels = attach_small_groups(labels, x, idx, node < 0, limits.attach,
                                 float(settings["cluster_attach_margin"]), float(settings["cluster_attach_spread"]),
                                 confirmed_groups=np.unique(labels[anchor >= 0]))
    out = np.full(n, -1, np.int64)
    comp_person = {int(labels[r]): int(node[r]) for r in np.flatnonzero(node >= 0)}
    top = int(anchor.max()) + 1 if (anchor >= 0).any() else 0
    sizes = np.bincount(labels, minlength=int(labels.max()) + 1 if n else 0)
    for r in range(n):
        c = int(labels[r])
        if c in comp_person:
            out[r] = comp_person[c]
        elif sizes[c] >= int(settings["min_album_size"]):
            out[r] = top + c
    if x_gate is None:  # the shipped model: its grouping is the evidence
        return out
    # A fine-tuned model: every trained person is one the user confirmed, and suggestions for them
    # must show the shipped model's evidence, as in the app.
    return filter_suggestions(x, out, free, anchor, set(np.unique(anchor[anchor >= 0]).tolist()),
                              np.ones(n, bool), x_gate, np.ones(n, bool))


def validation_figures(x: np.ndarray, data: TrainingData, settings: dict,
                       x_neg: np.ndarray | None = None, shipped: tuple | None = None) -> Figures:
    """Figures of one model's embeddings of `data.face_ids` (rows in that order) and, when given,
    of `data.neg_face_ids` (`x_neg`: faces the user rejected, grouped with the rest as free faces).
    `shipped`: (faces, rejected faces) as the shipped model embeds them, for the evidence test
    of a fine-tuned model (None: `x` and `x_neg` are the shipped model's; no test)."""
    val = data.val
    person_ids, codes = np.unique(data.person, return_inverse=True)
    codes = codes.astype(np.int64)
    auc = metrics.roc_auc_same_vs_different(x[val], codes[val])
    anchor = np.where(val, -1, codes)
    n_neg = 0 if x_neg is None else len(x_neg)
    x_all = x if not n_neg else np.concatenate([x, x_neg])
    anchor = np.concatenate([anchor, np.full(n_neg, -1, np.int64)])
    x_gate = None if shipped is None else np.concatenate([shipped[0], shipped[1]]) if n_neg else shipped[0]
    pred = _albums(np.ascontiguousarray(x_all, np.float32), anchor, settings, x_gate)
    ops = metrics.ops_to_clean(codes[val], pred[:len(x)][val])
    known = (pred >= 0) & (pred < len(person_ids))
    wrong = int((known[:len(x)] & val & (pred[:len(x)] != codes)).sum())
    if n_neg:
        rejected_from = np.searchsorted(person_ids, data.neg_person)
        wrong += int((pred[len(x):] == rejected_from).sum())
    return Figures(round(float(auc), 5), int(ops), int(val.sum()), wrong)


def accept(before: Figures, after: Figures) -> tuple[bool, str]:
    """The rule for offering a new model: AUC not lower by more than 0.002, ops-to-clean not
    higher, and no more wrong suggestions for the user's persons."""
    if after.wrong_suggestions > before.wrong_suggestions:
        return False, (f"not offered: it would suggest {after.wrong_suggestions} wrong faces for the people you "
                       f"confirmed instead of {before.wrong_suggestions}; keeping the current model")
    if after.auc < before.auc - AUC_TOLERANCE:
        return False, (f"not offered: validation AUC would drop from {before.auc:.4f} to {after.auc:.4f}; "
                       f"keeping the current model")
    if after.ops_to_clean > before.ops_to_clean:
        return False, (f"not offered: albums of the test faces would need {after.ops_to_clean} corrections "
                       f"instead of {before.ops_to_clean}; keeping the current model")
    return True, (f"offered: validation AUC {before.auc:.4f} -> {after.auc:.4f}, corrections "
                  f"{before.ops_to_clean} -> {after.ops_to_clean}, wrong suggestions "
                  f"{before.wrong_suggestions} -> {after.wrong_suggestions}")


# --------------------------------------------------------------------------- the network


def cut_layer(n_blocks: int) -> str:
    """Name of the layer whose output feeds the first trained block (the frozen part's output)."""
    from photoface.core.faces.facenet import TAIL_BLOCKS

    if not 0 <= n_blocks <= len(TAIL_BLOCKS):
        raise ValueError(f"blocks must be in 0..{len(TAIL_BLOCKS)}, got {n_blocks}")
    if n_blocks == 0:
        return "Logits.Flatten"
    if n_blocks == len(TAIL_BLOCKS):
        return "Mixed_7a.concat"
    return f"{TAIL_BLOCKS[len(TAIL_BLOCKS) - n_blocks - 1]}.Relu"


def split_model(model: Any, n_blocks: int) -> tuple[Any, Any]:
    """(trunk, head): the frozen part up to `cut_layer(n_blocks)` and the rest, sharing layers
    (and so weights) with `model`; head(trunk(x)) == model(x)."""
    import keras

    cut = model.get_layer(cut_layer(n_blocks)).output
    return keras.Model(model.input, cut, name="trunk"), keras.Model(cut, model.output, name="head")


def _triplet_loss(emb, pos, neg_ok, known, margin: float, hardest: bool):
    """Batch triplet loss with online negative mining (TensorFlow ops).

    Args:
        emb: float32 (B, 512) unit embeddings.
        pos: bool (B, B), anchor-positive pairs (same person, a != p).
        neg_ok: bool (B, B), n may be the negative of anchor a.
        known: bool (B, B), n was rejected from a's person by the user: always a negative of a.
        margin: alpha.
        hardest: mine the closest negative instead of the semi-hard one.

    Returns:
        (loss over violating triplets, mean over all triplets with zeros, violating count).
    """
    import tensorflow as tf

    d = tf.maximum(2.0 - 2.0 * tf.matmul(emb, emb, transpose_b=True), 0.0)  # (B, B) squared L2
    big = tf.constant(1e9, d.dtype)
    d_ap = d[:, :, None]                        # (a, p, 1)
    d_an = d[:, None, :]                        # (a, 1, n)
    neg = neg_ok[:, None, :]
    if hardest:
        chosen = tf.reduce_min(tf.where(neg_ok, d, big), axis=1)[:, None]
    else:
        # Semi-hard: the closest negative farther than the positive; without one, the farthest
        # (least harmful) negative, as in tfa.losses.TripletSemiHardLoss.
        outside = tf.logical_and(neg, d_an > d_ap)
        min_out = tf.reduce_min(tf.where(outside, d_an, big), axis=2)
        max_in = tf.reduce_max(tf.where(neg, d_an, -big), axis=2)
        chosen = tf.where(tf.reduce_any(outside, axis=2), min_out, max_in)
    has_neg = tf.reduce_any(neg_ok, axis=1)[:, None]
    mined_mask = tf.logical_and(pos, has_neg)
    mined = tf.boolean_mask(tf.nn.relu(d - chosen + margin), mined_mask)
    known_mask = tf.logical_and(pos[:, :, None], known[:, None, :])
    known_l = tf.boolean_mask(tf.nn.relu(d_ap - d_an + margin), known_mask)
    terms = tf.concat([mined, known_l], axis=0)
    violating = tf.reduce_sum(tf.cast(terms > 0, d.dtype))
    loss = tf.reduce_sum(terms) / tf.maximum(violating, 1.0)
    mean_all = tf.reduce_sum(terms) / tf.maximum(tf.cast(tf.size(terms), d.dtype), 1.0)
    return loss, mean_all, violating


# --------------------------------------------------------------------------- the run


@dataclass
class _Batcher:
    """P persons x K faces of the training faces, plus the known negatives of those persons.

    Rows index the feature cache: `train_rows[p]` are the cache rows of person p's training faces,
    `neg_rows[p]` the rows of faces rejected from p.
    """

    train_rows: list[np.ndarray]
    neg_rows: list[np.ndarray]
    persons: int
    per_person: int
    rng: np.random.Generator

    def sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Returns rows (B,), views (B,) 0/1 (mirrored), pos, neg_ok, known (B, B) bool."""
        chosen = self.rng.choice(len(self.train_rows), min(self.persons, len(self.train_rows)), replace=False)
        rows, label, neg_of = [], [], []
        for p in chosen:
            faces = self.train_rows[p]
            k = self.per_person
            pick = self.rng.choice(faces, k, replace=False) if len(faces) >= k else \
                np.concatenate([faces, self.rng.choice(faces, k - len(faces), replace=True)])
            rows += list(pick)
            label += [p] * k
            neg_of += [-1] * k
        for p in chosen:
            negs = self.neg_rows[p]
            if len(negs):
                pick = self.rng.choice(negs, min(len(negs), self.per_person), replace=False)
                rows += list(pick)
                label += [-1] * len(pick)
                neg_of += [p] * len(pick)
        return _masks(np.array(rows), np.array(label), np.array(neg_of), self.rng)


def _fixed_set(b: _Batcher):
    """Up to `b.persons` persons with up to `b.per_person` distinct training faces each (no
    repeats), plus their known negatives, all in the original view."""
    chosen = b.rng.choice(len(b.train_rows), min(b.persons, len(b.train_rows)), replace=False)
    rows, label, neg_of = [], [], []
    for p in chosen:
        faces = b.train_rows[p][:b.per_person]
        rows += list(faces)
        label += [p] * len(faces)
        neg_of += [-1] * len(faces)
        negs = b.neg_rows[p][:b.per_person]
        rows += list(negs)
        label += [-1] * len(negs)
        neg_of += [p] * len(negs)
    rows, views, pos, neg_ok, known = _masks(np.array(rows), np.array(label), np.array(neg_of), b.rng)
    return rows, np.zeros_like(views), pos, neg_ok, known


def _masks(rows, label, neg_of, rng):
    views = rng.integers(0, 2, len(rows))
    # A face drawn twice for a person with few faces shows both views where it can.
    seen: dict[tuple[int, int], int] = {}
    for i, (r, lab) in enumerate(zip(rows, label)):
        key = (int(r), int(lab))
        if key in seen:
            views[i] = 1 - views[seen[key]]
        seen[key] = i
    n = len(rows)
    labelled = label >= 0
    same = (label[:, None] == label[None, :]) & labelled[:, None]
    pos = same & ~np.eye(n, dtype=bool)
    known = (~labelled[None, :]) & (neg_of[None, :] == label[:, None]) & labelled[:, None]
    neg_ok = (labelled[:, None] & labelled[None, :] & ~same) | known
    return rows, views, pos, neg_ok, known


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("learning cancelled; nothing was changed")


def _face_features(library: Library, trunk: Any, face_ids: np.ndarray, scaling: str, batch: int,
                   tick: Callable[[int], None], cancel: threading.Event | None) -> np.ndarray:
    """The frozen part's output for each face and its mirror image.

    Returns:
        float16 (N, 2, ...) features; [:, 0] of the crop, [:, 1] of the mirrored crop. float16
        halves the memory (a 3x3x1792 map is 32 KB per view) and moves embeddings by ~1e-4.
    """
    import tensorflow as tf

    from photoface.core.faces.embed import scale_crops
    from photoface.core.learning.reembed import decode_crop

    shape = tuple(int(d) for d in trunk.output.shape[1:])
    forward = tf.function(lambda x: trunk(x, training=False),
                          input_signature=[tf.TensorSpec([None, 160, 160, 3], tf.float32)])
    out = np.empty((len(face_ids), 2) + shape, np.float16)
    for start in range(0, len(face_ids), batch):
        _check(cancel)
        ids = face_ids[start:start + batch]
        crops = np.stack([decode_crop(library.face_crop(int(f))) for f in ids])
        both = np.concatenate([crops, crops[:, :, ::-1]])  # mirrored: flip the width axis
        f = forward(scale_crops(both)).numpy()
        out[start:start + len(ids), 0] = f[:len(ids)]
        out[start:start + len(ids), 1] = f[len(ids):]
        tick(len(ids))
    return out


def finetune(library: Library, progress: Callable[[int, int], None] | None = None,
             cancel: threading.Event | None = None, *, steps: int = 400, blocks: int = DEFAULT_BLOCKS,
             persons_per_batch: int = 16, faces_per_person: int = 4, learning_rate: float = 1e-4,
             mining: str = "semihard", eval_every: int = 20, patience: int = 5, seed: int = 0,
             val_fraction: float = 0.25, save_rejected: bool = False, keep: str = "best",
             data: TrainingData | None = None) -> FineTuneResult:
    """Fine-tunes FaceNet on the library's confirmed faces; saves the result as a model version
    when it is offered (see `accept`). Never activates it: `versions.activate_model` does.

    A plain function for a worker thread: it reads the library (its own connection) and writes
    only the new model's folder.

    Args:
        library: the open library.
        progress: (done, total) in work units: one per face whose features are computed, then one
            per training step.
        cancel: set to stop; raises Cancelled and nothing is saved.
        steps: most training steps (early stopping usually ends sooner).
        blocks: Block8-type blocks trained, counted from the end (0..6), plus the bottleneck.
        persons_per_batch, faces_per_person: P and K of each batch.
        learning_rate: Adam's step size.
        mining: "semihard" or "hardest".
        eval_every: steps between validation checks.
        patience: validation checks without improvement before stopping.
        seed: seeds the split (via `plan_training`), the batches and the mirror views.
        val_fraction: share of each person's confirmed faces kept for validation.
        save_rejected: also save a model that is not offered (for benchmarks).
        keep: "best" keeps the weights of the best validation check; "last" those after the last
            step (for tests and experiments; validation still decides `accepted`).
        data: a `plan_training` result to use instead of planning again.

    Returns:
        FineTuneResult with the before/after figures and whether the model is offered.

    Raises:
        NotEnoughToLearn: too few confirmed faces.
        Cancelled: `cancel` was set.
    """
    if keep not in ("best", "last"):
        raise ValueError(f"keep must be 'best' or 'last', got {keep!r}")
    if mining not in ("semihard", "hardest"):
        raise ValueError(f"mining must be 'semihard' or 'hardest', got {mining!r}")
    if data is None:
        data = plan_training(library, val_fraction=val_fraction, seed=seed)
    settings = library.settings()
    current = settings["active_weights"]
    scaling = settings["input_scaling"]
    run_settings = {"blocks": blocks, "persons_per_batch": persons_per_batch,
                    "faces_per_person": faces_per_person, "max_steps": steps,
                    "learning_rate": learning_rate, "mining": mining, "margin": MARGIN,
                    "eval_every": eval_every, "patience": patience, "seed": seed, "keep": keep,
                    "val_fraction": val_fraction, "align_mode": settings["align_mode"],
                    "input_scaling": scaling}
    all_ids = np.concatenate([data.face_ids, data.neg_face_ids])
    total = len(all_ids) + steps
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(min(done[0], total), total)

    _check(cancel)
    import keras
    import tensorflow as tf

    from photoface.core.faces import facenet as facenet_model

    keras.utils.set_random_seed(seed)
    model = facenet_model.facenet_from_graph()
    facenet_model.trainable_tail(model, blocks)
    trunk, head = split_model(model, blocks)

    t0 = time.perf_counter()
    feats = _face_features(library, trunk, all_ids, scaling, 32, tick, cancel)
    feature_seconds = time.perf_counter() - t0
    n_conf = len(data.face_ids)

    embed_fn = tf.function(lambda f: head(f, training=False), reduce_retracing=True)

    def embed_rows(rows: np.ndarray) -> np.ndarray:
        out = [embed_fn(feats[rows[s:s + 256], 0].astype(np.float32)).numpy()
               for s in range(0, len(rows), 256)]
        return np.concatenate(out) if out else np.zeros((0, 512), np.float32)

    conf_rows = np.arange(n_conf)
    neg_rows_all = np.arange(n_conf, len(all_ids))
    val_rows = np.flatnonzero(data.val)
    codes = np.unique(data.person, return_inverse=True)[1]

    # Before: the shipped model (the head at its initial weights) and the model in use.
    x_shipped = embed_rows(conf_rows)
    shipped_views = (x_shipped, embed_rows(neg_rows_all))
    shipped_fig = validation_figures(x_shipped, data, settings, shipped_views[1])
    before = shipped_fig
    if current != "shipped":
        stored_ids, stored = library.embeddings(active_model(library), all_ids, present_only=False)
        if len(stored_ids) == len(np.unique(all_ids)):
            x_stored = stored[np.searchsorted(stored_ids, all_ids)]
            before = validation_figures(x_stored[:n_conf], data, settings, x_stored[n_conf:], shipped_views)
        else:  # should not happen: activation embeds every face first
            log.warning("model in use lacks embeddings of %d faces; comparing with the shipped model",
                        len(np.unique(all_ids)) - len(stored_ids))

    # Training batches from training faces only; known negatives by person.
    train_persons = [p for p in range(codes.max() + 1) if ((codes == p) & ~data.val).sum() >= 2]
    pid_of_code = {int(codes[i]): int(data.person[i]) for i in range(n_conf)}
    code_of_pid = {v: k for k, v in pid_of_code.items()}
    train_rows = [np.flatnonzero((codes == p) & ~data.val) for p in train_persons]
    neg_rows = []
    for p in train_persons:
        neg_rows.append(n_conf + np.flatnonzero(
            np.array([code_of_pid.get(int(q), -1) == p for q in data.neg_person], bool)))
    rng = np.random.default_rng(seed)
    batcher = _Batcher(train_rows, neg_rows, persons_per_batch, faces_per_person, rng)
    # A fixed set (up to 32 persons x 8 training faces, their known negatives, original views):
    # its loss shows learning without the noise of sampling.
    fixed_batcher = _Batcher(train_rows, neg_rows, 32, 8, np.random.default_rng(seed + 1))
    fixed = _fixed_set(fixed_batcher)

    optimizer = keras.optimizers.Adam(learning_rate)
    weights = head.trainable_weights
    hardest = mining == "hardest"
    spec = [tf.TensorSpec([None] + list(feats.shape[2:]), tf.float32)] + \
        [tf.TensorSpec([None, None], tf.bool)] * 3

    @tf.function(input_signature=spec)
    def train_step(x, pos, neg_ok, known):
        with tf.GradientTape() as tape:
            emb = head(x, training=True)
            loss, mean_all, violating = _triplet_loss(emb, pos, neg_ok, known, MARGIN, hardest)
        grads = tape.gradient(loss, weights)
        optimizer.apply_gradients(zip(grads, weights))
        return loss, violating

    @tf.function(input_signature=spec)
    def batch_loss(x, pos, neg_ok, known):
        return _triplet_loss(head(x, training=False), pos, neg_ok, known, MARGIN, hardest)[1]

    def gather(rows, views):
        return feats[rows, views].astype(np.float32)

    # Validation loss on up to 32 persons x 8 validation faces: breaks ties when the validation
    # AUC is saturated (e.g. 1.0 on a few easy faces).
    vsel = np.concatenate([val_rows[codes[val_rows] == c][:8]
                           for c in rng.permutation(np.unique(codes[val_rows]))[:32]])
    vfixed = _masks(vsel, codes[vsel], np.full(len(vsel), -1), rng)

    def evaluate(step: int) -> tuple[float, float]:
        auc = metrics.roc_auc_same_vs_different(embed_rows(val_rows), codes[val_rows])
        r, v, p, n, k = fixed
        loss = float(batch_loss(gather(r, v), p, n, k))
        r, _, p, n, k = vfixed
        val_loss = float(batch_loss(gather(r, np.zeros_like(r)), p, n, k))
        history.append({"step": step, "val_auc": round(float(auc), 5), "val_loss": round(val_loss, 5),
                        "loss": round(loss, 5)})
        log.info("fine-tune step %d: validation AUC %.4f, validation loss %.4f, training loss %.4f",
                 step, auc, val_loss, loss)
        return float(auc), val_loss

    history: list[dict] = []
    losses: list[float] = []
    best_auc, best_val_loss = evaluate(0)
    best_step, best_weights, since_best = 0, [w.numpy() for w in weights], 0
    t1 = time.perf_counter()
    step = 0
    for step in range(1, steps + 1):
        _check(cancel)
        r, v, p, n, k = batcher.sample()
        loss, _ = train_step(gather(r, v), p, n, k)
        losses.append(round(float(loss), 5))
        tick(1)
        if step % eval_every == 0 or step == steps:
            auc, val_loss = evaluate(step)
            if auc > best_auc + 1e-5 or (auc >= best_auc - 1e-5 and val_loss < best_val_loss - 1e-4):
                best_auc, best_val_loss, best_step, since_best = max(auc, best_auc), val_loss, step, 0
                best_weights = [w.numpy() for w in weights]
            else:
                since_best += 1
                if since_best >= patience:
                    break
    train_seconds = time.perf_counter() - t1
    if keep == "last":
        best_step = step
    else:
        for w, value in zip(weights, best_weights):
            w.assign(value)
    if progress is not None:
        progress(total, total)

    x_new = embed_rows(conf_rows)
    after = validation_figures(x_new, data, settings, embed_rows(neg_rows_all), shipped_views)
    threshold = _threshold(x_new[val_rows], codes[val_rows])
    if best_step == 0:
        accepted, reason = False, "not offered: training did not improve on the validation faces"
    else:
        accepted, reason = accept(before, after)
    result = FineTuneResult(
        accepted=accepted, reason=reason, model_id=None, path=None, current_model=current,
        before=before, after=after, shipped=shipped_fig, data=data.summary(), settings=run_settings,
        steps_run=step, best_step=best_step, history=history, losses=losses,
        verify_threshold=threshold, feature_seconds=round(feature_seconds, 2),
        train_seconds=round(train_seconds, 2))
    if accepted or (save_rejected and best_step > 0):
        from photoface.core.learning.versions import save_model

        info = {"data": result.data, "settings": run_settings, "blocks_trained": blocks,
                "validation": {"shipped": asdict(shipped_fig), "before": asdict(before),
                               "after": asdict(after), "model_before": current},
                "accepted": accepted, "reason": reason, "steps_run": step, "best_step": best_step,
                "verify_threshold": threshold, "train_seconds": result.train_seconds,
                "feature_seconds": result.feature_seconds}
        saved = save_model(library, model, info)
        result.model_id, result.path = saved.id, str(saved.path)
    log.info("fine-tuning: %s", reason)
    return result


def _threshold(x: np.ndarray, codes: np.ndarray) -> float | None:
    """Best-accuracy same/different threshold over the validation pairs (None without both kinds)."""
    from photoface.core.faces.verify import best_threshold

    d_same, d_diff = metrics.pair_distances(x, codes)
    if not len(d_same) or not len(d_diff):
        return None
    # Balanced: as many different pairs as same ones (seeded), else "different" always wins.
    rng = np.random.default_rng(0)
    if len(d_diff) > len(d_same):
        d_diff = rng.choice(d_diff, len(d_same), replace=False)
    d = np.concatenate([d_same, d_diff])
    same = np.concatenate([np.ones(len(d_same), bool), np.zeros(len(d_diff), bool)])
    return round(best_threshold(d, same)[0], 4)
