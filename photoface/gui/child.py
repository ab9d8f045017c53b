"""Work that runs in a child process: scanning, grouping (planned, then applied), fine-tuning,
switching models, adding a missed face, probing the device.

These functions must not import Qt: a 'spawn' child imports only this module and the core.
They talk to the GUI through a multiprocessing Queue of `(kind, payload)` tuples:

| kind        | payload                                                           |
|-------------|-------------------------------------------------------------------|
| "stage"     | str: what the child does now ("Loading models", "Grouping faces") |
| "progress"  | dict: files_done, files_total, faces, rate, eta_s, current        |
| "steps"     | dict: done, total (grouping, learning, re-embedding)              |
| "info"      | dict: e.g. {"device": "CPU"}                                      |
| "done"      | dict: the result (plain data)                                     |
| "cancelled" | None                                                              |
| "error"     | (kind of error, message, traceback text)                          |

Why a process: importing TensorFlow and loading the models holds the GIL for seconds at a time;
in a thread of the GUI process that freezes the window. A child keeps the window responsive,
and killing it is safe because every batch the scan writes is one transaction.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import traceback


def _watch_cancel(cancel_flag, cancel: threading.Event) -> None:
    """Mirrors the shared cancel flag (a lock-free multiprocessing RawValue, set by the GUI) onto
    a threading.Event the core understands. Polled: a multiprocessing Event's wait() registers a
    sleeper that a killed child never un-registers, and the GUI's next set() would hang on it."""
    while not cancel_flag.value:
        time.sleep(0.05)
    cancel.set()


def run_job(name: str, lib_dir: str, args: dict, queue, cancel_flag) -> None:
    """Entry point of the child: runs the job `name` and reports through `queue`."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        os.nice(5)  # background work: the window's process gets the CPU first
    except (AttributeError, OSError):
        pass
    from photoface.core.errors import Cancelled

    cancel = threading.Event()
    threading.Thread(target=_watch_cancel, args=(cancel_flag, cancel), daemon=True).start()
    try:
        result = _JOBS[name](lib_dir, args, queue, cancel)
    except Cancelled:
        queue.put(("cancelled", None))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI as a message
        queue.put(("error", (type(exc).__name__, str(exc), traceback.format_exc())))
    else:
        queue.put(("done", result))


def _cluster(library, queue, cancel, full: bool = False) -> dict:
    from photoface.core.albums import update as cluster

    queue.put(("stage", "Grouping faces into people"))

    def progress(done: int, total: int) -> None:
        queue.put(("steps", {"done": done, "total": total}))

    report = cluster.update_albums(library, full=full, progress=progress, cancel=cancel)
    return {"clustered": True, **dataclasses.asdict(report)}


def _plan_file(library) -> str:
    """Where a plan waits for the user's Apply (the library's cache folder; one per job)."""
    folder = library.root / "cache"
    folder.mkdir(exist_ok=True)
    return str(folder / f"plan-{os.getpid()}-{time.time_ns()}.npz")


def _job_scan(lib_dir: str, args: dict, queue, cancel) -> dict:
    from photoface.core.faces.embed import compute_device
    from photoface.core.learning.versions import face_models
    from photoface.core.library.ingest import scan
    from photoface.core.library.store import Library

    with Library(lib_dir) as lib:
        models = None
        # A quiet scan (the folder watch) mostly finds nothing to read: the scan loads the models
        # itself when a file needs them, so a removed photo costs no model load.
        if not args.get("quiet"):
            queue.put(("stage", "Loading models"))
            models = face_models(lib)
            queue.put(("info", {"device": compute_device(), "model": models.model_version}))
        if cancel.is_set():
            from photoface.core.errors import Cancelled

            raise Cancelled("scan cancelled")
        queue.put(("stage", "Scanning"))

        def progress(p) -> None:
            queue.put(("progress", dataclasses.asdict(p)))

        report = scan(lib, args.get("folders"), models=models, progress=progress, cancel=cancel,
                      workers=int(args.get("workers", 2)))
        result = {"scan": dataclasses.asdict(report)}
        result["cluster"] = _cluster(lib, queue, cancel)
        return result


def _job_cluster(lib_dir: str, args: dict, queue, cancel) -> dict:
    from photoface.core.library.store import Library

    with Library(lib_dir) as lib:
        return {"cluster": _cluster(lib, queue, cancel, full=bool(args.get("full")))}


def _job_regroup_plan(lib_dir: str, args: dict, queue, cancel) -> dict:
    """A full regroup, planned and summarised; "apply_plan" writes it once the user agrees."""
    from pathlib import Path

    from photoface.core.albums import update as cluster
    from photoface.core.albums.regroup import summarize
    from photoface.core.library.store import Library

    with Library(lib_dir) as lib:
        queue.put(("stage", "Grouping faces into people"))

        def progress(done: int, total: int) -> None:
            queue.put(("steps", {"done": done, "total": total}))

        plan = cluster.plan_albums(lib, full=True, progress=progress, cancel=cancel)
        path = _plan_file(lib)
        plan.save(Path(path))
        return {"plan": path, "summary": summarize(lib, plan).to_dict()}


def _job_apply_plan(lib_dir: str, args: dict, queue, cancel) -> dict:
    """Applies a saved plan: a regroup, or (with "activation") a model switch; one decision."""
    from pathlib import Path

    from photoface.core.learning.versions import ActivationReport, apply_activation
    from photoface.core.albums.regroup import AlbumPlan, apply_plan
    from photoface.core.library.store import Library

    path = Path(args["plan"])
    try:
        plan = AlbumPlan.load(path)
        with Library(lib_dir) as lib:
            queue.put(("stage", "Updating the albums"))
            if args.get("activation"):
                report = apply_activation(lib, plan, ActivationReport(**args["activation"]))
                return dataclasses.asdict(report)
            return {"cluster": {"clustered": True, **dataclasses.asdict(apply_plan(lib, plan, logged=True))}}
    finally:
        path.unlink(missing_ok=True)


def _job_manual_face(lib_dir: str, args: dict, queue, cancel) -> dict:
    from photoface.core.learning.versions import face_models
    from photoface.core.library.ingest import add_manual_face
    from photoface.core.library.store import Library
    from photoface.core.types import Box

    with Library(lib_dir) as lib:
        queue.put(("stage", "Loading models"))
        models = face_models(lib)
        queue.put(("stage", "Adding the face"))
        face_id = add_manual_face(lib, models, int(args["photo_id"]), Box(*args["box"]))
        return {"face_id": face_id}


def _job_device(lib_dir: str, args: dict, queue, cancel) -> dict:
    from photoface.core.faces.embed import compute_device

    return {"device": compute_device()}


def _job_finetune(lib_dir: str, args: dict, queue, cancel) -> dict:
    from photoface.core.learning.finetune import finetune
    from photoface.core.library.store import Library

    with Library(lib_dir) as lib:
        queue.put(("stage", "Learning from your confirmations (this takes a few minutes)"))

        def progress(done: int, total: int) -> None:
            queue.put(("steps", {"done": done, "total": total}))

        result = finetune(lib, progress=progress, cancel=cancel, **args)
        return result.to_dict()


def _job_activate(lib_dir: str, args: dict, queue, cancel) -> dict:
    """Prepares a model switch (re-embeds, plans the regroup) and summarises it; the switch
    itself is "apply_plan" with the returned activation, once the user agrees. `args`: model_id,
    and precision ("fp32" or "int8"; absent: unchanged), a switch of arithmetic."""
    from pathlib import Path

    from photoface.core.learning.versions import prepare_activation
    from photoface.core.albums.regroup import summarize
    from photoface.core.library.store import Library

    with Library(lib_dir) as lib:
        precision = args.get("precision")
        queue.put(("stage", f"Re-embedding every face with {args['model_id']}"
                            + (f" in {precision}" if precision else "")))

        def progress(done: int, total: int) -> None:
            queue.put(("steps", {"done": done, "total": total}))

        plan, report = prepare_activation(lib, args["model_id"], progress=progress, cancel=cancel,
                                          precision=precision)
        path = _plan_file(lib)
        plan.save(Path(path))
        return {"plan": path, "summary": summarize(lib, plan).to_dict(), "activation": dataclasses.asdict(report)}


_JOBS = {"scan": _job_scan, "cluster": _job_cluster, "manual_face": _job_manual_face,
         "device": _job_device, "finetune": _job_finetune, "activate": _job_activate,
         "regroup_plan": _job_regroup_plan, "apply_plan": _job_apply_plan}
