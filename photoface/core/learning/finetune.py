"""Learn from the user: fine-tune FaceNet with the triplet loss on the faces the user confirmed.

`finetune` runs the three parts: what to train and validate on (core/learning/plan.py), the
training (core/learning/triplet.py) and the offer check (core/learning/validation.py, on the
albums the app's own engine makes). As in Schroff et al. 2015 ("FaceNet"), only the tail of the
network trains (the last `blocks` Block8 blocks and the bottleneck; the bottleneck batch-norm
stays in inference mode). The frozen part's output is computed once per face (and once for its
mirror image, the only augmentation) and kept in memory, so a step runs only the tail:
milliseconds instead of seconds on a CPU. The "head" model shares its layers with the full
network, so the full network's weights are what is saved. Every run starts from the shipped model
and uses every confirmation so far.

Strangers stay safe two ways (issue 16, "learning that does not forget"): training is distilled
towards the shipped model's embeddings of faces the user never touched, except those suggested
for the user's persons (core/learning/plan.py, core/learning/triplet.py),
and, when the library has enough persons, two of them are held out of training and the offer
check refuses a model that tells them apart less well (core/learning/validation.py).

An offered model is saved as a model version (core/learning/versions.py) that
`versions.activate_model` switches to; nothing here activates it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

import numpy as np

from photoface.core.learning.plan import NotEnoughToLearn, TrainingData, plan_training
from photoface.core.learning.triplet import MARGIN, TrainingRun, check_cancel, split_model, train
from photoface.core.learning.validation import (Figures, accept, best_verify_threshold, stranger_figures,
                                                validation_figures)
from photoface.core.learning.versions import active_version
from photoface.core.library.store import Library

log = logging.getLogger(__name__)

DEFAULT_BLOCKS = 1         # Block8-type blocks trained: benchmarks/finetune.py --blocks (see README figures)
# Weight of distillation on the faces of people the user never touched (benchmarks/finetune.py
# --distill-weight, README figures; the four family sets x seeds 0-2, twelve runs): 8 keeps a
# little more of the known people's gain (AUC +0.065 on average, ops 114 -> 94) but in one run
# strangers' TAR at FAR 1e-3 fell 0.024 and in another their AUC 0.0085; 16 kept every run within
# 0.01 TAR and 0.005 AUC (worst -0.009, -0.0037) for AUC +0.061, ops 114 -> 97. The old 4, on
# every untouched face: AUC +0.058, ops 114 -> 90, worst -0.048 TAR, -0.0101 AUC. Seeds 3-4 too
# (twenty runs): 16 loses more than 0.01 TAR in 2 runs (-0.032, -0.016), the old 4 in 6 (-0.048,
# -0.047, ...), and more than 0.005 AUC in none (old: 3); 32 in 1 (-0.017) for AUC +0.056 (16: +0.060).
DEFAULT_DISTILL_WEIGHT = 16.0

__all__ = ["DEFAULT_BLOCKS", "FineTuneResult", "NotEnoughToLearn", "finetune"]


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
        lines = [f"{'model':24} {'val AUC':>8} {'ops to clean':>13} {'wrong':>6} {'faces':>6} {'held-out AUC':>13}"]
        rows = [("shipped", self.shipped)]
        if self.current_model != "shipped":
            rows.append((f"current ({self.current_model})", self.before))
        rows.append(("new" + (f" ({self.model_id})" if self.model_id else ""), self.after))
        for name, f in rows:
            held = "-" if f.stranger_auc is None else f"{f.stranger_auc:.4f}"
            lines.append(f"{name:24} {f.auc:8.4f} {f.ops_to_clean:13d} {f.wrong_suggestions:6d} {f.faces:6d} "
                         f"{held:>13}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return asdict(self)


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
        check_cancel(cancel)
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
             data: TrainingData | None = None, distill_weight: float = DEFAULT_DISTILL_WEIGHT,
             distill: str = "embedding", hold_out: bool = True, strangers: str = "unclaimed") -> FineTuneResult:
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
        distill_weight, distill: weight (0: none) and mode ("embedding" or "relational") of the
            distillation on faces the user never touched.
        hold_out: hold persons out of training for the stranger check when there are enough.
        strangers: which faces are distilled: "unclaimed" (faces the user never touched, except
            those suggested for a person the user confirmed) or "untouched" (all of them).

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
        data = plan_training(library, val_fraction=val_fraction, seed=seed, hold_out=hold_out,
                             strangers=strangers)
    if distill_weight <= 0:  # no distillation: skip the untouched faces' features (most of the feature time)
        data = replace(data, stranger_face_ids=np.zeros(0, np.int64))
    settings = library.settings()
    run_settings = {"blocks": blocks, "persons_per_batch": persons_per_batch,
                    "faces_per_person": faces_per_person, "max_steps": steps,
                    "learning_rate": learning_rate, "mining": mining, "margin": MARGIN,
                    "eval_every": eval_every, "patience": patience, "seed": seed, "keep": keep,
                    "val_fraction": val_fraction, "align_mode": settings["align_mode"],
                    "input_scaling": settings["input_scaling"], "distill_weight": distill_weight,
                    "distill": distill, "hold_out": hold_out, "strangers": strangers}
    total = len(_all_ids(data)) + steps
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(min(done[0], total), total)

    prepared = _prepare(library, data, settings, blocks, seed, tick, cancel)
    run = train(prepared.head, prepared.feats, prepared.embed_rows, data, steps=steps,
                persons_per_batch=persons_per_batch, faces_per_person=faces_per_person,
                learning_rate=learning_rate, mining=mining, eval_every=eval_every, patience=patience,
                seed=seed, keep=keep, tick=tick, cancel=cancel, stranger_rows=prepared.stranger_rows,
                stranger_targets=prepared.stranger_targets, distill_weight=distill_weight, distill=distill)
    if progress is not None:
        progress(total, total)
    return _result(library, data, settings, prepared, run, run_settings, save_rejected)


@dataclass
class _Prepared:
    """The network split for training, the features of every face, and the figures before.

    Attributes:
        model: the full network (its tail shares weights with `head`).
        head: the trainable tail.
        feats: float16 frozen-part features of the confirmed faces, then of the rejected ones,
            the held-out ones and the untouched ones (`_all_ids`).
        embed_rows: embeddings of feature rows under the head's current weights.
        shipped_views: (confirmed, rejected) faces as the shipped model embeds them.
        shipped, before: validation figures of the shipped model and of the model in use.
        current: the weights id in use.
        feature_seconds: time spent computing `feats`.
        holdout_rows, stranger_rows: feature rows of the held-out and the untouched faces.
        stranger_targets: float32 (S, 2, 512) the shipped model's embeddings of the untouched
            faces, both views.
    """

    model: Any
    head: Any
    feats: np.ndarray
    embed_rows: Callable[[np.ndarray], np.ndarray]
    shipped_views: tuple[np.ndarray, np.ndarray]
    shipped: Figures
    before: Figures
    current: str
    feature_seconds: float
    holdout_rows: np.ndarray
    stranger_rows: np.ndarray
    stranger_targets: np.ndarray


def _all_ids(data: TrainingData) -> np.ndarray:
    """Every face whose features a run needs, in feature-row order: confirmed, rejected,
    held-out, untouched."""
    return np.concatenate([data.face_ids, data.neg_face_ids, data.holdout_face_ids, data.stranger_face_ids])


def _prepare(library: Library, data: TrainingData, settings: dict, blocks: int, seed: int,
             tick: Callable[[int], None], cancel: threading.Event | None) -> _Prepared:
    """Builds the shipped network, caches the frozen part's features and measures the figures
    the new model must beat."""
    check_cancel(cancel)
    import keras
    import tensorflow as tf

    from photoface.core.faces import facenet as facenet_model

    all_ids = _all_ids(data)
    keras.utils.set_random_seed(seed)
    model = facenet_model.facenet_from_graph()
    facenet_model.trainable_tail(model, blocks)
    trunk, head = split_model(model, blocks)

    t0 = time.perf_counter()
    feats = _face_features(library, trunk, all_ids, settings["input_scaling"], 32, tick, cancel)
    feature_seconds = time.perf_counter() - t0
    n_conf, n_neg, n_hold = len(data.face_ids), len(data.neg_face_ids), len(data.holdout_face_ids)
    holdout_rows = np.arange(n_conf + n_neg, n_conf + n_neg + n_hold)
    stranger_rows = np.arange(n_conf + n_neg + n_hold, len(all_ids))
    embed_fn = tf.function(lambda f: head(f, training=False), reduce_retracing=True)

    def embed_rows(rows: np.ndarray, view: int = 0) -> np.ndarray:
        out = [embed_fn(feats[rows[s:s + 256], view].astype(np.float32)).numpy()
               for s in range(0, len(rows), 256)]
        return np.concatenate(out) if out else np.zeros((0, 512), np.float32)

    # Before: the shipped model (the head at its initial weights) and the model in use.
    x_shipped = embed_rows(np.arange(n_conf))
    shipped_views = (x_shipped, embed_rows(np.arange(n_conf, n_conf + n_neg)))
    stranger_targets = np.stack([embed_rows(stranger_rows, 0), embed_rows(stranger_rows, 1)], axis=1)
    shipped_fig = stranger_figures(validation_figures(x_shipped, data, settings, shipped_views[1]),
                                   embed_rows(holdout_rows), data.holdout_person)
    before = shipped_fig
    current = settings["active_weights"]
    if current != "shipped":
        needed = all_ids[:n_conf + n_neg + n_hold]
        stored_ids, stored = library.embeddings(active_version(library), needed, present_only=False)
        if len(stored_ids) == len(np.unique(needed)):
            x_stored = stored[np.searchsorted(stored_ids, needed)]
            before = validation_figures(x_stored[:n_conf], data, settings, x_stored[n_conf:n_conf + n_neg],
                                        shipped_views)
            before = stranger_figures(before, x_stored[n_conf + n_neg:], data.holdout_person)
        else:  # should not happen: activation embeds every face first
            log.warning("model in use lacks embeddings of %d faces; comparing with the shipped model",
                        len(np.unique(needed)) - len(stored_ids))
    return _Prepared(model, head, feats, embed_rows, shipped_views, shipped_fig, before, current,
                     round(feature_seconds, 2), holdout_rows, stranger_rows, stranger_targets)


def _result(library: Library, data: TrainingData, settings: dict, prepared: _Prepared, run: TrainingRun,
            run_settings: dict, save_rejected: bool) -> FineTuneResult:
    """The figures after training, the offer, and the saved model when there is one."""
    n_conf = len(data.face_ids)
    x_new = prepared.embed_rows(np.arange(n_conf))
    x_new_neg = prepared.embed_rows(np.arange(n_conf, n_conf + len(data.neg_face_ids)))
    after = stranger_figures(validation_figures(x_new, data, settings, x_new_neg, prepared.shipped_views),
                             prepared.embed_rows(prepared.holdout_rows), data.holdout_person)
    codes = np.unique(data.person, return_inverse=True)[1]
    threshold = best_verify_threshold(x_new[data.val], codes[data.val])
    if run.best_step == 0:
        accepted, reason = False, "not offered: training did not improve on the validation faces"
    else:
        accepted, reason = accept(prepared.before, after, prepared.shipped)
    if data.holdout_note and accepted:
        reason += (f"; the check on people it did not learn from could not run ({data.holdout_note}): "
                   f"distillation on faces you never touched protects them")
    result = FineTuneResult(
        accepted=accepted, reason=reason, model_id=None, path=None, current_model=prepared.current,
        before=prepared.before, after=after, shipped=prepared.shipped, data=data.summary(),
        settings=run_settings, steps_run=run.steps_run, best_step=run.best_step, history=run.history,
        losses=run.losses, verify_threshold=threshold, feature_seconds=prepared.feature_seconds,
        train_seconds=run.train_seconds)
    if accepted or (save_rejected and run.best_step > 0):
        from photoface.core.learning.versions import save_model

        info = {"data": result.data, "settings": run_settings, "blocks_trained": run_settings["blocks"],
                "validation": {"shipped": asdict(prepared.shipped), "before": asdict(prepared.before),
                               "after": asdict(after), "model_before": prepared.current},
                "accepted": accepted, "reason": reason, "steps_run": run.steps_run, "best_step": run.best_step,
                "verify_threshold": threshold, "train_seconds": result.train_seconds,
                "feature_seconds": result.feature_seconds}
        saved = save_model(library, prepared.model, info)
        result.model_id, result.path = saved.id, str(saved.path)
    log.info("fine-tuning: %s", reason)
    return result
