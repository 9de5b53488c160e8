"""What the user typed, made searchable: normalisation, script variants, code fragments, LIKE patterns.

Pure functions, no database. Stored names are never converted (ingest writes hundreds of thousands of
subjects per batch); the query is converted instead, into every script form a stored name may have.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache

from opencc import OpenCC

from xinyong.subjects.grams import LOOSE

MAX_QUERY_CHARS = 100
MIN_QUERY_CHARS = 2
# Typo candidates cost one OR-ed pattern per character; past this length a typo search is pointless.
MAX_FUZZY_CHARS = 40

# Punctuation that stored names spell in either width or style: （） vs (), 【】 vs []. After NFKC the
# query has one form; in patterns these become a single-character wildcard, so both forms match.
_LOOSE = LOOSE  # the side table of two-character runs (subjects.grams) leaves them out as well
# What the API schema states about q: at least MIN_QUERY_CHARS characters that are not punctuation of the kind
# above, whitespace or control characters (the rest is ignored, so a query of only those is refused).
_COUNTED = "[^\\s\\x00-\\x1f\\x7f" + "".join("\\" + ch if ch in "[]\\^-" else ch for ch in sorted(_LOOSE)) + "]"
QUERY_PATTERN = "^[\\s\\S]*" + "[\\s\\S]*".join([_COUNTED] * MIN_QUERY_CHARS) + "[\\s\\S]*$"
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202f\u2060\ufeff]")
_CODE_CHARS = re.compile(r"^[0-9A-Z]+$")
_CODE_STRIP = re.compile(r"[\s\-_]+")


@cache
def _converter(config: str) -> OpenCC:
    return OpenCC(config)


def to_simplified(text: str) -> str:
    return str(_converter("t2s").convert(text))


def to_traditional(text: str) -> str:
    return str(_converter("s2t").convert(text))


def fold(text: str) -> str:
    """The comparison form of a name or query: NFKC, case-folded, loose punctuation unified."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join("·" if ch in _LOOSE else ch for ch in text)


@dataclass(frozen=True)
class Pattern:
    """A LIKE pattern as literal parts joined by exactly one arbitrary character each.

    anchored: the name starts with the pattern; whole: the name is exactly the pattern.
    """

    parts: tuple[str, ...]
    anchored: bool = False
    whole: bool = False

    def like(self, escape: str = "\\") -> str:
        body = "_".join(escape_like(p, escape) for p in self.parts)
        return ("" if self.anchored or self.whole else "%") + body + ("" if self.whole else "%")

    def runs(self, min_len: int = 3) -> list[str]:
        """Literal parts long enough for a trigram index."""
        return [p for p in self.parts if len(p) >= min_len]

    def regex(self) -> re.Pattern[str]:
        body = ".".join(re.escape(fold(p)) for p in self.parts)
        return re.compile(("^" if self.anchored or self.whole else "") + body + ("$" if self.whole else ""))


def escape_like(text: str, escape: str = "\\") -> str:
    return text.replace(escape, escape * 2).replace("%", escape + "%").replace("_", escape + "_")


def loose_pattern(text: str, *, anchored: bool = False, whole: bool = False) -> Pattern:
    """Split at loose punctuation: each such character becomes a one-character wildcard."""
    parts: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch in _LOOSE:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return Pattern(tuple(parts), anchored=anchored, whole=whole)


@dataclass
class Query:
    raw_length: int
    text: str = ""                      # normalised (NFKC, spacing), original script
    variants: tuple[str, ...] = ()      # text, simplified, traditional — distinct
    simplified: str = ""                # the simplified form: typo patterns and suggestions use it
    code: str | None = None             # an uppercase code fragment, when the text can be one
    notices: list[str] = field(default_factory=list)
    problem: str | None = None          # why nothing was searched (empty, too short)

    @property
    def searchable(self) -> bool:
        return self.problem is None

    @property
    def primary(self) -> str:
        return self.simplified or self.text

    def substring_patterns(self) -> list[Pattern]:
        return [loose_pattern(v) for v in self.variants]

    def exact_patterns(self) -> list[Pattern]:
        return [loose_pattern(v, whole=True) for v in self.variants]

    def prefix_patterns(self) -> list[Pattern]:
        return [loose_pattern(v, anchored=True) for v in self.variants]

    def typo_patterns(self, *, index_only: bool = True) -> list[Pattern]:
        """Names within one edit of the query: a wrong, a missing or an extra character anywhere.

        index_only: keep only patterns with a literal run of three characters, the ones a trigram index
        can answer. The rest (a wrong character in the middle of a 4–5 character query: "恒_机械") are
        for a last, bounded attempt when nothing else matched.
        """
        text = self.primary
        if not 4 <= len(text) <= MAX_FUZZY_CHARS:
            return []
        templates = [text[:i] + "\x00" + text[i + 1:] for i in range(len(text))]      # wrong character
        templates += [text[:i] + "\x00" + text[i:] for i in range(1, len(text))]     # missing character
        if len(text) >= 5:
            templates += [text[:i] + text[i + 1:] for i in range(len(text))]        # extra character
        out: list[Pattern] = []
        for template in dict.fromkeys(templates):
            parts: list[str] = []
            for part in loose_pattern(template).parts:
                parts.extend(part.split("\x00"))
            pattern = Pattern(tuple(parts))
            if pattern.runs() or not index_only:
                out.append(pattern)
        return out


def neighbour_windows(text: str, min_len: int = 3) -> list[list[str]]:
    """The query's runs of n-1 characters, then n-2, … down to min_len: near misses share a long one.

    A name two edits away from the query (a transposition, two wrong characters, a wrong character next
    to a short end) still contains a run of the query unless the edits are spread evenly.
    """
    n = len(text)
    return [list(dict.fromkeys(text[i:i + size] for i in range(n - size + 1))) for size in range(n - 1, min_len - 1, -1)]


def normalise_query(raw: str | None) -> Query:
    """Everything a search needs from the raw input, or a Chinese reason why it cannot be searched."""
    raw = raw or ""
    q = Query(raw_length=len(raw))
    if len(raw) > MAX_QUERY_CHARS * 4:
        raw = raw[: MAX_QUERY_CHARS * 4]  # NFKC below never needs more; keeps the work bounded
    text = _CONTROL.sub("", unicodedata.normalize("NFKC", raw))
    text = _SPACES.sub(" ", _SPACE_NEAR_CJK.sub("", text)).strip()
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS].rstrip()
        q.notices.append(f"查询内容过长，已只按前 {MAX_QUERY_CHARS} 个字查询")
    if not text:
        q.problem = "请输入企业或组织的名称（或名称中的几个字），也可以输入统一社会信用代码"
        return q
    meaningful = [ch for ch in text if ch not in _LOOSE and not ch.isspace()]
    if len(meaningful) < MIN_QUERY_CHARS:
        q.text = text
        q.problem = f"查询内容太短：请至少输入 {MIN_QUERY_CHARS} 个字，例如“恒达”或“恒达机械”"
        return q
    q.text = text
    variants = [text]
    q.simplified = to_simplified(text)
    for converted in (q.simplified, to_traditional(text)):
        if converted not in variants:
            variants.append(converted)
    q.variants = tuple(variants)
    code = _CODE_STRIP.sub("", text).upper()
    if len(code) >= 4 and _CODE_CHARS.match(code):
        q.code = code
    return q


def highlight_spans(name: str, needles: list[str]) -> list[tuple[str, bool]]:
    """Split name into (text, matched) runs for the first occurrence of any needle (folded comparison)."""
    folded = fold(name)
    if len(folded) != len(name):  # NFKC changed the length (rare ligatures): do not guess offsets
        return [(name, False)]
    best: tuple[int, int] | None = None
    for needle in needles:
        n = fold(needle)
        if not n:
            continue
        at = folded.find(n)
        if at >= 0 and (best is None or (at, -len(n)) < (best[0], -best[1])):
            best = (at, len(n))
    if best is None:
        return [(name, False)]
    at, size = best
    spans = [(name[:at], False), (name[at:at + size], True), (name[at + size:], False)]
    return [s for s in spans if s[0]]
