"""Pure functions on policy text: its hash, its numbered clauses, and the diff of two versions.

Nothing here reads the database. The diffs are kept in the cache under the two bodies' hashes, since the
result for two given bodies never changes.
"""

import difflib
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from django.core.cache import cache


def text_sha256(body: str) -> str:
    """Return the hex SHA-256 of a body: the fingerprint kept with each text and shown to readers."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# --- Clauses -------------------------------------------------------------------------------------

CLAUSE_NUMBER = re.compile(r"^(\d{1,3}(?:\.\d{1,3})*)\.\s+(\S.*)$", re.DOTALL)
SECTION_TITLE_MAX = 150


@dataclass(frozen=True)
class Clause:
    """One block of a policy body: a numbered section heading, a numbered clause, or a plain paragraph."""

    kind: str  # "section" | "clause" | "paragraph"
    number: str
    text: str

    @property
    def anchor(self) -> str:
        return self.number


@lru_cache(maxsize=64)
def _clauses(body: str) -> tuple[Clause, ...]:
    blocks = [block.strip() for block in re.split(r"\n\s*\n", body.replace("\r\n", "\n").replace("\r", "\n"))]
    clauses: list[Clause] = []
    seen: set[str] = set()
    for block in blocks:
        if not block:
            continue
        match = CLAUSE_NUMBER.match(block)
        if match and match.group(1) not in seen:
            number = match.group(1)
            seen.add(number)
            text = match.group(2).strip()
            heading = "." not in number and len(text) <= SECTION_TITLE_MAX and "\n" not in text
            clauses.append(Clause(kind="section" if heading else "clause", number=number, text=text))
        else:
            clauses.append(Clause(kind="paragraph", number="", text=block))
    return tuple(clauses)


def policy_clauses(*, body: str) -> tuple[Clause, ...]:
    """Split a body into numbered sections ("1."), clauses ("2.6.") and plain paragraphs, in order.

    Blocks are separated by blank lines; the first occurrence of a number gets it as its anchor.
    """
    return _clauses(body)


# --- Diff ------------------------------------------------------------------------------------------

TOKEN = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class DiffPart:
    op: str  # "equal" | "insert" | "delete"
    text: str


def _diff_cache_key(old: str, new: str) -> str:
    return f"policies:diff:v1:{text_sha256(old)}:{text_sha256(new)}"


def policy_text_diff(*, old: str, new: str) -> list[DiffPart]:
    """Return a word-level diff of two bodies as equal / delete / insert runs.

    Cached by the two hashes: the result of two given bodies never changes.
    """
    key = _diff_cache_key(old, new)
    cached = cache.get(key)
    if cached is not None:
        return [DiffPart(op, text) for op, text in cached]
    old_tokens = TOKEN.findall(old)
    new_tokens = TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(a=old_tokens, b=new_tokens, autojunk=False)
    parts: list[DiffPart] = []
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(DiffPart("equal", "".join(old_tokens[a1:a2])))
            continue
        if tag in ("delete", "replace"):
            parts.append(DiffPart("delete", "".join(old_tokens[a1:a2])))
        if tag in ("insert", "replace"):
            parts.append(DiffPart("insert", "".join(new_tokens[b1:b2])))
    cache.set(key, [(part.op, part.text) for part in parts], timeout=60 * 60 * 24 * 30)
    return parts


@dataclass(frozen=True)
class DiffBlock:
    """One clause of a diff: changed, added or removed (with its word diff), or a run of unchanged ones."""

    status: str  # "changed" | "added" | "removed" | "unchanged"
    number: str = ""
    parts: tuple[DiffPart, ...] = ()
    unchanged: int = 0


def _words(text: str, op: str) -> tuple[DiffPart, ...]:
    return (DiffPart(op, text),)


def policy_clause_diff(*, old: str, new: str) -> list[DiffBlock]:
    """Return a diff clause by clause: clauses are matched by number, changed ones get a word-level diff,
    and runs of unchanged clauses are folded into a count."""
    key = f"policies:clausediff:v1:{text_sha256(old)}:{text_sha256(new)}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    a, b = policy_clauses(body=old), policy_clauses(body=new)

    def ident(clause: Clause) -> str:
        return f"#{clause.number}" if clause.number else clause.text

    blocks: list[DiffBlock] = []

    def unchanged() -> None:
        if blocks and blocks[-1].status == "unchanged":
            blocks[-1] = DiffBlock("unchanged", unchanged=blocks[-1].unchanged + 1)
        else:
            blocks.append(DiffBlock("unchanged", unchanged=1))

    def compare(before: Clause | None, after: Clause | None) -> None:
        if before is not None and after is not None:
            if before.text == after.text:
                unchanged()
            else:
                parts = tuple(policy_text_diff(old=before.text, new=after.text))
                blocks.append(DiffBlock("changed", number=after.number, parts=parts))
        elif after is not None:
            blocks.append(DiffBlock("added", number=after.number, parts=_words(after.text, "insert")))
        elif before is not None:
            blocks.append(DiffBlock("removed", number=before.number, parts=_words(before.text, "delete")))

    matcher = difflib.SequenceMatcher(a=[ident(c) for c in a], b=[ident(c) for c in b], autojunk=False)
    for _tag, a1, a2, b1, b2 in matcher.get_opcodes():
        olds, news = list(a[a1:a2]), list(b[b1:b2])
        paired = min(len(olds), len(news))
        for index in range(paired):
            compare(olds[index], news[index])
        for extra in olds[paired:]:
            compare(extra, None)
        for extra in news[paired:]:
            compare(None, extra)
    cache.set(key, blocks, timeout=60 * 60 * 24 * 30)
    return blocks
