"""Words for people: counts with the right plural, the same in the window, the CLI and exports."""


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 face', '3 faces' (`many` for an irregular plural)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"
