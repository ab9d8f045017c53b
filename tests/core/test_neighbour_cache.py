"""The cached neighbour lists across runs, at the edges: a library of one face, then two."""

from __future__ import annotations

import numpy as np

from photoface.core.albums import neighbour_cache
from photoface.core.library.store import Library


def _unit(rows: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(rows, 512)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_a_library_of_one_face_regroups_again_and_grows(tmp_path):
    # Found by packaging/smoke.sh: the window's second grouping of a one-face library raised
    # "cannot reshape array of size 0" on the cached lists, which have no column then.
    x = _unit(3, seed=1)
    with Library(tmp_path / "lib") as lib:
        for _ in range(2):
            idx, dist, changed, _ = neighbour_cache.neighbours(lib, "m", np.array([7]), x[:1], k=5, rescale=False)
            assert idx.shape == (1, 0) and dist.shape == (1, 0)
        idx, dist, changed, _ = neighbour_cache.neighbours(lib, "m", np.array([7, 9]), x[:2], k=5, rescale=False)
        assert idx.tolist() == [[1], [0]]
        assert sorted(changed.tolist()) == [0, 1]
