"""The triplet loss, its batches and the training loop of fine-tuning (Schroff et al. 2015, "FaceNet").

- triplet loss on squared L2 distances of L2-normalised embeddings, margin 0.2, averaged over the
  triplets that violate it; batches of P persons x K faces; online semi-hard negative mining inside
  each batch (hardest-negative as an option); each rejected face in a batch is also used as a
  negative for every anchor-positive pair of the person it was rejected from;
- only the tail of the network trains (`split_model`): a step runs the "head" on features of the
  frozen part computed once per face (core/learning/finetune.py);
- every `eval_every` steps the validation faces are embedded; training stops when their ROC AUC
  (ties broken by their triplet loss) has not improved for `patience` evaluations, and the best
  weights are kept.

TensorFlow is imported inside the functions that need it: importing the core stays light.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from photoface.core.errors import Cancelled
from photoface.core.learning import metrics
from photoface.core.learning.plan import TrainingData

log = logging.getLogger(__name__)

MARGIN = 0.2               # alpha of the triplet loss, squared L2 on unit vectors (FaceNet paper)


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


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("learning cancelled; nothing was changed")


@dataclass
class TrainingRun:
    """What the training loop did.

    Attributes:
        steps_run: steps taken.
        best_step: the step whose weights the head holds now (0 = unchanged).
        history: per evaluation, {"step", "val_auc", "val_loss", "loss"}.
        losses: the training loss of every step (mean over violating triplets).
        train_seconds: time spent in the loop.
    """

    steps_run: int
    best_step: int
    history: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    train_seconds: float = 0.0


def train(head: Any, feats: np.ndarray, embed_rows: Callable[[np.ndarray], np.ndarray], data: TrainingData, *,
          steps: int, persons_per_batch: int, faces_per_person: int, learning_rate: float, mining: str,
          eval_every: int, patience: int, seed: int, keep: str, tick: Callable[[int], None],
          cancel: threading.Event | None) -> TrainingRun:
    """Trains `head` on the training faces of `data` with the triplet loss, stopping early.

    Args:
        head: the trainable tail (`split_model`); its weights end as the run's best (or last).
        feats: float16 (N + M, 2, ...) frozen-part features of `data.face_ids` then
            `data.neg_face_ids`, of each crop and its mirror image.
        embed_rows: embeddings of feature rows (original views) under the head's current weights.
        data: the faces and their split.
        steps .. keep: see `finetune.finetune`.
        tick: called with 1 after every step.
        cancel: set to stop (raises Cancelled).
    """
    import keras
    import tensorflow as tf

    n_conf = len(data.face_ids)
    val_rows = np.flatnonzero(data.val)
    codes = np.unique(data.person, return_inverse=True)[1]
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
    history: list[dict] = []

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

    losses: list[float] = []
    best_auc, best_val_loss = evaluate(0)
    best_step, best_weights, since_best = 0, [w.numpy() for w in weights], 0
    t1 = time.perf_counter()
    step = 0
    for step in range(1, steps + 1):
        check_cancel(cancel)
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
    return TrainingRun(steps_run=step, best_step=best_step, history=history, losses=losses,
                       train_seconds=round(train_seconds, 2))


# --------------------------------------------------------------------------- batches


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

