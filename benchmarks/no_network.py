"""Does photoface talk to the network? Scan, cluster and fine-tune under `strace -f`.

Runs the CLI in subprocesses under `strace -f -e trace=network` and lists every socket() and
connect() any thread or child made. Passing means no connect() to an AF_INET/AF_INET6 address
(AF_UNIX sockets are local). With `--unshare` the same commands also run in a new network
namespace that has no interface but a down loopback (`unshare -n`, root only), which proves they
need no network at all.

    .venv/bin/python benchmarks/no_network.py [--photos-per-person 8] [--steps 2] [--unshare]

Prints one JSON line per command: seconds, exit code, socket families created, connects.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import REPO_ROOT, datasets_root, emit  # noqa: E402

_SOCKET = re.compile(r"socket\((AF_\w+|PF_\w+|\d+)")
_CONNECT = re.compile(r"connect\(\d+, \{sa_family=(AF_\w+)([^}]*)\}")


def parse_strace(text: str) -> dict:
    """Socket families created and connect() targets in an strace -f -e trace=network log."""
    sockets = Counter(m.group(1) for m in _SOCKET.finditer(text))
    connects = [f"{m.group(1)}{m.group(2)}".strip() for m in _CONNECT.finditer(text)]
    remote = [c for c in connects if c.startswith(("AF_INET", "AF_INET6"))]
    return {"sockets": dict(sockets), "connects": connects[:20], "inet_connects": remote}


def traced(cmd: list[str], log: Path, prefix: list[str] = ()) -> dict:
    """Runs cmd under strace; returns rc, seconds and what parse_strace found."""
    import time

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO_ROOT))
    t0 = time.perf_counter()
    p = subprocess.run([*prefix, "strace", "-f", "-qq", "-e", "trace=network", "-o", str(log), *cmd],
                       capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    out = {"rc": p.returncode, "seconds": round(time.perf_counter() - t0, 1)}
    if p.returncode != 0:
        out["stderr"] = p.stderr.strip()[-600:]
    out.update(parse_strace(log.read_text(errors="replace") if log.exists() else ""))
    return out


def pf(lib: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "photoface", "--library", str(lib), *args]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="five_celebrity_faces")
    ap.add_argument("--persons", type=int, default=3)
    ap.add_argument("--photos-per-person", type=int, default=8)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--unshare", action="store_true", help="also run in a network namespace (root)")
    args = ap.parse_args()
    if shutil.which("strace") is None:
        sys.exit("strace not installed (apt-get install strace)")
    src = datasets_root() / args.set
    if not src.is_dir():
        sys.exit(f"dataset {src} not found (set PHOTOFACE_DATASETS)")
    bad = 0
    with tempfile.TemporaryDirectory(prefix="photoface-nonet-") as tmp:
        photos, lib = Path(tmp) / "photos", Path(tmp) / "lib"
        for person in sorted(p for p in src.iterdir() if p.is_dir())[:args.persons]:
            (photos / person.name).mkdir(parents=True)
            for f in sorted(person.glob("*.jpg"))[:args.photos_per_person]:
                shutil.copy2(f, photos / person.name / f.name)
        steps = [("scan", pf(lib, "scan", "--no-cluster", str(photos))), ("cluster", pf(lib, "cluster", "--full"))]
        for name, cmd in steps:
            res = traced(cmd, Path(tmp) / f"{name}.strace")
            emit({"command": name, **res})
            bad += bool(res["inet_connects"]) or res["rc"] != 0
        # confirm every face of each person folder's biggest album, so fine-tuning has data
        people = json.loads(subprocess.run(pf(lib, "people", "--json"), capture_output=True, text=True,
                                           cwd=REPO_ROOT).stdout)
        for p in people["persons"]:
            ids = [str(f["id"]) for f in p["faces"]]
            if len(ids) >= 2:
                subprocess.run(pf(lib, "confirm", *ids, "--person", str(p["id"])), capture_output=True,
                               cwd=REPO_ROOT, check=True)
        res = traced(pf(lib, "finetune", "--steps", str(args.steps)), Path(tmp) / "finetune.strace")
        emit({"command": "finetune", **res})
        bad += bool(res["inet_connects"]) or res["rc"] != 0
        if args.unshare:
            if shutil.which("unshare") is None or os.geteuid() != 0:
                emit({"command": "unshare", "skipped": "needs root and unshare"})
            else:
                for name, cmd in (("scan (unshare -n)", pf(Path(tmp) / "lib-ns", "scan", str(photos))),
                                  ("finetune (unshare -n)", pf(lib, "finetune", "--steps", str(args.steps)))):
                    res = traced(cmd, Path(tmp) / "ns.strace", prefix=["unshare", "-n"])
                    emit({"command": name, **res})
                    bad += res["rc"] != 0
    print(f"no network: {'PASS' if not bad else 'FAIL'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
