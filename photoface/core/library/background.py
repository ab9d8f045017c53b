"""Background faces ("bystanders"): faces much smaller or blurrier than the main faces of their
photo, or cut by its edge while another face is not. One definition, in SQL, per photo.

A background face seeds no album and joins a named person only on strong evidence
(core/albums/engine.py); Unsorted lists it last, and the user may dismiss the background faces of
a view at once ("not interesting", `faces.dismissed`, which is not "not a face").

The rules compare a face with the other faces of its own photo, so a photo's only face is never
background: a tight portrait cut by the frame is the subject, not a bystander. Manual faces (drawn
by the user) are never background, nor are they the yardstick of the others. Faces marked "not a
face" are not the yardstick either: a large false detection must not push the real faces back.
The thresholds were chosen on the shared datasets (benchmarks/background.py): they mark many of
the faces that are not their photo's labelled subject and very few that are.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Iterable

#: A face whose longer side is below this fraction of the photo's largest face's is background.
SIZE_RATIO = 0.6
#: A face at least this fraction of the largest face's size is a main face: blurred or cut by the
#: frame, it is the photographer's subject (a close-up, a moving child), not a bystander. Without
#: this, the blur and edge rules marked 14 labelled subjects of the shared sets; with it, 2.
MAIN_FACE_RATIO = 0.8
#: A face whose sharpness is below this fraction of the photo's sharpest face's is background
#: (both known; sharpness is the variance of the Laplacian of the 160x160 aligned crop, so faces of
#: one photo compare on the same scale whatever their size).
SHARPNESS_RATIO = 0.25
#: A box within this fraction of the photo's width (height) of a side is cut by the edge.
EDGE_MARGIN = 0.02

#: The faces of a photo that serve as the yardstick, and may themselves be background.
_CANDIDATE = "f.source = 'detector' AND f.state != 'not_face'"


def _rules_sql(photo_filter: str) -> str:
    """SELECT face id, size rule, sharpness rule, edge rule (0/1 each) of the candidate faces of
    the photos `photo_filter` (an SQL condition on ph) selects; parameters: size ratio, sharpness
    ratio, edge margin, main face ratio (named)."""
    return f"""
    WITH c AS (
        SELECT f.id, f.photo_id, MAX(f.w, f.h) AS side, f.sharpness,
               (f.x <= :edge * ph.width OR f.y <= :edge * ph.height
                OR f.x + f.w >= (1 - :edge) * ph.width OR f.y + f.h >= (1 - :edge) * ph.height) AS cut
        FROM faces f JOIN photos ph ON ph.id = f.photo_id
        WHERE {_CANDIDATE} AND ({photo_filter})
    ), p AS (
        SELECT photo_id, COUNT(*) AS n, MAX(side) AS max_side, MAX(sharpness) AS max_sharp,
               SUM(NOT cut) AS uncut
        FROM c GROUP BY photo_id
    )
    SELECT c.id,
           p.n > 1 AND c.side < :size * p.max_side,
           p.n > 1 AND c.side < :main * p.max_side AND c.sharpness IS NOT NULL
                   AND p.max_sharp IS NOT NULL AND c.sharpness < :sharp * p.max_sharp,
           p.n > 1 AND c.side < :main * p.max_side AND c.cut AND p.uncut > 0
    FROM c JOIN p ON p.photo_id = c.photo_id
    ORDER BY c.id"""


def rule_marks(con: sqlite3.Connection, size_ratio: float = SIZE_RATIO,
               sharpness_ratio: float = SHARPNESS_RATIO,
               edge_margin: float = EDGE_MARGIN,
               main_face_ratio: float = MAIN_FACE_RATIO) -> list[tuple[int, bool, bool, bool]]:
    """(face id, small, blurry, cut) of every candidate face: which rule marks it (for measuring)."""
    rows = con.execute(_rules_sql("1"), {"size": size_ratio, "sharp": sharpness_ratio, "edge": edge_margin,
                                         "main": main_face_ratio})
    return [(i, bool(a), bool(b), bool(c)) for i, a, b, c in rows]


def mark_background(con: sqlite3.Connection, photo_ids: Iterable[int] | None = None) -> int:
    """Sets `faces.background` of the faces of these photos (default: all) from the rules, inside
    the caller's transaction. Manual faces and "not a face" are never background.

    Returns:
        How many of those faces are background.
    """
    params = {"size": SIZE_RATIO, "sharp": SHARPNESS_RATIO, "edge": EDGE_MARGIN, "main": MAIN_FACE_RATIO}
    if photo_ids is None:
        where = "1"
    else:
        photo_ids = [int(p) for p in photo_ids]
        if not photo_ids:
            return 0
        where = "ph.id IN (SELECT value FROM json_each(:photos))"
        params["photos"] = json.dumps(photo_ids)
    marked = [i for i, small, blurry, cut in con.execute(_rules_sql(where), params) if small or blurry or cut]
    scope = "1" if photo_ids is None else "photo_id IN (SELECT value FROM json_each(:photos))"
    con.execute(f"UPDATE faces SET background = 0 WHERE {scope}", params)
    con.executemany("UPDATE faces SET background = 1 WHERE id = ?", ((i,) for i in marked))
    return len(marked)
