"""Commands over the face model: fine-tune on the user's decisions, list versions, switch.
"""

from __future__ import annotations

import json
import sys
import threading

from photoface.cli.common import open_library, finetune_progress


def cmd_finetune(args) -> int:
    from photoface.core.errors import Cancelled
    from photoface.core.learning.finetune import NotEnoughToLearn, finetune

    cancel = threading.Event()
    with open_library(args) as lib:
        try:
            result = finetune(lib, progress=finetune_progress(), cancel=cancel, steps=args.steps,
                              **({"blocks": args.blocks} if args.blocks is not None else {}))
        except NotEnoughToLearn as exc:
            print(f"photoface: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("photoface: learning cancelled; nothing was changed", file=sys.stderr)
            return 130
        if args.json:
            print(json.dumps(result.to_dict()))
        else:
            d = result.data
            print(f"learned from {d['persons']} people, {d['train_faces']} faces "
                  f"({d['val_faces']} more kept aside to test), {result.steps_run} steps "
                  f"in {result.feature_seconds + result.train_seconds:.0f}s")
            print(result.table())
            print(result.reason)
        if result.accepted and result.model_id:
            if args.activate:
                try:
                    report = _switch_model(lib, result.model_id, cancel=cancel)
                except (Cancelled, KeyboardInterrupt):
                    print("photoface: switching cancelled; the previous model stays in use "
                          "(`photoface use-model` resumes)", file=sys.stderr)
                    return 130
                print(f"now using model {result.model_id} ({report.reembedded} faces re-embedded)")
            else:
                print(f"saved as model {result.model_id}; `photoface use-model {result.model_id}` switches to it")
    return 0


def cmd_models(args) -> int:
    from photoface.core.learning.versions import list_models

    with open_library(args) as lib:
        rows = list_models(lib)
        precision = lib.get_setting("embed_precision")
        if args.json:
            # The arithmetic is the library's, so only the active model has one.
            print(json.dumps([{"id": m.id, "created_at": m.created_at, "active": m.active,
                               "precision": precision if m.active else None, "info": m.info}
                              for m in rows]))
            return 0
        print(f"{'':2}{'id':14} {'date':25} {'arith':>5} {'people':>6} {'faces':>6} {'blocks':>6} "
              f"{'val AUC before -> after':>24} {'ops before -> after':>20}")
        for m in rows:
            v = m.info.get("validation", {})
            b, a = v.get("before", {}), v.get("after", {})
            figures = (f"{b.get('auc', float('nan')):.4f} -> {a.get('auc', float('nan')):.4f}" if v else "")
            ops = f"{b.get('ops_to_clean', '')} -> {a.get('ops_to_clean', '')}" if v else ""
            data = m.info.get("data", {})
            print(f"{'*' if m.active else ' '} {m.id:14} {m.created_at or '(built in)':25} "
                  f"{precision if m.active else '':>5} {data.get('persons', ''):>6} {data.get('train_faces', ''):>6} "
                  f"{m.info.get('blocks_trained', ''):>6} {figures:>24} {ops:>20}")
    return 0


def _switch_model(lib, model_id: str, dry_run: bool = False, cancel=None, precision: str | None = None):
    """Re-embeds, prints what the switch changes in the albums and (unless dry_run) switches."""
    from photoface.core.learning.versions import apply_activation, prepare_activation
    from photoface.core.albums.regroup import summarize

    plan, report = prepare_activation(lib, model_id, progress=finetune_progress("re-embedding"), cancel=cancel,
                                      precision=precision)
    for line in summarize(lib, plan).lines():
        print(line)
    if dry_run:
        print(f"dry run: still using {report.previous} (the new embeddings are kept for later)")
        return None
    return apply_activation(lib, plan, report)


def cmd_use_model(args) -> int:
    from photoface.core.errors import Cancelled

    with open_library(args) as lib:
        try:
            report = _switch_model(lib, args.model, args.dry_run, precision=args.precision)
        except (Cancelled, KeyboardInterrupt):
            print("photoface: switching cancelled; the previous model stays in use (run again to resume)",
                  file=sys.stderr)
            return 130
        if report is not None:
            print(f"now using model {report.model_id} in {report.precision} (was {report.previous} in "
                  f"{report.previous_precision}); "
                  f"{report.reembedded} faces re-embedded, albums updated; `photoface undo` switches back")
    return 0
