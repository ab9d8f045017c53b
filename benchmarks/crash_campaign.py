"""Crash campaign: SIGKILL photoface at random moments and check that nothing is lost.

A dataset (default lfw_subset) is copied into a temporary folder and scanned once into a base
library; a few persons are named and some of their faces confirmed (so export and fine-tuning
have work). Each kill round then starts from a copy of that base library and runs real CLI
subprocesses (`python -m photoface --library L ...`):

- review: a random sequence of rename / confirm / reject / merge / split / move / hide /
  not-same / not-face / undo / redo on ids read from `photoface people --json`;
- export: `export DEST [--xmp]` (sometimes over an earlier complete export);
- rescan: `scan` after adding, touching and moving a few files;
- finetune: `finetune --steps N` (a few steps);
- regroup: `cluster --full` (one logged decision: every album placed again);
- activate: `use-model ID` (re-embeds every face with a fine-tuned model saved in the base library,
  then switches and regroups as one logged decision), or back to `shipped`.

One command per round is SIGKILLed (its whole process group) at a random delay drawn from the
seed; a command that finishes first is acknowledged and the next one is the victim. After the
kill the library is reopened and checked, the killed command is run again, and checked again:

- `PRAGMA integrity_check` is "ok" and `PRAGMA foreign_key_check` is empty;
- every acknowledged action (CLI exit 0) is present: the decision state (persons, names,
  face person/state, rejections, not-same pairs, decision log) equals the state read right after
  the last acknowledged command, or that state plus exactly the one decision the killed command
  logs (checked row by row against the decision's before/after snapshots);
- regroup and activate: like a review action, the acknowledged state or it plus exactly the one
  decision (checked against its snapshots); the active model is the old one or, with the
  decision, the new one;
- the re-run of the killed command exits 0 (a review action that had already committed may
  exit 1 with a clean message, e.g. merging a person that is gone);
- no duplicate faces (same photo and same box twice), every face has an embedding;
- the input folder is byte-identical to what the campaign itself put there (sha256 of every file);
- export: no partial file under a final name after the kill; after the re-run no temporary file
  (.photoface-*.part, .*.new, *.tmp) is left and the tree equals a reference export;
- rescan: after the re-run every input file is recorded with its photo;
- finetune: after the re-run no temporary weights (models/incoming-*, *.tmp) are left.

Prints one JSON line per kill, a JSON summary and "N of K kills recovered".

    .venv/bin/python benchmarks/crash_campaign.py [--kills 100] [--seed 0] [--minutes 30]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import REPO_ROOT, datasets_root, emit  # noqa: E402

PHOTO_EXTS = {".jpg", ".jpeg", ".png"}
TEMP_MARKERS = (".part", ".new", ".tmp")
# CLI command -> the action name its decision is logged under.
ACTION_OF = {"confirm": {"confirm"}, "reject": {"reject"}, "move": {"move"}, "split": {"split"},
             "merge": {"merge"}, "rename": {"rename"}, "hide": {"hide", "unhide"},
             "not-face": {"not_face"}, "not-same": {"not_same"}, "cluster": {"regroup"},
             "use-model": {"use_model"}}
KINDS = ("review", "export", "rescan", "finetune", "regroup", "activate")
# Kinds whose command is one logged decision, checked like a review action.
LOGGED_KINDS = ("review", "regroup", "activate")
# stderr text that shows the real work has begun (after TensorFlow and the models loaded)
MARKER = {"rescan": " files, ", "finetune": "learning:", "activate": "re-embedding:"}


# --------------------------------------------------------------------------- subprocesses

def _env() -> dict:
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def cli(lib: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "photoface", "--library", str(lib), *args]


@dataclass
class Ran:
    rc: int
    seconds: float
    killed: bool
    out: str
    err: str
    marker_s: float | None = None   # when `marker` first appeared on stderr


def run(cmd: list[str], kill_after: float | None = None, timeout: float = 900,
        marker: str | None = None) -> Ran:
    """Runs cmd in its own process group; with kill_after, SIGKILLs the group at that delay,
    counted from the start, or with `marker` from the moment that text first shows on stderr
    (the progress line that says the real work has begun: models loaded, files being done)."""
    with tempfile.NamedTemporaryFile() as out, tempfile.NamedTemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=REPO_ROOT,
                             env=_env(), start_new_session=True)
        killed, marker_s = False, None
        start = t0
        if marker is not None:
            while p.poll() is None and time.perf_counter() - t0 < timeout:
                with open(err.name, "rb") as f:
                    if marker.encode() in f.read():
                        marker_s = time.perf_counter() - t0
                        start = time.perf_counter()
                        break
                time.sleep(0.05)
        try:
            wait = kill_after if kill_after is not None else timeout
            p.wait(timeout=max(0.0, wait - (time.perf_counter() - start)))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            killed = kill_after is not None
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return Ran(p.returncode, seconds, killed, out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"), marker_s)


# --------------------------------------------------------------------------- files

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(folder: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under folder (hidden ones too)."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            p = Path(dirpath) / name
            out[str(p.relative_to(folder))] = sha256_file(p)
    return out


def copy_library(src: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest)


def temp_leftovers(folder: Path) -> list[str]:
    """Files that look like an interrupted write: .photoface-*.part, .*.new, *.tmp, incoming-*."""
    found = []
    if not folder.exists():
        return found
    for dirpath, _, files in os.walk(folder):
        for name in files:
            if (name.startswith(".photoface-") or name.endswith(TEMP_MARKERS)
                    or name.startswith("incoming-")):
                found.append(str((Path(dirpath) / name).relative_to(folder)))
    return sorted(found)


def export_listing(dest: Path) -> dict[str, str | None]:
    """relative path -> sha256 for photos, None for other files (index, sidecars)."""
    out = {}
    for rel, _ in ((r, None) for r in _walk_rel(dest)):
        p = dest / rel
        out[rel] = sha256_file(p) if p.suffix.lower() in PHOTO_EXTS else None
    return out


def _walk_rel(folder: Path) -> list[str]:
    rels = []
    for dirpath, _, files in os.walk(folder):
        for name in files:
            rels.append(str((Path(dirpath) / name).relative_to(folder)))
    return sorted(rels)


# --------------------------------------------------------------------------- library state

@dataclass
class State:
    """What the library holds that the user decided, plus what a scan wrote."""

    persons: dict[int, tuple]            # id -> (name, hidden)
    faces: dict[int, tuple]              # id -> (photo_id, person_id, state)
    rejections: set
    not_same: set
    decisions: list[tuple]               # (id, at, action, undone): ids are reused after redo history goes
    photos: dict[int, str]               # id -> sha256
    locations: dict[bytes, tuple]        # path -> (photo_id, status)
    active_weights: str

    def decided(self) -> tuple:
        return (self.persons, {f: v[1:] for f, v in self.faces.items()}, self.rejections, self.not_same,
                self.decisions)


def read_state(lib_dir: Path) -> tuple[State, list[str]]:
    """Reopens the library as the app does and reads its state; also the storage problems."""
    from photoface.core.library.store import Library

    problems = []
    with Library(lib_dir) as lib:
        con = lib.con
        ic = lib.integrity_check()
        if ic != "ok":
            problems.append(f"integrity_check: {ic}")
        fk = con.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            problems.append(f"foreign_key_check: {fk[:5]}")
        dups = con.execute("SELECT photo_id, x, y, w, h, COUNT(*) FROM faces "
                           "GROUP BY photo_id, x, y, w, h HAVING COUNT(*) > 1").fetchall()
        if dups:
            problems.append(f"duplicate faces: {len(dups)} (first {dups[0]})")
        no_emb = con.execute("SELECT COUNT(*) FROM faces f WHERE NOT EXISTS "
                             "(SELECT 1 FROM embeddings e WHERE e.face_id = f.id)").fetchone()[0]
        if no_emb:
            problems.append(f"{no_emb} faces without an embedding")
        state = State(
            persons={i: (n, h) for i, n, h in con.execute("SELECT id, name, hidden FROM persons")},
            faces={i: (p, pe, s) for i, p, pe, s in con.execute("SELECT id, photo_id, person_id, state FROM faces")},
            rejections=set(con.execute("SELECT face_id, person_id FROM rejections").fetchall()),
            not_same=set(con.execute("SELECT a, b FROM not_same_person").fetchall()),
            decisions=[tuple(r) for r in con.execute("SELECT id, at, action, undone FROM decisions ORDER BY id")],
            photos=dict(con.execute("SELECT id, sha256 FROM photos").fetchall()),
            locations={p: (ph, s) for p, ph, s in con.execute("SELECT path, photo_id, status FROM locations")},
            active_weights=lib.get_setting("active_weights"))
    return state, problems


def _decision_json(lib_dir: Path, decision_id: int) -> tuple[dict, dict]:
    from photoface.core.library.store import Library

    with Library(lib_dir) as lib:
        before, after = lib.con.execute("SELECT before, after FROM decisions WHERE id = ?",
                                        (decision_id,)).fetchone()
    return json.loads(before), json.loads(after)


def _apply_snapshot(s: State, snap: dict) -> State:
    """S with the rows of a decision snapshot written over it (what undo/redo/_do leave)."""
    persons = dict(s.persons)
    faces = dict(s.faces)
    rejections, not_same = set(s.rejections), set(s.not_same)
    for pid, row in snap["persons"].items():
        if row is None:
            persons.pop(int(pid), None)
        else:
            persons[int(pid)] = (row[0], row[1])
    for fid, (person, st) in snap["faces"].items():
        photo = faces[int(fid)][0] if int(fid) in faces else None
        faces[int(fid)] = (photo, person, st)
    for f, p, present in snap["rejections"]:
        (rejections.add if present else rejections.discard)((f, p))
    for a, b, present in snap["not_same"]:
        (not_same.add if present else not_same.discard)((a, b))
    return State(persons, faces, rejections, not_same, s.decisions, s.photos, s.locations, s.active_weights)


def _snapshot_matches(s: State, snap: dict) -> list[str]:
    """Rows of a snapshot that differ from state s (the 'before' must be the acknowledged state)."""
    bad = []
    for pid, row in snap["persons"].items():
        have = s.persons.get(int(pid))
        want = None if row is None else (row[0], row[1])
        if have != want:
            bad.append(f"person {pid}: {have} != {want}")
    for fid, (person, st) in snap["faces"].items():
        have = s.faces.get(int(fid))
        if have is None or have[1:] != (person, st):
            bad.append(f"face {fid}: {have} != {(person, st)}")
    for f, p, present in snap["rejections"]:
        if ((f, p) in s.rejections) != present:
            bad.append(f"rejection {(f, p)} present={not present}")
    for a, b, present in snap["not_same"]:
        if ((a, b) in s.not_same) != present:
            bad.append(f"not-same {(a, b)} present={not present}")
    return bad


def review_outcome(lib_dir: Path, ack: State, now: State, command: str) -> tuple[bool, list[str]]:
    """Is `now` the acknowledged state, or it plus exactly one decision of `command`?

    Returns:
        (committed, problems).
    """
    if now.decided() == ack.decided():
        return False, []
    problems = []
    ack_ids = {d[:2]: d for d in ack.decisions}   # (id, at) names a decision row
    new = [d for d in now.decisions if d[:2] not in ack_ids]
    if command in ("undo", "redo"):
        flipped = [d for d in now.decisions if d[:2] in ack_ids and ack_ids[d[:2]][3] != d[3]]
        if new or len(flipped) != 1 or len(now.decisions) != len(ack.decisions):
            return True, [f"{command}: decision log changed unexpectedly: new {new}, flipped {flipped}"]
        did = flipped[0][0]
        candidates = [d for d in ack.decisions if d[3] == (0 if command == "undo" else 1)]
        want = max(candidates)[0] if command == "undo" else min(candidates)[0]
        if did != want:
            problems.append(f"{command} flipped decision {did}, expected {want}")
        before, after = _decision_json(lib_dir, did)
        expected = _apply_snapshot(ack, before if command == "undo" else after)
    else:
        kept = [d for d in ack.decisions if d[3] == 0]
        if len(new) != 1 or [d for d in now.decisions if d[:2] in ack_ids] != kept:
            return True, [f"{command}: decision log changed unexpectedly: new {new}, "
                          f"kept {len(kept)} of {len(ack.decisions)}"]
        if new[0][2] not in ACTION_OF.get(command, ()) or new[0][3] != 0:
            problems.append(f"new decision {new[0]} is not a {command}")
        before, after = _decision_json(lib_dir, new[0][0])
        problems += [f"decision {new[0][0]} 'before' is not the acknowledged state: {b}"
                     for b in _snapshot_matches(ack, before)[:3]]
        expected = _apply_snapshot(ack, after)
    exp = expected.decided()
    got = now.decided()
    for name, e, g in zip(("persons", "faces", "rejections", "not_same"), exp[:4], got[:4]):
        if e != g:
            if isinstance(e, dict):
                diff = sorted({k for k in set(e) | set(g) if e.get(k) != g.get(k)})[:5]
            else:
                diff = sorted(e ^ g)[:5]
            problems.append(f"{name} differ from acknowledged state + the {command} decision: {diff}")
    return True, problems


def decisions_kept(ack: State, now: State, faces_may_recluster: bool) -> list[str]:
    """Scan, export and fine-tune must keep every decision; a scan may only re-cluster
    undecided/suggested faces and add photos and faces."""
    problems = []
    if now.decisions != ack.decisions:
        problems.append("decision log changed")
    if now.rejections != ack.rejections:
        problems.append(f"rejections changed: {sorted(now.rejections ^ ack.rejections)[:5]}")
    if now.not_same != ack.not_same:
        problems.append("not-same pairs changed")
    if now.active_weights != ack.active_weights:
        problems.append(f"active model changed: {ack.active_weights} -> {now.active_weights}")
    lost_photos = set(ack.photos) - set(now.photos)
    if lost_photos:
        problems.append(f"{len(lost_photos)} photos lost")
    lost_faces = set(ack.faces) - set(now.faces)
    if lost_faces:
        problems.append(f"{len(lost_faces)} faces lost")
    for pid, (name, hidden) in ack.persons.items():
        if name is not None and now.persons.get(pid, (None,))[0] != name:
            problems.append(f"person {pid} lost its name {name!r}")
    for fid, (photo, person, st) in ack.faces.items():
        cur = now.faces.get(fid)
        if cur is None:
            continue
        if faces_may_recluster and st in ("undecided", "suggested"):
            continue
        if cur[1:] != (person, st):
            problems.append(f"face {fid}: {(person, st)} -> {cur[1:]}")
            if len(problems) > 8:
                break
    if not faces_may_recluster and now.decided() != ack.decided():
        problems.append("faces/persons changed by a command that must not change them")
    return problems


# --------------------------------------------------------------------------- the campaign

@dataclass
class Setup:
    work: Path
    photos: Path
    base: Path
    expected_inputs: dict[str, str]
    extra_photos: list[Path]
    ref_exports: dict[bool, dict]       # xmp? -> listing
    est: dict[str, float] = field(default_factory=dict)
    review_s: list[float] = field(default_factory=list)   # durations of acknowledged review commands
    model_id: str = ""                                     # the fine-tuned model `use-model` switches to


def _must(r: Ran, what: str) -> Ran:
    if r.rc != 0:
        sys.exit(f"setup failed: {what}: rc {r.rc}\n{r.err[-2000:]}")
    return r


def setup(work: Path, dataset: Path, extra_set: Path, rng: random.Random, steps: int) -> Setup:
    photos = work / "photos"
    shutil.copytree(dataset, photos)
    expected = manifest(photos)
    base = work / "base"
    r = _must(run(cli(base, "scan", str(photos))), "base scan")
    emit({"event": "setup", "step": "scan", "seconds": round(r.seconds, 1), "out": r.out.strip().splitlines()[:1]})
    people = json.loads(_must(run(cli(base, "people", "--json")), "people").out)
    persons = sorted(people["persons"], key=lambda p: -p["faces_count"])
    review_s: list[float] = []
    for k, p in enumerate(persons[:4]):
        r1 = _must(run(cli(base, "rename", str(p["id"]), f"Person {chr(65 + k)}")), "rename")
        faces = [str(f["id"]) for f in p["faces"][:10]]
        r2 = _must(run(cli(base, "confirm", *faces, "--person", str(p["id"]))), "confirm")
        review_s += [r1.seconds, r2.seconds]
    t_act = []
    for _ in range(2):
        r = _must(run(cli(base, "people")), "people")
        t_act.append(r.seconds)
    extra = sorted(p for p in extra_set.rglob("*") if p.suffix.lower() in PHOTO_EXTS)
    refs = {}
    t_exp = 0.0
    for xmp in (False, True):
        scratch = work / "scratch"
        copy_library(base, scratch)
        dest = work / f"ref-export-{'xmp' if xmp else 'plain'}"
        r = _must(run(cli(scratch, "export", str(dest), *(["--xmp"] if xmp else []))), "reference export")
        t_exp = max(t_exp, r.seconds)
        refs[xmp] = export_listing(dest)
    s = Setup(work, photos, base, expected, extra, refs, review_s=review_s)
    # Durations of the long commands, to draw kill delays inside them.
    copy_library(base, work / "scratch")
    r = _must(run(cli(work / "scratch", "finetune", "--steps", str(steps)), marker=MARKER["finetune"]), "finetune")
    emit({"event": "setup", "step": "finetune", "seconds": round(r.seconds, 1), "out": r.out.strip().splitlines()[-1:]})
    s.est["finetune"] = r.seconds
    s.est["finetune_work"] = r.seconds - (r.marker_s or 0.0)
    # A fine-tuned model kept in the base library (saved even if not offered): what `use-model` switches to.
    code = ("import sys; from photoface.core.library.store import Library; from photoface.core.learning.finetune import finetune; "
            "lib = Library(sys.argv[1]); r = finetune(lib, steps=int(sys.argv[2]), save_rejected=True, keep='last'); "
            "print(r.model_id)")
    r = _must(run([sys.executable, "-c", code, str(base), str(max(steps, 2))]), "fine-tuned model for activation")
    s.model_id = r.out.strip().splitlines()[-1]
    copy_library(base, work / "scratch")
    r = _must(run(cli(work / "scratch", "use-model", s.model_id), marker=MARKER["activate"]), "use-model")
    s.est["activate"] = r.seconds
    s.est["activate_work"] = r.seconds - (r.marker_s or 0.0)
    r = _must(run(cli(work / "scratch", "cluster", "--full")), "regroup")
    s.est["regroup"] = r.seconds
    undo = mutate_inputs(s, rng, 0)
    copy_library(base, work / "scratch")
    r = _must(run(cli(work / "scratch", "scan"), marker=MARKER["rescan"]), "rescan")
    undo()
    s.est["rescan"] = r.seconds
    s.est["rescan_work"] = r.seconds - (r.marker_s or 0.0)
    s.est["export"] = t_exp
    s.est["action"] = sum(t_act) / len(t_act)
    shutil.rmtree(work / "scratch")
    emit({"event": "setup", "step": "estimates", **{k: round(v, 2) for k, v in s.est.items()},
          "input_files": len(expected)})
    return s


def mutate_inputs(s: Setup, rng: random.Random, round_no: int):
    """Adds 6-20 photos, touches 2 and moves 1; returns the function that puts everything back.
    Updates s.expected_inputs, so the sha256 check compares with what the campaign did."""
    added_dir = s.photos / f"_added_{round_no}"
    added_dir.mkdir()
    for src in rng.sample(s.extra_photos, rng.randint(6, 20)):
        shutil.copy2(src, added_dir / src.name)
        s.expected_inputs[str((added_dir / src.name).relative_to(s.photos))] = sha256_file(src)
    originals = sorted(k for k in s.expected_inputs if not k.startswith("_"))
    touched = rng.sample(originals, 2)
    times = {}
    for rel in touched:
        st = os.stat(s.photos / rel)
        times[rel] = (st.st_atime_ns, st.st_mtime_ns)
        os.utime(s.photos / rel, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    moved = rng.choice([k for k in originals if k not in touched])
    moved_to = Path(f"_moved_{round_no}") / Path(moved).name
    (s.photos / moved_to).parent.mkdir()
    os.rename(s.photos / moved, s.photos / moved_to)
    s.expected_inputs[str(moved_to)] = s.expected_inputs.pop(moved)

    def undo() -> None:
        shutil.rmtree(added_dir)
        for rel in list(s.expected_inputs):
            if rel.startswith(f"_added_{round_no}/"):
                del s.expected_inputs[rel]
        os.rename(s.photos / moved_to, s.photos / moved)
        (s.photos / moved_to).parent.rmdir()
        s.expected_inputs[moved] = s.expected_inputs.pop(str(moved_to))
        for rel, ns in times.items():
            os.utime(s.photos / rel, ns=ns)

    return undo


def next_review_command(rng: random.Random, st: State, round_no: int, k: int) -> list[str]:
    """A random review action on the library's current persons and faces."""
    by_person: dict[int, list[int]] = {}
    for fid, (_, person, fstate) in st.faces.items():
        if person is not None and fstate != "not_face":
            by_person.setdefault(person, []).append(fid)
    persons = sorted(p for p in by_person if p in st.persons)
    unsorted = sorted(f for f, (_, p, s) in st.faces.items() if p is None and s != "not_face")
    has_undone = any(d[3] for d in st.decisions)
    options = [("rename", 3), ("confirm", 3), ("reject", 2), ("merge", 1), ("split", 1.5), ("move", 1.5),
               ("undo", 2), ("redo", 1 if has_undone else 0), ("hide", 0.5), ("not-same", 0.7),
               ("not-face", 0.5)]
    if len(persons) < 3:
        options = [o for o in options if o[0] not in ("merge", "not-same")]
    action = rng.choices([o[0] for o in options], [o[1] for o in options])[0]
    p = rng.choice(persons)
    faces = sorted(by_person[p])
    some = [str(f) for f in rng.sample(faces, min(len(faces), rng.randint(1, 4)))]
    if action == "rename":
        named = [n for n, _ in st.persons.values() if n]
        name = rng.choice(named) if named and rng.random() < 0.1 else f"Name {round_no}-{k}"
        return ["rename", str(p), name]
    if action in ("confirm", "reject"):
        return [action, *some, "--person", str(p)]
    if action == "merge":
        a, b = rng.sample([q for q in persons if q != p], 2)
        return ["merge", str(a), str(b), "--into", str(p)]
    if action == "split":
        return ["split", *some, *(["--name", f"Split {round_no}-{k}"] if rng.random() < 0.5 else [])]
    if action == "move":
        src = [str(f) for f in (unsorted[:3] if unsorted and rng.random() < 0.5 else some)]
        to = rng.choice([q for q in persons if q != p] or [p])
        return ["move", *src, "--to", str(to)]
    if action in ("undo", "redo"):
        return [action]
    if action == "hide":
        return ["hide", str(p), *(["--unhide"] if rng.random() < 0.3 else [])]
    if action == "not-same":
        a, b = rng.sample(persons, 2)
        return ["not-same", str(a), str(b)]
    return ["not-face", some[0]]


@dataclass
class Kill:
    """The record of one kill (one JSON line)."""

    kill: int
    kind: str
    command: list[str]
    delay_s: float
    acknowledged_before: int
    after_marker: bool = False          # delay counted from the start of the real work
    ran_s: float = 0.0                  # how long the killed process ran
    temp_files_after_kill: int = 0      # interrupted writes the kill left (the re-run must clear them)
    committed: bool | None = None
    rerun_rc: int | None = None
    rerun_s: float | None = None
    problems_after_kill: list[str] = field(default_factory=list)
    problems_after_rerun: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def recovered(self) -> bool:
        return not self.problems_after_kill and not self.problems_after_rerun


def inputs_problems(s: Setup) -> list[str]:
    now = manifest(s.photos)
    if now == s.expected_inputs:
        return []
    changed = sorted(k for k in set(now) | set(s.expected_inputs) if now.get(k) != s.expected_inputs.get(k))
    return [f"input files changed: {changed[:5]}"]


def kill_round(s: Setup, rng: random.Random, kind: str, kill_no: int, steps: int) -> Kill:
    t0 = time.perf_counter()
    lib = s.work / "round"
    copy_library(s.base, lib)
    dest = s.work / "round-export"
    if dest.exists():
        shutil.rmtree(dest)
    undo_inputs = mutate_inputs(s, rng, kill_no) if kind == "rescan" else None
    try:
        return _kill_round(s, rng, kind, kill_no, steps, lib, dest, t0)
    finally:
        if undo_inputs is not None:
            undo_inputs()


def _kill_round(s: Setup, rng, kind, kill_no, steps, lib: Path, dest: Path, t0: float) -> Kill:
    ack, problems = read_state(lib)
    acknowledged = 0
    xmp = rng.random() < 0.5
    if kind == "export" and rng.random() < 0.3:
        shutil.copytree(s.work / f"ref-export-{'xmp' if xmp else 'plain'}", dest)  # re-export over a complete one
    if kind == "review":
        people = run(cli(lib, "people", "--json"))  # the ids a user (or script) would act on
        if people.rc != 0:
            problems.append(f"people --json failed: {people.err[-300:]}")
    victim_after = rng.randint(0, 5) if kind == "review" else 0
    k = 0
    last_run_s = None
    while True:
        k += 1
        if kind == "review":
            args = next_review_command(rng, ack, kill_no, k)
            est = sorted(s.review_s)[len(s.review_s) // 2]  # median: the commit is in its last ~50 ms
        elif kind == "export":
            args = ["export", str(dest), *(["--xmp"] if xmp else [])]
            est = s.est["export"]
        elif kind == "rescan":
            args = ["scan"]
            est = s.est["rescan"]
        elif kind == "regroup":
            args = ["cluster", "--full"]
            est = s.est["regroup"]
        elif kind == "activate":
            args = ["use-model", s.model_id if ack.active_weights == "shipped" else "shipped"]
            est = s.est["activate"]
        else:
            args = ["finetune", "--steps", str(steps)]
            est = s.est["finetune"]
        if kind != "review" and last_run_s is not None:
            est = last_run_s * 0.95  # it ran to the end once: kill the re-run inside its own length
        is_victim = k > victim_after
        delay = rng.uniform(0.3 * est, 1.1 * est) if is_victim else None
        marker = None
        if is_victim and kind in MARKER and last_run_s is None and rng.random() < 0.6:
            # most kills of a long command land in its work (batches being committed, training),
            # the others anywhere from the start (TensorFlow start-up included)
            marker = MARKER[kind]
            delay = rng.uniform(0.0, s.est[f"{kind}_work"] * 1.1)
        r = run(cli(lib, *args), kill_after=delay, marker=marker)
        last_run_s = r.seconds
        if kind == "review" and not r.killed and r.rc == 0:
            s.review_s = (s.review_s + [r.seconds])[-50:]
        if r.killed:
            break
        if r.rc == 0:
            acknowledged += 1
            ack, more = read_state(lib)
            problems += more
        elif kind != "review" or r.rc != 1:
            problems.append(f"{args[0]} failed without a kill: rc {r.rc}: {r.err.strip()[-300:]}")
        if k > 40:
            problems.append("no command could be killed in 40 tries")
            return Kill(kill_no, kind, args, -1.0, acknowledged, problems_after_kill=problems)
        if kind != "review":
            # a long command finished before its kill: acknowledged; kill the next run of it
            if kind == "export":
                problems += _export_final_problems(s, dest, xmp)
    rec = Kill(kill_no, kind, args, round(delay, 3), acknowledged, problems_after_kill=problems,
               after_marker=marker is not None, ran_s=round(r.seconds, 2))
    rec.temp_files_after_kill = len(temp_leftovers(dest)) + len(temp_leftovers(lib / "models"))

    # --- after the kill
    now, storage = read_state(lib)
    rec.problems_after_kill += storage + inputs_problems(s)
    if kind in LOGGED_KINDS:
        rec.committed, more = review_outcome(lib, ack, now, args[0])
        rec.problems_after_kill += more
        if kind == "activate":
            want = args[1] if rec.committed else ack.active_weights
            if now.active_weights != want:
                rec.problems_after_kill.append(f"active model {now.active_weights}, expected {want}")
    else:
        rec.committed = now.decided() != ack.decided() or now.photos != ack.photos
        rec.problems_after_kill += decisions_kept(ack, now, faces_may_recluster=kind == "rescan")
    if kind == "export":
        rec.problems_after_kill += _export_partial_problems(s, dest, xmp)

    # --- the re-run
    r = run(cli(lib, *args))
    rec.rerun_rc, rec.rerun_s = r.rc, round(r.seconds, 2)
    if r.rc != 0 and not (kind == "review" and rec.committed and r.rc == 1 and r.err.startswith("photoface:")):
        if not (kind == "review" and r.rc == 1 and "taken" in r.err):
            rec.problems_after_rerun.append(f"re-run failed: rc {r.rc}: {r.err.strip()[-300:]}")
    final, storage = read_state(lib)
    rec.problems_after_rerun += storage + inputs_problems(s)
    if kind in LOGGED_KINDS and not rec.committed and r.rc == 0:
        _, more = review_outcome(lib, ack, final, args[0])
        rec.problems_after_rerun += more
    if kind == "activate" and final.active_weights != args[1]:
        rec.problems_after_rerun.append(f"after the re-run the active model is {final.active_weights}, not {args[1]}")
    if kind in ("export", "finetune"):
        rec.problems_after_rerun += decisions_kept(ack, final, faces_may_recluster=False)
    if kind == "rescan":
        rec.problems_after_rerun += decisions_kept(ack, final, faces_may_recluster=True)
        rec.problems_after_rerun += _scan_complete_problems(s, final)
    if kind == "export":
        rec.problems_after_rerun += _export_final_problems(s, dest, xmp)
    if kind == "finetune":
        left = temp_leftovers(lib / "models")
        if left:
            size = sum((lib / "models" / p).stat().st_size for p in left) / 1e6
            rec.problems_after_rerun.append(f"temporary files left in models/: {left} ({size:.0f} MB)")
    rec.seconds = round(time.perf_counter() - t0, 2)
    return rec


def _scan_complete_problems(s: Setup, st: State) -> list[str]:
    problems = []
    for rel in s.expected_inputs:
        if Path(rel).suffix.lower() not in PHOTO_EXTS:
            continue
        path = os.fsencode(str(s.photos / rel))
        loc = st.locations.get(path)
        if loc is None or loc[1] != "ok" or loc[0] is None:
            problems.append(f"{rel} not recorded after the re-run: {loc}")
    shas = set(st.photos.values())
    missing = {v for k, v in s.expected_inputs.items() if Path(k).suffix.lower() in PHOTO_EXTS} - shas
    if missing:
        problems.append(f"{len(missing)} input photos have no photo row")
    return problems[:8]


def _export_partial_problems(s: Setup, dest: Path, xmp: bool) -> list[str]:
    """After a kill: temporary files may be there, but no file under a final name may be partial."""
    ref = s.ref_exports[xmp]
    problems = []
    for rel, sha in export_listing(dest).items():
        name = Path(rel).name
        if name.startswith(".") or name.endswith(TEMP_MARKERS):
            continue
        if rel not in ref:
            problems.append(f"unexpected file {rel} in the export")
        elif sha is not None and sha != ref[rel]:
            problems.append(f"partial or wrong file under its final name: {rel}")
    return problems[:8]


def _export_final_problems(s: Setup, dest: Path, xmp: bool) -> list[str]:
    problems = []
    left = temp_leftovers(dest)
    if left:
        problems.append(f"temporary files left in the export: {left[:5]}")
    got, ref = export_listing(dest), s.ref_exports[xmp]
    got = {k: v for k, v in got.items() if k not in left}
    if got != ref:
        diff = sorted(k for k in set(got) | set(ref) if got.get(k) != ref.get(k))
        problems.append(f"export differs from the reference export: {diff[:5]}")
    return problems


def plan_kinds(n: int, est: dict, seconds_left: float, rng: random.Random) -> list[str]:
    """How many kills of each kind fit the time left (slow kinds shrink first), shuffled."""
    per_round = {"review": 4 * est["action"] + 2.0, "export": 1.8 * est["export"] + 2.0,
                 "rescan": 1.7 * est["rescan"] + 3.0, "finetune": 1.7 * est["finetune"] + 2.0,
                 "regroup": 1.8 * est["regroup"] + 2.0, "activate": 1.7 * est["activate"] + 2.0}
    counts = {"finetune": round(n * 0.06), "rescan": round(n * 0.12), "export": round(n * 0.15),
              "regroup": round(n * 0.1), "activate": round(n * 0.08)}
    counts["review"] = n - sum(counts.values())

    def cost() -> float:
        return sum(per_round[k] * c for k, c in counts.items())

    for kind, floor in (("finetune", 2), ("activate", 3), ("rescan", 4), ("regroup", 4), ("export", 5)):
        while cost() > seconds_left * 0.9 and counts[kind] > min(floor, n // 10):
            counts[kind] -= 1
            counts["review"] += 1
    kinds = [k for k in KINDS for _ in range(counts[k])]
    rng.shuffle(kinds)
    emit({"event": "plan", "counts": counts, "estimated_s": round(cost()), "seconds_left": round(seconds_left),
          "seconds_per_round": {k: round(v, 1) for k, v in per_round.items()}})
    return kinds


def main() -> int:
    ap = argparse.ArgumentParser(description="SIGKILL photoface at random moments; check nothing is lost.")
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=30.0, help="whole run, setup included")
    ap.add_argument("--set", default="lfw_subset")
    ap.add_argument("--extra-set", default="five_celebrity_faces", help="photos added in re-scan rounds")
    ap.add_argument("--steps", type=int, default=3, help="fine-tuning steps per run")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()

    started = time.perf_counter()
    deadline = started + args.minutes * 60
    rng = random.Random(args.seed)
    dataset, extra = datasets_root() / args.set, datasets_root() / args.extra_set
    for d in (dataset, extra):
        if not d.is_dir():
            sys.exit(f"dataset {d} not found (set PHOTOFACE_DATASETS)")
    work = Path(tempfile.mkdtemp(prefix="photoface-crash-"))
    emit({"event": "start", "kills": args.kills, "seed": args.seed, "minutes": args.minutes, "work": str(work)})
    records: list[Kill] = []
    try:
        s = setup(work, dataset, extra, rng, args.steps)
        kinds = plan_kinds(args.kills, s.est, deadline - time.perf_counter(), rng)
        for i, kind in enumerate(kinds, 1):
            if time.perf_counter() > deadline:
                emit({"event": "out_of_time", "kills_done": i - 1})
                break
            try:
                rec = kill_round(s, rng, kind, i, args.steps)
            except Exception as exc:  # the campaign itself must report, not stop
                rec = Kill(i, kind, [], -1.0, 0, problems_after_kill=[f"campaign error: {exc!r}"])
            records.append(rec)
            line = {"event": "kill", **{k: v for k, v in rec.__dict__.items()}, "recovered": rec.recovered}
            emit(line)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    recovered = sum(r.recovered for r in records)
    by_kind = {k: {"kills": sum(r.kind == k for r in records),
                   "recovered": sum(r.kind == k and r.recovered for r in records),
                   "committed_before_kill": sum(r.kind == k and bool(r.committed) for r in records),
                   "killed_in_work_phase": sum(r.kind == k and r.after_marker for r in records),
                   "left_temp_files": sum(r.kind == k and r.temp_files_after_kill > 0 for r in records)}
               for k in KINDS}
    emit({"event": "summary", "kills": len(records), "recovered": recovered, "by_kind": by_kind,
          "seconds": round(time.perf_counter() - started, 1), "seed": args.seed,
          "failures": [{"kill": r.kill, "kind": r.kind, "command": r.command,
                        "problems": r.problems_after_kill + r.problems_after_rerun}
                       for r in records if not r.recovered]})
    print(f"{recovered} of {len(records)} kills recovered"
          + (f" ({args.kills} planned)" if len(records) != args.kills else ""))
    return 0 if recovered == len(records) == args.kills else 1


if __name__ == "__main__":
    sys.exit(main())
