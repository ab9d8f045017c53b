"""The user's corrections: each one transaction and one entry in the decision log, undoable.

Every action records, in the decision log (`library/decisions.py`), the rows it touched as they
were before and after, so undo and redo are exact and survive restarts. This module says what
each action means; the SQL it runs is in `library/` (persons, face_states, decisions).

What each action leaves behind (the constraints clustering must respect). "Accepted" faces are
the ones the user saw in a person's album and kept there: held like confirmed faces (no regroup,
incremental run, model switch or re-scan moves one), shown as not individually confirmed.

| action                          | what it leaves                                                   |
|---------------------------------|------------------------------------------------------------------|
| name (or rename) P              | P's suggested faces accepted for P                               |
| merge P into Q                  | every face then shown in P and Q accepted (or confirmed) for Q;  |
| (menu, drag, rename onto a      | P's rejections and "not the same" pairs apply to Q               |
| taken name, "Same person?" yes) |                                                                  |
| hide P                          | P's suggested faces accepted for P (they stay with it, hidden)   |
| confirm faces for P             | confirmed for P (must-link)                                      |
| reject faces from P             | cannot-link to P; the faces become undecided                     |
| move faces to P                 | confirmed for P, rejected from the person they left              |
| split into new P                | confirmed for P, rejected from the old person                    |
| not a face                      | the face leaves every album and clustering                       |
| dismiss background faces        | "not interesting": still a face, but in no album, view or        |
|                                 | clustering until restored (not the not_face state)               |
| restore dismissed faces         | undecided again: the next grouping places them                   |
| "Same person?" no (P, Q)        | P and Q are never suggested as one person again                  |
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

from photoface.core.errors import PhotofaceError
from photoface.core.library import decisions, face_states, persons
from photoface.core.library.decisions import Touched, record_decision
from photoface.core.library.store import Library
from photoface.core.text import plural


class ReviewError(PhotofaceError):
    """An action that cannot be done as asked (unknown person, nothing to undo, …)."""


class NameTaken(ReviewError):
    """Renaming to a name another person has: the caller should offer to merge."""

    def __init__(self, name: str, person_id: int):
        self.name, self.person_id = name, person_id
        super().__init__(f"the name {name!r} is taken by person {person_id}; merge them instead?")


#: What each logged action is called in menus ("Undo Merge") and messages.
ACTION_NAMES = {
    "confirm": "Confirm", "reject": "Not This Person", "move": "Move", "split": "New Person",
    "merge": "Merge", "rename": "Rename", "create": "New Person", "hide": "Hide",
    "unhide": "Show", "cover": "Set Cover", "not_face": "Not a Face", "not_same": "Not the Same",
    "forget": "Forget Person", "regroup": "Regroup Faces", "use_model": "Switch Model",
    "import_xmp": "Import Names", "dismiss_background": "Dismiss Background Faces",
    "restore_dismissed": "Restore Dismissed Faces",
}


#: The face model's arithmetic (setting `embed_precision`) in words.
ARITHMETIC = {"fp32": "Exact 32-bit", "int8": "Fast 8-bit"}


def describe_action(action: str) -> str:
    """A logged action's name for people ("merge" -> "Merge")."""
    return ACTION_NAMES.get(action, action.replace("_", " ").title())


def describe_decision(action: str, params: dict, names: dict[int, str]) -> str:
    """A logged decision in words, for the status bar: "Confirm 3 faces as Ann", "Merge 2
    persons into Bob" ("an unnamed person" where `names`, person id -> name, has none)."""
    who = lambda pid: names.get(int(pid), "an unnamed person") if pid is not None else None  # noqa: E731
    what = describe_action(action)
    faces = params.get("faces")
    count = plural(len(faces), "face") if isinstance(faces, list) else None
    if action == "rename":
        return f"Rename to {params['name']}" if params.get("name") else "Remove a name"
    if action == "use_model" and params.get("precision", "fp32") != params.get("previous_precision", "fp32"):
        return f"Switch to {ARITHMETIC.get(params['precision'], params['precision'])} Arithmetic"
    if action in ("split", "create") and params.get("name"):
        return f"New Person {params['name']}" + (f" from {count}" if count else "")
    if action == "merge" and "target" in params:
        return f"Merge {plural(len(params.get('sources', [])), 'person')} into {who(params['target'])}"
    person = who(params.get("person"))
    if count and person:
        joiner = {"confirm": "as", "move": "to", "reject": "from"}.get(action, "of")
        return f"{what} ({count} {joiner} {person})"
    if count:
        return f"{what} ({count})"
    return f"{what} ({person})" if person else what


#: States of faces held in their person by a decision of the user: clustering never moves them.
HELD_STATES = ("confirmed", "accepted")


class Review:
    """The review actions over one library. Each public method is one transaction and one
    decision, and returns the decision id (or a new person id where it says so)."""

    def __init__(self, library: Library):
        self.library = library
        self.con = library.con

    # --- recording ------------------------------------------------------------------------

    def _do(self, action: str, params: dict, touched: Touched, apply) -> int:
        """Applies the change as one transaction and one decision (see `record_decision`)."""
        with self.library.transaction() as con:
            result, decision_id = record_decision(con, action, params, touched, apply)
            return result if result is not None else decision_id

    def _faces(self, face_ids: Iterable[int]) -> list[tuple[int, int | None, str]]:
        ids = sorted({int(f) for f in face_ids})
        if not ids:
            raise ReviewError("no faces given")
        rows = []
        for fid in ids:
            row = face_states.face_row(self.con, fid)
            if row is None:
                raise ReviewError(f"no face {fid}")
            rows.append(row)
        return rows

    def _require_person(self, person_id: int) -> None:
        if not persons.person_exists(self.con, person_id):
            raise ReviewError(f"no person {person_id}")

    def _faces_for_person(self, action: str, face_ids: Iterable[int], person_id: int,
                          write: Callable[[object, list], None], from_left: bool = False) -> int:
        """An action on some faces and one person (confirm, reject, move): one decision that
        touches the faces and their rejection from that person (with from_left, also from the
        person each face leaves). `write(con, faces)` makes the change."""
        self._require_person(person_id)
        faces = self._faces(face_ids)
        t = Touched(faces={f for f, _, _ in faces}, rejections={(f, person_id) for f, _, _ in faces})
        if from_left:
            t.rejections |= {(f, p) for f, p, _ in faces if p is not None}
            t.persons = {person_id}  # the move pins the person's cover: undo unpins it
        return self._do(action, {"faces": [f for f, _, _ in faces], "person": person_id}, t,
                        lambda con: write(con, faces))

    # --- actions --------------------------------------------------------------------------

    def confirm(self, face_ids: Iterable[int], person_id: int) -> int:
        """These faces are person_id (must-link); a rejection of them from that person is lifted."""
        def write(con, faces):
            for fid, _, _ in faces:
                face_states.set_face_state(con, fid, person_id, "confirmed")
                persons.remove_rejection(con, fid, person_id)

        return self._faces_for_person("confirm", face_ids, person_id, write)

    def reject(self, face_ids: Iterable[int], person_id: int) -> int:
        """These faces are not person_id (cannot-link); they become undecided."""
        def write(con, faces):
            for fid, current, _ in faces:
                persons.add_rejection(con, fid, person_id)
                if current == person_id:
                    face_states.set_face_state(con, fid, None, "undecided")

        return self._faces_for_person("reject", face_ids, person_id, write)

    def move(self, face_ids: Iterable[int], person_id: int) -> int:
        """Confirmed for person_id, rejected from the person each face left; the person keeps the
        face its tile showed (a moved-in face, now confirmed, would otherwise take its place)."""
        def write(con, faces):
            cover = persons.shown_cover(con, person_id)
            self._move(con, faces, person_id)
            if cover is not None:
                persons.set_person_cover(con, person_id, cover)

        return self._faces_for_person("move", face_ids, person_id, write, from_left=True)

    @staticmethod
    def _move(con, faces, person_id: int) -> None:
        for fid, old, _ in faces:
            if old is not None and old != person_id:
                persons.add_rejection(con, fid, old)
            persons.remove_rejection(con, fid, person_id)
            face_states.set_face_state(con, fid, person_id, "confirmed")

    def split(self, face_ids: Iterable[int], name: str | None = None) -> int:
        """A new person from these faces (confirmed), rejected from their old person.

        Returns:
            The new person's id.
        """
        faces = self._faces(face_ids)
        name = clean_name(name)
        if name is not None:
            self._check_name_free(name, None)
        t = Touched(faces={f for f, _, _ in faces},
                     rejections={(f, p) for f, p, _ in faces if p is not None})

        def apply(con):
            new_id = persons.new_person(con, name, time.time())
            t.created_persons.add(new_id)
            self._move(con, faces, new_id)
            return new_id

        return self._do("split", {"faces": [f for f, _, _ in faces], "name": name}, t, apply)

    def merge(self, sources: Iterable[int], target: int) -> int:
        """Merges persons into `target`: confirmed faces stay confirmed, every suggested face of
        both becomes accepted for target, their rejections apply to target, and the sources are
        removed. Target keeps its name; an unnamed target takes the first source's name."""
        self._require_person(target)
        sources = sorted({int(s) for s in sources} - {target})
        if not sources:
            raise ReviewError("nothing to merge")
        for s in sources:
            self._require_person(s)
        faces = [f for s in sources for f in face_states.faces_of_person(self.con, s)]
        rejected = {(f, s) for s in sources for f in persons.rejected_faces(self.con, s)}
        pairs = set().union(*(persons.not_same_pairs_of(self.con, s) for s in sources))
        new_pairs = {tuple(sorted((target, b if a == s else a))) for s in sources for a, b in pairs
                     if s in (a, b)} - {(target, target)}
        new_pairs = {p for p in new_pairs if p[0] != p[1] and p[0] not in sources and p[1] not in sources}
        shown = face_states.suggested_faces_of(self.con, [target, *sources])
        t = Touched(faces=set(faces) | shown, persons={target, *sources},
                     rejections=rejected | {(f, target) for f, _ in rejected}, not_same=pairs | new_pairs)

        def apply(con):
            tname = persons.person_name(con, target)
            # The target keeps the face its tile showed: the sources' confirmed faces would
            # otherwise come first and the merged person look like someone else at a glance.
            cover = persons.shown_cover(con, target)
            first_name = None
            for s in sources:
                sname = persons.person_name(con, s)  # raises if s went meanwhile, as the target does
                first_name = first_name or sname
                face_states.reassign_faces(con, s, target)
                persons.copy_rejections(con, s, target)
            for a, b in new_pairs:
                persons.add_not_same(con, a, b)
            for s in sources:
                persons.delete_person(con, s)
            if tname is None and first_name is not None:
                persons.rename_person(con, target, first_name)
            if cover is not None:
                persons.set_person_cover(con, target, cover)
            # A face rejected from the merged person but confirmed for it stays confirmed (the
            # confirmation is the later, explicit word); suggestions that are now rejected go.
            face_states.drop_rejected_suggestions(con, target)
            # What the user saw in both albums and joined is now theirs: a regroup keeps it together.
            face_states.accept_suggested(con, shown, target)

        return self._do("merge", {"sources": sources, "target": target}, t, apply)

    def rename(self, person_id: int, name: str | None) -> int:
        """Names (or, with None/"", unnames) a person; naming accepts the faces its album shows.

        Raises:
            NameTaken: another person has the name (the caller should offer to merge).
        """
        self._require_person(person_id)
        name = clean_name(name)
        if name is not None:
            self._check_name_free(name, person_id)
        shown = face_states.suggested_faces_of(self.con, [person_id]) if name is not None else set()
        t = Touched(faces=shown, persons={person_id})

        def apply(con):
            persons.rename_person(con, person_id, name)
            face_states.accept_suggested(con, shown, person_id)

        return self._do("rename", {"person": person_id, "name": name}, t, apply)

    def create_person(self, name: str) -> int:
        """A new, empty, named person (for moving faces to someone not yet in the library)."""
        name = clean_name(name)
        if name is None:
            raise ReviewError("a new person needs a name")
        self._check_name_free(name, None)
        t = Touched()

        def apply(con):
            new_id = persons.new_person(con, name, time.time())
            t.created_persons.add(new_id)
            return new_id

        return self._do("create", {"name": name}, t, apply)

    def set_hidden(self, person_ids: int | Iterable[int], hidden: bool = True) -> int:
        """Hides (or shows) one or several persons (one decision); hiding keeps the faces each
        album shows with it."""
        ids = sorted({int(person_ids)} if isinstance(person_ids, int) else {int(p) for p in person_ids})
        if not ids:
            raise ReviewError("no person given")
        for pid in ids:
            self._require_person(pid)
        shown = {pid: face_states.suggested_faces_of(self.con, [pid]) if hidden else set() for pid in ids}
        t = Touched(faces=set().union(*shown.values()), persons=set(ids))

        def apply(con):
            for pid in ids:
                persons.set_person_hidden(con, pid, hidden)
                face_states.accept_suggested(con, shown[pid], pid)

        params = {"person": ids[0]} if len(ids) == 1 else {"persons": ids}
        return self._do("hide" if hidden else "unhide", params, t, apply)

    def set_cover(self, person_id: int, face_id: int) -> int:
        self._require_person(person_id)
        t = Touched(persons={person_id})

        def apply(con):
            persons.set_person_cover(con, person_id, face_id)

        return self._do("cover", {"person": person_id, "face": face_id}, t, apply)

    def not_a_face(self, face_ids: Iterable[int]) -> int:
        """These detections are not faces: they leave every album and all clustering."""
        faces = self._faces(face_ids)
        t = Touched(faces={f for f, _, _ in faces})

        def apply(con):
            for fid, _, _ in faces:
                face_states.set_face_state(con, fid, None, "not_face")

        return self._do("not_face", {"faces": [f for f, _, _ in faces]}, t, apply)

    def dismiss_background(self, face_ids: Iterable[int]) -> int:
        """Dismisses those of these faces that are background faces (core/library/background.py)
        the user has not decided on: "not interesting", which is not "not a face".

        Returns:
            The decision id.

        Raises:
            ReviewError: none of the faces is an undismissed background face.
        """
        chosen = face_states.background_faces_to_dismiss(self.con, face_ids)
        if not chosen:
            raise ReviewError("none of these faces is a background face left to dismiss")

        def apply(con):
            face_states.set_dismissed(con, chosen, True)

        return self._do("dismiss_background", {"faces": chosen}, Touched(faces=set(chosen)), apply)

    def restore_dismissed(self, face_ids: Iterable[int]) -> int:
        """Brings dismissed faces back: undecided, listed in Unsorted, grouped again.

        Raises:
            ReviewError: none of the faces is dismissed.
        """
        chosen = face_states.dismissed_among(self.con, face_ids)
        if not chosen:
            raise ReviewError("none of these faces is dismissed")

        def apply(con):
            face_states.set_dismissed(con, chosen, False)

        return self._do("restore_dismissed", {"faces": chosen}, Touched(faces=set(chosen)), apply)

    def not_same_person(self, a: int, b: int) -> int:
        """A "no" to "Same person?": a and b are never suggested as one again."""
        self._require_person(a)
        self._require_person(b)
        pair = (min(a, b), max(a, b))
        if pair[0] == pair[1]:
            raise ReviewError("a person is always the same as itself")
        t = Touched(not_same={pair})

        def apply(con):
            persons.add_not_same(con, *pair)

        return self._do("not_same", {"persons": list(pair)}, t, apply)

    def forget_person(self, person_id: int) -> int:
        """Removes a person: its faces become undecided and its rejections go (undoable)."""
        self._require_person(person_id)
        faces = face_states.faces_of_person(self.con, person_id)
        rejected = {(f, person_id) for f in persons.rejected_faces(self.con, person_id)}
        pairs = persons.not_same_pairs_of(self.con, person_id)
        t = Touched(faces=set(faces), persons={person_id}, rejections=rejected, not_same=pairs)

        def apply(con):
            face_states.release_faces_of(con, person_id)
            persons.delete_person(con, person_id)

        return self._do("forget", {"person": person_id}, t, apply)

    # --- undo / redo ----------------------------------------------------------------------

    def undo(self) -> tuple[int, str] | None:
        """Undoes the latest decision. Returns (decision id, action) or None if there is none."""
        with self.library.transaction() as con:
            return decisions.replay(con, undo=True)

    def redo(self) -> tuple[int, str] | None:
        """Redoes the earliest undone decision. Returns (decision id, action) or None."""
        with self.library.transaction() as con:
            return decisions.replay(con, undo=False)

    def describe(self, decision_id: int, action: str) -> str:
        """A logged decision in words, with the names of the persons it touched as they are now."""
        return describe_decision(action, decisions.params_of(self.con, decision_id),
                                 persons.named_persons(self.con))

    def next_undo(self) -> str | None:
        """The action `undo` would take back now (None: nothing to undo)."""
        found = decisions.next_undo(self.con)
        return found[1] if found else None

    def next_redo(self) -> str | None:
        """The action `redo` would do again now (None: nothing to redo)."""
        found = decisions.next_redo(self.con)
        return found[1] if found else None

    def undo_label(self) -> str | None:
        """What Edit → Undo says it takes back ("Merge", "Switch to Fast 8-bit Arithmetic"); None: nothing."""
        return self._menu_words(decisions.next_undo(self.con))

    def redo_label(self) -> str | None:
        """What Edit → Redo says it does again; None: nothing."""
        return self._menu_words(decisions.next_redo(self.con))

    def _menu_words(self, found: tuple[int, str] | None) -> str | None:
        if found is None:
            return None
        decision_id, action = found
        if action == "use_model":  # a change of arithmetic is not a new model to whoever made it
            return describe_decision(action, decisions.params_of(self.con, decision_id), {})
        return describe_action(action)

    def history(self) -> list[tuple[int, str, dict, bool]]:
        """(id, action, params, undone) of every logged decision, oldest first."""
        return decisions.history(self.con)

    def _check_name_free(self, name: str, person_id: int | None) -> None:
        owner = persons.person_named(self.con, name)
        if owner is not None and owner != person_id:
            raise NameTaken(name, owner)


def clean_name(name: str | None) -> str | None:
    """A person's name with runs of white space folded to one space; None for a blank one."""
    if name is None:
        return None
    name = " ".join(name.split())
    return name or None
