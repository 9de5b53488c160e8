"""Header normalisation: the many spellings of one column header in real files map to one key."""

from __future__ import annotations

import unicodedata

# Characters that are invisible in a spreadsheet cell but break equality.
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u00ad"), None)

# NFKC already turns （）［］＿－ into their ASCII forms; these survive it.
_BRACKETS_AND_DASHES = str.maketrans(
    {
        "[": "(",
        "]": ")",
        "【": "(",
        "】": ")",
        "〔": "(",
        "〕": ")",
        "〖": "(",
        "〗": ")",
        "-": "_",
        "‐": "_",
        "‑": "_",
        "‒": "_",
        "–": "_",
        "—": "_",
        "―": "_",
        "﹘": "_",
        "−": "_",
        "‗": "_",
    }
)

_QUOTES = "\"'`“”‘’「」『』"
_ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})


def _once(text: str) -> str:
    text = text.translate(_INVISIBLE)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(text.split())
    text = text.translate(_BRACKETS_AND_DASHES)
    text = text.strip(_QUOTES)
    return text.translate(_ASCII_LOWER)


def normalize_header(h: str) -> str:
    """Return the comparison key of a column header.

    NFKC, no whitespace at all (line breaks and full-width spaces included), one bracket and
    one underscore form, no BOM or surrounding quotes, ASCII lower-cased. Idempotent.
    """
    current = h
    # Removing characters can bring a combining mark next to a new base character, which a
    # second NFKC pass composes; iterate to the fixpoint so normalising twice changes nothing.
    for _ in range(8):
        nxt = _once(current)
        if nxt == current:
            return nxt
        current = nxt
    return current
