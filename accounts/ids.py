"""Object ids in URLs and query strings: digits that fit a 64-bit integer (18 digits always do).

Anything else — words, huge numbers — is no route at all (404) or no filter (400 / ignored),
never a ValueError or OverflowError inside a view.
"""

from __future__ import annotations

ID_REGEX = r"[0-9]{1,18}"


def id_param(raw: object) -> int | None:
    """A query-string id as an int, or None when it is not one (empty, words, out of range)."""
    text = str(raw or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


class IdConverter:
    """``<id:pk>`` in URL patterns (registered in ``AccountsConfig.ready``)."""

    regex = ID_REGEX

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
