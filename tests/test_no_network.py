"""Photos stay on this computer: scanning and clustering open no network connection.

`python -m photoface scan` (3 photos) and `cluster` run under `strace -f -e trace=network`; no
thread or child may connect() to an AF_INET/AF_INET6 address. (benchmarks/no_network.py does
the same for fine-tuning, which is too slow for the test suite.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
_CONNECT = re.compile(r"connect\(\d+, \{sa_family=(AF_\w+)([^}]*)\}")


def _strace_works() -> str | None:
    if shutil.which("strace") is None:
        return "strace is not installed"
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=network", "-o", os.devnull, "true"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return f"strace cannot trace here (ptrace not permitted?): {p.stderr.strip()[:200]}"
    return None


def _traced(args: list[str], log: Path) -> tuple[subprocess.CompletedProcess, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO_ROOT))
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=network", "-o", str(log),
                        sys.executable, "-m", "photoface", *args],
                       capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=600)
    return p, log.read_text(errors="replace")


def test_scan_and_cluster_open_no_network_connection(datasets_dir, tmp_path):
    why = _strace_works()
    if why:
        pytest.skip(why)
    src = datasets_dir / "lfw_subset"
    if not src.is_dir():
        pytest.skip(f"lfw_subset not found under {datasets_dir}")
    photos = tmp_path / "photos"
    photos.mkdir()
    for person in sorted(p for p in src.iterdir() if p.is_dir())[:3]:
        first = sorted(person.glob("*.jpg"))[0]
        shutil.copy2(first, photos / first.name)
    lib = str(tmp_path / "lib")
    for args in (["scan", "--no-cluster", str(photos)], ["cluster", "--full"]):
        p, log = _traced(["--library", lib, *args], tmp_path / f"{args[0]}.strace")
        assert p.returncode == 0, p.stderr[-2000:]
        connects = [m.group(0) for m in _CONNECT.finditer(log)]
        inet = [c for c in connects if re.search(r"sa_family=AF_INET6?\b", c)]
        assert not inet, f"{args[0]} connected to the network: {inet[:5]}"
        # `import tensorflow` imports requests -> urllib3, whose import probes IPv6 with
        # socket(AF_INET6) + bind(("::1", 0)) and closes it: loopback, no traffic. Anything
        # more (listen, send, a non-loopback bind) is a finding.
        for line in log.splitlines():
            if re.search(r"\b(listen|sendto|sendmsg|sendmmsg|accept4?)\(", line) and "AF_UNIX" not in line:
                assert " = -1 " in line or "AF_NETLINK" in line, f"{args[0]}: {line}"
            if re.search(r"\bbind\(\d+, \{sa_family=AF_INET", line):
                assert '"::1"' in line or '"127.0.0.1"' in line, f"{args[0]} bound a non-loopback address: {line}"
