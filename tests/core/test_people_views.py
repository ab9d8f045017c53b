"""The People screens' reads on real scanned libraries: photos together (all / any / only) and
the best-match hint of unsorted faces."""

from __future__ import annotations

import collections
import os

import pytest

from photoface.core.albums.hints import best_matches, match_threshold
from photoface.core.albums.review import Review
from photoface.core.library.people import list_people, person_faces, photo_faces, shared_photos, unsorted_faces
from photoface.core.library.store import Library

pytestmark = pytest.mark.model

SHOWN = ("confirmed", "accepted", "suggested")


def _identity(face) -> str:
    return os.path.basename(os.path.dirname(face.path))


def _persons_in(lib: Library, photo_id: int) -> set[int]:
    """Recognised persons of a photo, read face by face (not by the query under test)."""
    return {f.person_id for f in photo_faces(lib, photo_id) if f.state in SHOWN and f.person_id is not None}


def _by_date(rows) -> bool:
    keys = [(taken is None, taken or "", pid) for pid, taken, _ in rows]
    return keys == sorted(keys)


def test_photos_together_all_any_only(clustered_copy):
    with Library(clustered_copy("sports_celebrities")) as lib:
        people = [p.id for p in list_people(lib)]
        photos = {p: {f.photo_id for f in person_faces(lib, p)} for p in people}
        # The two persons seen together most often: sports_celebrities has team and match photos.
        a, b = max(((a, b) for a in people for b in people if a < b),
                   key=lambda ab: len(photos[ab[0]] & photos[ab[1]]))
        assert photos[a] & photos[b], "the set has photos of two recognised persons together"
        rows = {m: shared_photos(lib, [a, b], m) for m in ("all", "any", "only")}
        got = {m: {pid for pid, _, _ in r} for m, r in rows.items()}
        assert got["all"] == photos[a] & photos[b]
        assert got["any"] == photos[a] | photos[b]
        assert got["only"] == {p for p in got["all"] if _persons_in(lib, p) == {a, b}}
        for m, r in rows.items():
            assert len(r) == len(got[m]), f"{m}: a photo listed twice"
            assert _by_date(r), f"{m}: not by date taken, unknown last"
            assert all(path and os.path.isfile(path) for _, _, path in r)
        # One person alone: "only" leaves out exactly the photos someone else is recognised in.
        crowded = max(people, key=lambda p: sum(len(_persons_in(lib, x)) > 1 for x in photos[p]))
        alone = {pid for pid, _, _ in shared_photos(lib, [crowded], "only")}
        assert alone == {p for p in photos[crowded] if _persons_in(lib, p) == {crowded}}
        assert alone < photos[crowded], "the most crowded person has photos with others"
        assert {pid for pid, _, _ in shared_photos(lib, [crowded])} == photos[crowded]
        with pytest.raises(ValueError):
            shared_photos(lib, [a], "some")
        assert shared_photos(lib, [], "any") == []


def test_unsorted_faces_hint_the_named_person_they_resemble(clustered_copy):
    with Library(clustered_copy("five_celebrity_faces")) as lib:
        review = Review(lib)
        people = list_people(lib)
        for p in people:  # name each album after the identity most of its faces have
            faces = person_faces(lib, p.id)
            review.rename(p.id, collections.Counter(map(_identity, faces)).most_common(1)[0][0])
        # One person forgotten: their faces go to Unsorted (no rejection), and five of them
        # come back as a new person of the same name, the reference the others are hinted to.
        gone = people[0]
        faces = person_faces(lib, gone.id)
        identity = collections.Counter(map(_identity, faces)).most_common(1)[0][0]
        review.forget_person(gone.id)
        review.split([f.id for f in faces[:5]], identity)
        rest = {f.id: _identity(f) for f in faces[5:]}
        in_unsorted = {f.id for f in unsorted_faces(lib)}
        assert set(rest) <= in_unsorted
        hints = best_matches(lib, list(rest))
        right = sum(h.name == rest[fid] for fid, h in hints.items())
        assert right >= 0.8 * len(rest), (right, len(rest), hints)
        assert right >= len(hints) - 1, "a hint names someone else"
        assert all(h.distance < match_threshold(lib) for h in hints.values())
        # A face is never hinted to the person it was taken out of, nor to its own person.
        some = next(iter(hints))
        review.reject([some], hints[some].person_id)
        after = best_matches(lib, [some]).get(some)
        assert after is None or after.person_id != hints[some].person_id
        held = person_faces(lib, people[1].id)[0]
        own = best_matches(lib, [held.id]).get(held.id)
        assert own is None or own.person_id != held.person_id
        assert best_matches(lib, []) == {}


def test_no_hint_for_a_bystander_or_a_face_between_two_people(clustered_copy, monkeypatch):
    """A hint names someone only when the next person is clearly farther, and a face in the
    background of its photo gets none: a wrong name on a stranger misleads more than none."""
    import photoface.core.albums.hints as hints_mod

    with Library(clustered_copy("five_celebrity_faces")) as lib:
        review = Review(lib)
        people = list_people(lib)
        for p in people:
            faces = person_faces(lib, p.id)
            review.rename(p.id, collections.Counter(map(_identity, faces)).most_common(1)[0][0])
        gone = people[0]
        faces = person_faces(lib, gone.id)
        review.forget_person(gone.id)
        review.split([f.id for f in faces[:5]], _identity(faces[0]))
        rest = [f.id for f in faces[5:]]
        hinted = best_matches(lib, rest)
        assert hinted, "the forgotten person's faces are hinted back"
        some = next(iter(hinted))
        with lib.transaction() as con:
            con.execute("UPDATE faces SET background = 1 WHERE id = ?", (some,))
        assert some not in best_matches(lib, rest)
        assert set(best_matches(lib, rest)) == set(hinted) - {some}
        # Every hinted face has a runner-up among the named persons; no margin holds at 100x.
        monkeypatch.setattr(hints_mod, "MARGIN", 100.0)
        assert best_matches(lib, rest) == {}
