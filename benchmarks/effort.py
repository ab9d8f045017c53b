"""A user's effort: actions until every labelled face is in its identity's named album.

A simulated user who knows every labelled face's identity works on a copy of each set's scanned
library (benchmarks/out/libraries, see benchmarks/cluster.py) through the core calls the window
makes (`Review`, `person_suggestions`, `merge_suggestions`, `update_albums`), and counts actions:

1. the scan's grouping (`update_albums(full=True)`), not counted;
2. rename: each identity names its largest album among those it is the majority of
   (benchmarks/hand_fix.py has the rule); one action each;
3. "Is this NAME?" for each named person, as gui/views/review_dialog.py shows it: the person's
   60 best suggestions, 12 a page. On a page the user brings in the person's faces shown from
   outside the album, either with A (yes to every unanswered face of the page, one action) after
   an N (reject, one action) for each labelled face of someone else on the page, or with Y for
   each, whichever is fewer; someone else's face inside the album is left to the moves of step 7
   (one move takes all of them at once). Bystanders (faces with no label) are left unanswered, so
   an A confirms them, as it would for a user who does not look. A page with nothing to answer
   is passed with Enter, no action. The user closes the dialog at the first page that shows no face of NAME, and opens it
   again (re-ranked) after reading all its pages if any was answered;
4. "Same person?" (gui/views/same_person.py): pairs best first, Merge when both albums' labelled
   majority is one identity, Not the same when they differ, Skip when one has no labelled face;
   each one action. The user closes it after SAME_PERSON_PATIENCE answers in a row that were not
   a merge, and opens it again while it yields merges;
5. with `--regroup`, People → Regroup Faces once after that pass (one action), then 3 and 4
   again; the window never regroups on its own after an answer;
6. with `--improve`, Improve recognition once after that pass as benchmarks/finetune.py runs it
   (fine-tune, then activate the model: re-embeds and regroups; one action), then 3 and 4 again;
7. what is still wrong is fixed by hand with merges, moves and splits (benchmarks/hand_fix.py),
   planned again until every labelled face is in its named album.

Each oracle baseline of benchmarks/cluster.py, at its best-BCubed-F threshold, is fixed by the
same user with renames, merges and moves only (counted from the labels: hand_fix.py), and so is
photoface's first grouping (`photoface_by_hand`). Figures are actions per 100 labelled faces.

    python -m benchmarks.effort [--set NAME ...] [--regroup] [--improve]

Default sets: the family-shaped ones, five_celebrity_faces and lfw_subset (lfw only on request).
The family-library issue's bar: photoface at most half the best baseline on each family-shaped set.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.cluster import baseline_grids, reset_decisions, scanned_library
from benchmarks.common import add_set_argument, chosen_sets, emit
from benchmarks.hand_fix import (UNSORTED, Step, count_steps, faces_moved, hand_fix_plan, names_to_give,
                                 shown_albums)
from photoface.core.albums.review import Review
from photoface.core.albums.update import merge_suggestions, person_suggestions, update_albums
from photoface.core.learning.versions import active_version
from photoface.core.learning import metrics
from photoface.core.learning.evaluation import labelled_faces
from photoface.core.library.store import Library

FAMILY_SETS = ("japanese_actors", "turkish_comedians", "indian_cricketers", "african_footballers",
               "sports_celebrities")
DEFAULT_SETS = FAMILY_SETS + ("five_celebrity_faces", "lfw_subset")

#: What the window shows; tests/test_benchmarks_effort.py checks these against the dialogs.
REVIEW_PAGE = 12        # "Is this NAME?": faces a page (review_dialog.PAGE)
REVIEW_LIMIT = 60       # and suggestions loaded when it opens (its person_suggestions limit)
SAME_PERSON_LIMIT = 20  # "Same person?": pairs loaded when it opens
#: The user closes "Same person?" after this many answers in a row that were not a merge: it shows
#: the likeliest pairs first, and nobody reads twenty "no"s to the end.
SAME_PERSON_PATIENCE = 3
#: Rounds of planning by hand before the user is declared stuck (a bug: one round suffices unless
#: an action has a side effect the plan did not foresee).
MAX_HAND_ROUNDS = 10


class EffortUser:
    """Plays a user who knows the truth, through the window's core calls, and counts actions.

    Attributes:
        lib -- the library (a scratch copy: the user changes it).
        face_ids, identities -- (N,) the labelled faces and their identities; other faces are
            bystanders.
        actions -- Counter of actions by kind (rename, no, yes, yes_page, same_yes, same_no,
            same_skip, regroup, improve, merge, move, split).
        looked -- Counter of what cost no action (dialogs opened, pages read).
    """

    def __init__(self, lib: Library, face_ids: np.ndarray, identities: np.ndarray):
        self.lib = lib
        self.review = Review(lib)
        self.face_ids = np.asarray(face_ids, np.int64)
        self.identities = np.asarray(identities).astype(str)
        self.truth = dict(zip(self.face_ids.tolist(), self.identities.tolist()))
        self.actions: Counter = Counter()
        self.looked: Counter = Counter()

    # --- what the window shows -------------------------------------------------------------

    def _persons(self) -> tuple[dict[int, int | None], dict[int, str | None]]:
        """({face id: person id or None} of every usable face, {person id: name})."""
        person = dict(self.lib.con.execute("SELECT id, person_id FROM faces WHERE state != 'not_face'").fetchall())
        names = dict(self.lib.con.execute("SELECT id, name FROM persons").fetchall())
        return person, names

    def albums(self) -> tuple[np.ndarray, dict[int, str]]:
        """(the album shown for each labelled face, UNSORTED for none; {named album: name})."""
        person, names = self._persons()
        sizes = Counter(p for p in person.values() if p is not None)
        min_size = int(self.lib.settings()["min_album_size"])
        shown = [p if p is not None and (names.get(p) is not None or sizes[p] >= min_size) else UNSORTED
                 for p in (person.get(f) for f in self.face_ids.tolist())]
        return np.array(shown, np.int64), {p: n for p, n in names.items() if n is not None}

    def person_named(self, name: str) -> int | None:
        row = self.lib.con.execute("SELECT id FROM persons WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def done(self) -> bool:
        """Every labelled face is in the person named after its identity."""
        person, names = self._persons()
        return all(names.get(person.get(f)) == ident for f, ident in self.truth.items())

    def bystanders_in_named(self) -> int:
        """Faces without a label that ended in a named album (users see those)."""
        person, names = self._persons()
        return sum(1 for f, p in person.items() if f not in self.truth and names.get(p) is not None)

    # --- the steps -------------------------------------------------------------------------

    def name_albums(self) -> None:
        """Step 2: each identity names its album (hand_fix's rule)."""
        albums, named = self.albums()
        for ident, album in sorted(names_to_give(albums, self.identities, named).items()):
            self.review.rename(album, ident)
            self.actions["rename"] += 1

    def review_everyone(self) -> None:
        """Step 3 for every named person, in name order."""
        _, named = self.albums()
        idents = set(self.identities.tolist())
        for person_id, name in sorted(named.items(), key=lambda t: t[1]):
            if name in idents:
                self.review_person(person_id, name)

    def review_person(self, person_id: int, name: str) -> None:
        """"Is this NAME?" for one person: pages read until one shows nobody of NAME, the dialog
        opened again (re-ranked) while an opening had something to answer."""
        while True:
            self.looked["review_dialogs"] += 1
            ranked = [f for f, _ in person_suggestions(self.lib, person_id, limit=REVIEW_LIMIT)]
            acted = False
            for start in range(0, len(ranked), REVIEW_PAGE):
                page = ranked[start:start + REVIEW_PAGE]
                self.looked["review_pages"] += 1
                if not any(self.truth.get(f) == name for f in page):
                    return
                acted |= self._answer_page(page, person_id, name)
            if not acted:
                return

    def _answer_page(self, page: list[int], person_id: int, name: str) -> bool:
        """Answers one page as the dialog allows; returns whether it had anything to do.

        Only faces of NAME shown from outside the album need an answer: someone else's face in
        the album costs the same later (one move per album and identity, with others), so an N
        is said only where it lets A take the rest of the page for fewer actions than Y each.
        """
        person, _ = self._persons()
        wrong = [f for f in page if self.truth.get(f, name) != name]
        right_out = [f for f in page if self.truth.get(f) == name and person.get(f) != person_id]
        if not right_out:
            return False  # Enter: the next page
        if len(wrong) + 1 <= len(right_out):
            for f in wrong:
                self.review.reject([f], person_id)
                self.actions["no"] += 1
            # A: yes to every face of the page not answered yet (review_dialog.yes_to_page).
            self.review.confirm([f for f in page if f not in set(wrong)], person_id)
            self.actions["yes_page"] += 1
        else:
            for f in right_out:
                self.review.confirm([f], person_id)
                self.actions["yes"] += 1
        return True

    def _majority(self, person_id: int, person: dict) -> str | None:
        counts = Counter(self.truth[f] for f, p in person.items() if p == person_id and f in self.truth)
        return min(counts, key=lambda k: (-counts[k], k)) if counts else None

    def same_person(self) -> bool:
        """Step 4: one opening of "Same person?"; returns whether it merged anything."""
        self.looked["same_person_dialogs"] += 1
        pairs = [(a, b) for a, b, _ in merge_suggestions(self.lib, limit=SAME_PERSON_LIMIT)]
        merged, misses, i = False, 0, 0
        while i < len(pairs) and misses < SAME_PERSON_PATIENCE:
            a, b = pairs[i]
            person, names = self._persons()
            ia, ib = self._majority(a, person), self._majority(b, person)
            if ia is not None and ia == ib:
                # The dialog's rule: the named one (else the first) is the target.
                target, source = (a, b) if (names.get(a) is not None or names.get(b) is None) else (b, a)
                self.review.merge([source], target)
                self.actions["same_yes"] += 1
                merged, misses = True, 0
                later = [(target if x == source else x, target if y == source else y) for x, y in pairs[i + 1:]]
                pairs = pairs[:i + 1] + [(x, y) for x, y in later if x != y]
            elif ia is None or ib is None:
                self.actions["same_skip"] += 1
                misses += 1
            else:
                self.review.not_same_person(a, b)
                self.actions["same_no"] += 1
                misses += 1
            i += 1
        return merged

    def suggestion_pass(self) -> None:
        """Steps 3 and 4."""
        self.review_everyone()
        while self.same_person():
            pass

    def regroup(self) -> None:
        """People → Regroup Faces."""
        update_albums(self.lib, full=True)
        self.actions["regroup"] += 1

    def improve(self, seed: int = 0) -> dict:
        """Improve recognition, as benchmarks/finetune.py runs it; returns what it did."""
        from photoface.core.learning.finetune import finetune
        from photoface.core.learning.versions import activate_model

        self.actions["improve"] += 1
        t0 = time.perf_counter()
        result = finetune(self.lib, seed=seed)
        out = {"offered": result.accepted, "reason": result.reason, "activated": False}
        if result.model_id is not None and result.accepted:
            activate_model(self.lib, result.model_id)
            out["activated"] = True
        out["seconds"] = round(time.perf_counter() - t0, 1)
        return out

    def fix_by_hand(self) -> None:
        """Step 7: merges, moves and splits, planned again until done."""
        for _ in range(MAX_HAND_ROUNDS):
            albums, named = self.albums()
            steps = hand_fix_plan(albums, self.identities, named)
            if not steps:
                break
            for step in steps:
                self._do(step)
        if not self.done():
            raise RuntimeError(f"the simulated user is stuck after {MAX_HAND_ROUNDS} rounds by hand")

    def _do(self, step: Step) -> None:
        faces = [int(self.face_ids[i]) for i in step.faces]
        if step.kind == "rename":
            self.review.rename(step.album, step.identity)
        elif step.kind == "merge":
            self.review.merge([step.album], self.person_named(step.identity))
        elif step.kind == "move":
            self.review.move(faces, self.person_named(step.identity))
        elif step.kind == "split":
            self.review.split(faces, step.identity)
        else:
            raise ValueError(step.kind)
        self.actions[step.kind] += 1
        self.looked["faces_moved_by_hand"] += len(faces)

    def play(self, regroup: bool = False, improve: bool = False) -> dict:
        """The whole session from a just-scanned library; returns what it cost."""
        update_albums(self.lib, full=True)
        albums, _ = self.albums()
        plan = hand_fix_plan(albums, self.identities)
        by_hand = {**count_steps(plan)}
        self.name_albums()
        self.suggestion_pass()
        extra = {}
        if regroup:
            self.regroup()
            self.suggestion_pass()
        if improve:
            extra["improve"] = self.improve()
            self.suggestion_pass()
        self.fix_by_hand()
        return {"actions": sum(self.actions.values()), "breakdown": dict(self.actions),
                "looked": dict(self.looked), "photoface_by_hand": sum(by_hand.values()),
                "photoface_by_hand_breakdown": by_hand, "photoface_by_hand_faces_moved": faces_moved(plan),
                "bystanders_in_named_albums": self.bystanders_in_named(), **extra}


def baseline_efforts(lib: Library, face_ids: np.ndarray, identities: np.ndarray) -> dict[str, dict]:
    """Each oracle baseline at its best-BCubed-F threshold (cluster.py's pick), fixed by hand.

    Returns:
        {method: {threshold, bcubed_f, actions, breakdown, faces_moved}}.
    """
    ids, x = lib.embeddings(active_version(lib))
    rows_of = {int(f): i for i, f in enumerate(ids)}
    sel = np.array([rows_of[int(f)] for f in face_ids])
    truth = np.unique(identities, return_inverse=True)[1]
    min_size = int(lib.settings()["min_album_size"])
    out = {}
    for method, (grid, fn) in baseline_grids(x).items():
        tried = []
        for t in grid:
            labels = fn(float(t))
            f = round(metrics.bcubed_prf(truth, labels[sel])[2], 4)
            steps = hand_fix_plan(shown_albums(labels, min_size)[sel], identities)
            tried.append((float(t), f, metrics.ops_to_clean(truth, labels[sel]), steps))
        # Not the threshold with the fewest actions: one album of everyone, or everyone in
        # Unsorted, costs one action per identity under these rules (a selection is one action).
        t, f, _, steps = max(tried, key=lambda r: (r[1], -r[2]))
        out[method] = {"threshold": round(t, 3), "bcubed_f": f, "actions": len(steps),
                       "breakdown": count_steps(steps), "faces_moved": faces_moved(steps)}
    return out


def per_100(actions: int, faces: int) -> float:
    return round(100.0 * actions / max(faces, 1), 2)


def run_set(name: str, folder: Path, regroup: bool, improve: bool) -> dict:
    src = scanned_library(name, folder)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(src, Path(tmp) / "lib")  # never write into the cached library
        with Library(Path(tmp) / "lib") as lib:
            reset_decisions(lib)
            lf = labelled_faces(lib, str(folder), active_version(lib))
            n = len(lf.face_ids)
            base = baseline_efforts(lib, lf.face_ids, lf.identities)
            t0 = time.perf_counter()
            ours = EffortUser(lib, lf.face_ids, lf.identities).play(regroup=regroup, improve=improve)
            seconds = time.perf_counter() - t0
            faces = lib.con.execute("SELECT COUNT(*) FROM faces WHERE state != 'not_face'").fetchone()[0]
    best = min(base, key=lambda m: (base[m]["actions"], m))
    rec = {"set": name, "family_shaped": name in FAMILY_SETS, "labelled_faces": n,
           "identities": int(len(set(lf.identities.tolist()))), "bystanders": int(faces - n),
           "regroup": regroup, "improve": improve,
           "photoface_actions": ours["actions"], "photoface_per100": per_100(ours.pop("actions"), n),
           **ours, "photoface_by_hand_per100": per_100(ours["photoface_by_hand"], n),
           "baselines": {m: {**r, "per100": per_100(r["actions"], n)} for m, r in base.items()},
           "best_baseline": best, "best_baseline_per100": per_100(base[best]["actions"], n),
           "seconds": round(seconds, 1)}
    rec["ratio"] = round(rec["photoface_actions"] / max(base[best]["actions"], 1), 3)
    rec["at_most_half"] = rec["photoface_actions"] <= 0.5 * base[best]["actions"]
    return rec


def print_table(recs: list[dict]) -> None:
    methods = sorted({m for r in recs for m in r["baselines"]})
    print(f"\n{'set':22} {'photoface':>9} {'by hand':>8} " + " ".join(f"{m[:12]:>12}" for m in methods)
          + f" {'ratio':>6}  photoface's actions")
    for r in recs:
        cells = " ".join(f"{r['baselines'][m]['per100']:12.2f}" if m in r["baselines"] else f"{'-':>12}"
                         for m in methods)
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["breakdown"].items()))
        print(f"{r['set']:22} {r['photoface_per100']:9.2f} {r['photoface_by_hand_per100']:8.2f} {cells} "
              f"{r['ratio']:6.3f}  {kinds}")
    print("(actions per 100 labelled faces; ratio: photoface / best baseline, in actions)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_set_argument(parser, default=DEFAULT_SETS)
    parser.add_argument("--regroup", action="store_true", help="Regroup Faces once after the first pass")
    parser.add_argument("--improve", action="store_true",
                        help="Improve recognition once after the first pass (slow on CPU)")
    args = parser.parse_args()
    recs = []
    for name, folder in chosen_sets(args):
        rec = run_set(name, folder, args.regroup, args.improve)
        emit(rec)
        recs.append(rec)
    print_table(recs)
    family = [r for r in recs if r["family_shaped"]]
    if family:
        emit({"sets": [r["set"] for r in family], "all_at_most_half": all(r["at_most_half"] for r in family),
              "ratios": {r["set"]: r["ratio"] for r in family}})


if __name__ == "__main__":
    main()
