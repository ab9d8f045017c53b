"""Model versions of a library: fine-tuned FaceNet weights, saved, listed, activated, rolled back.

Each fine-tuned model lives in `library.models_dir / <id> /` as `facenet.weights.h5` (weights only,
no code: `facenet_model.load_fine_tuned` rebuilds the architecture) and `info.json` (what it was
trained on and its validation figures). The id is the first 12 hex digits of the weights file's
sha256, the same as `FaceEmbedder.weights_id`. The active model is the library setting
`active_weights` ("shipped" or an id), run in the arithmetic of `embed_precision` ("fp32", or
"int8": the library's quantised copy, see `int8_model`); a change of either is a model switch.

Activating (or rolling back) re-embeds every face from its stored crop under the new model version
first (resumable), and only when every face has an embedding of that version switches the setting;
until then the previous version stays in use, and two versions are never compared. Undecided faces
are then re-clustered with every decision kept.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from photoface.core.faces.embed import SHIPPED_WEIGHTS_ID
from photoface.core.errors import PhotofaceError, StoreError
from photoface.core.library.learning_rows import delete_embeddings_of_weights, faces_missing
from photoface.core.library.store import Library
from photoface.core.hashing import sha256_file

log = logging.getLogger(__name__)

WEIGHTS_FILE = "facenet.weights.h5"  # inside library.models_dir / <model id> /
INFO_FILE = "info.json"
SHIPPED = SHIPPED_WEIGHTS_ID


def weights_path(library: Library, weights_id: str) -> Path | None:
    """The weights file of a model id; None for the shipped model."""
    if weights_id == SHIPPED_WEIGHTS_ID:
        return None
    return library.models_dir / weights_id / WEIGHTS_FILE


def target_version(library: Library, weights_id: str, precision: str | None = None) -> str:
    """The model version embeddings of `weights_id` get with the library's preprocessing settings,
    in `precision` (default: the library's `embed_precision`)."""
    return library.model_version(weights_id, precision)


def active_version(library: Library) -> str:
    """The model version in use: what scans embed with and albums are grouped in.

    The library stores it (`active_weights`, read by `Library.model_version`, so that albums/
    reads it without reaching into learning/); only activation here switches it.
    """
    return library.model_version()


class UnknownModel(PhotofaceError):
    """A model id the library does not hold."""

    def __init__(self, model_id: str):
        self.model_id = model_id
        super().__init__(f"no model {model_id!r} in this library; `photoface models` lists them")


@dataclass
class ModelInfo:
    """One model version of a library.

    Attributes:
        id: "shipped" or the 12-hex-digit id of a fine-tuned model.
        created_at: ISO 8601 date of training ("" for shipped).
        active: whether it is the library's `active_weights`.
        info: the parsed `info.json` ({} for shipped): persons/faces seen, validation before and
            after, settings, blocks trained.
        path: the model's folder (None for shipped).
    """

    id: str
    created_at: str
    active: bool
    info: dict = field(default_factory=dict)
    path: Path | None = None


def save_model(library: Library, keras_model: Any, info: dict) -> ModelInfo:
    """Saves fine-tuned weights as a new model version of the library (not activated).

    Args:
        keras_model: a model from `facenet_model` (the full network, fine-tuned).
        info: JSON-able facts to keep with it; `sha256`, `id` and `created_at` are added.

    Returns:
        The saved model's ModelInfo.
    """
    from photoface.core.faces import facenet as facenet_model

    library.models_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_incoming(library.models_dir)
    tmp = library.models_dir / f"incoming-{os.getpid()}-{threading.get_ident()}.weights.h5"
    try:
        facenet_model.save_weights(keras_model, tmp)
        sha = sha256_file(tmp)
        model_id = sha[:12]
        folder = library.models_dir / model_id
        folder.mkdir(exist_ok=True)
        os.replace(tmp, folder / WEIGHTS_FILE)
    finally:
        tmp.unlink(missing_ok=True)
    full = {**info, "id": model_id, "sha256": sha,
            "created_at": info.get("created_at") or _dt.datetime.now().astimezone().isoformat(timespec="seconds")}
    _write_json(folder / INFO_FILE, full)
    log.info("saved fine-tuned model %s in %s", model_id, folder)
    return ModelInfo(model_id, full["created_at"], False, full, folder)


def face_models(library: Library):
    """The detector, aligner and embedder of the library's settings and active model."""
    from photoface.core.faces.finder import FaceModels

    settings = library.settings()
    active = settings["active_weights"]
    int8_file = None
    if settings["embed_precision"] == "int8":
        from photoface.core.learning.int8_model import ensure_int8_model

        int8_file = ensure_int8_model(library, active)  # normally made by the switch to INT8
    return FaceModels(settings, weights_path=weights_path(library, active), weights_id=active,
                      int8_file=int8_file)


def verify_threshold(library: Library, version: str) -> float:
    """The same/different threshold of a model version (fine-tuned models store their own)."""
    from photoface.core.faces.verify import SHIPPED_THRESHOLD

    return float(library.get_setting("verify_thresholds").get(version, SHIPPED_THRESHOLD))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid < 2**22  # exists but not ours; an impossible pid is dead
    return True


def remove_stale_incoming(models_dir: Path) -> int:
    """Deletes the temporary weights of saves that a crash cut short (~90 MB each).

    A save writes `incoming-PID-TID….weights.h5` and renames it into place; after a SIGKILL or a
    power cut the file stays, and the next run has another pid. Files of live processes (a save
    running in another process right now) are left alone. Returns how many were removed.
    """
    removed = 0
    for path in models_dir.glob("incoming-*"):
        try:
            pid = int(path.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if not _pid_alive(pid):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)  # atomic: a crash leaves the old file or the new one


def list_models(library: Library) -> list[ModelInfo]:
    """Every model version of the library: "shipped" first, then fine-tuned ones, oldest first.

    Folders without a weights file (a crash mid-save) are left out.
    """
    active = library.get_setting("active_weights")
    out = [ModelInfo(SHIPPED, "", active == SHIPPED)]
    found = []
    if library.models_dir.is_dir():
        for folder in library.models_dir.iterdir():
            if not (folder / WEIGHTS_FILE).is_file():
                continue
            try:
                info = json.loads((folder / INFO_FILE).read_text())
            except (OSError, ValueError):
                info = {}
            found.append(ModelInfo(folder.name, str(info.get("created_at", "")), active == folder.name,
                                   info, folder))
    found.sort(key=lambda m: (m.created_at, m.id))
    return out + found


def get_model(library: Library, model_id: str) -> ModelInfo:
    """One model version; raises UnknownModel."""
    for m in list_models(library):
        if m.id == model_id:
            return m
    raise UnknownModel(model_id)


@dataclass
class ActivationReport:
    """What `activate_model` did: faces re-embedded, the version now in use, the clustering run;
    `precision` and `previous_precision` are the arithmetic switched to and from."""

    model_id: str
    version: str
    reembedded: int
    previous: str
    precision: str = "fp32"
    previous_precision: str = "fp32"
    knn_caches_removed: int = 0
    cluster: Any = None
    summary: dict = field(default_factory=dict)


def prepare_activation(library: Library, model_id: str,
                       progress: Callable[[int, int], None] | None = None,
                       cancel: threading.Event | None = None,
                       batch_size: int = 64, precision: str | None = None) -> tuple[Any, ActivationReport]:
    """Everything a switch to `model_id` in `precision` ("fp32" or "int8"; default: the library's
    `embed_precision`, so that only the model changes) needs, short of switching: re-embeds every
    face and plans the regroup under the new version (`regroup.AlbumPlan`, with the settings to
    switch: `active_weights`, `embed_precision` and the model's verify threshold).

    Re-embedding is resumable; cancel keeps what was done and leaves the current model in use.
    A first switch to INT8 quantises the model on the library's faces before re-embedding.

    Raises:
        UnknownModel: no such model in this library.
        ValueError: an unknown precision.
        PhotofaceError: INT8 asked of a library with too few faces to calibrate it on.
        Cancelled: `cancel` was set.
        ModelNotFoundError: the weights file is damaged.
    """
    from photoface.core.faces.embed import PRECISIONS
    from photoface.core.albums import neighbour_cache
    from photoface.core.albums.update import plan_albums
    from photoface.core.learning.reembed import reembed  # it imports this module

    model = get_model(library, model_id)
    previous = library.get_setting("active_weights")
    previous_precision = library.get_setting("embed_precision")
    precision = precision or previous_precision
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "int8":
        from photoface.core.learning.int8_model import ensure_int8_model

        # Made even when no face needs re-embedding: the scans after the switch need it.
        ensure_int8_model(library, model_id, cancel)
    version = target_version(library, model_id, precision)
    done = 0
    # A scan running meanwhile may add faces embedded with the old model: go round until none is left.
    for _ in range(5):
        done += reembed(library, model_id, progress=progress, cancel=cancel, batch_size=batch_size,
                        precision=precision)
        if not faces_missing(library, version):
            break
    else:
        raise StoreError("faces keep arriving without embeddings of the new model; finish the scan first")
    report = ActivationReport(model_id, version, done, previous, precision, previous_precision)
    # Neighbour lists of this version from an earlier activation describe other faces: start afresh.
    if neighbour_cache.forget(library, version, int(library.get_setting("cluster_k"))):
        report.knn_caches_removed += 1
    plan = plan_albums(library, full=True, cancel=cancel, model=version)
    # The precision is written even when unchanged, so that undoing any switch restores it too.
    plan.settings = {"active_weights": model_id, "embed_precision": precision}
    threshold = model.info.get("verify_threshold")
    if threshold is not None:
        thresholds = library.get_setting("verify_thresholds")
        thresholds[version] = float(threshold)
        plan.settings["verify_thresholds"] = thresholds
    return plan, report


def apply_activation(library: Library, plan: Any, report: ActivationReport) -> ActivationReport:
    """Switches the model and applies its regroup: one transaction, one undoable decision."""
    from photoface.core.albums.regroup import apply_plan, summarize

    report.summary = summarize(library, plan).to_dict()
    report.cluster = apply_plan(library, plan, logged=True, action="use_model",
                                params={"model": report.model_id, "previous": report.previous,
                                        "precision": report.precision,
                                        "previous_precision": report.previous_precision})
    log.info("model %s (%s) active (was %s, %s); %d faces re-embedded", report.model_id, report.precision,
             report.previous, report.previous_precision, report.reembedded)
    return report


def activate_model(library: Library, model_id: str,
                   progress: Callable[[int, int], None] | None = None,
                   cancel: threading.Event | None = None,
                   batch_size: int = 64, precision: str | None = None) -> ActivationReport:
    """Makes `model_id` (or "shipped") the library's model, in `precision` (default: unchanged);
    also how to roll back to any version, and how to switch between FP32 and INT8.

    1. Re-embeds every face without an embedding of the target version (resumable; cancel keeps
       what was done and leaves the current model in use).
    2. Plans the regroup of the undecided and suggested faces under the new version; confirmed
       and accepted faces, rejections and names are never changed.
    3. In one transaction, logged as one decision ("Switch Model", undoable): switches
       `active_weights`, `embed_precision` (and the model's verify threshold) and writes the
       regroup; undoing it switches all of them back.

    Raises:
        UnknownModel: no such model in this library.
        Cancelled: `cancel` was set during step 1 or 2.
        ModelNotFoundError: the weights file is damaged.
    """
    plan, report = prepare_activation(library, model_id, progress, cancel, batch_size, precision)
    return apply_activation(library, plan, report)


def discard_model(library: Library, model_id: str) -> None:
    """Deletes a fine-tuned model and its embeddings. The active model and "shipped" cannot go.

    Raises:
        UnknownModel: no such model.
        PhotofaceError: it is the active model or the shipped one.
    """
    if model_id == SHIPPED:
        raise PhotofaceError("the shipped model cannot be discarded")
    model = get_model(library, model_id)
    if model.active:
        raise PhotofaceError(f"model {model_id} is in use; activate another one first (`photoface use-model`)")
    delete_embeddings_of_weights(library, model_id)  # every preprocessing variant
    shutil.rmtree(model.path, ignore_errors=True)
    log.info("discarded model %s", model_id)
