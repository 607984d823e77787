"""`# noqa` comments, with ruff's syntax: on the finding's first line, bare or with codes;
`# initlint: noqa` (optionally with codes) on a line of its own silences the whole file.

Only real comments count (found with the tokenizer): `# noqa` inside a string or docstring is
text, not a directive. A finding whose first line lies inside a multi-line string or a
backslash-continued line is silenced by a directive on the line that string or continuation
ends on, as in ruff (a comment cannot stand anywhere earlier). Unused codes of line directives
are reported as IL902 when that rule is enabled."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

from initlint.finding import Edit, Finding, Fix
from initlint.source import SourceFile

_CODE_LIST = r"[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*"
_LINE = re.compile(rf"#\s*noqa(?::\s*(?P<codes>{_CODE_LIST}))?", re.IGNORECASE)
_FILE = re.compile(rf"#\s*initlint\s*:\s*noqa(?::\s*(?P<codes>{_CODE_LIST}))?\s*", re.IGNORECASE)
UNUSED_NOQA = "IL902"


@dataclass(frozen=True)
class Directive:
    """A `# noqa` in a comment: its line, its codes (None: bare) and where it sits in the line
    (0-based character offsets: the whole directive, and its list of codes)."""

    line: int
    codes: tuple[str, ...] | None
    start: int
    end: int
    codes_start: int = 0
    comment_start: int = 0  # where the comment holding it begins (its `#`)


@dataclass
class NoqaIndex:
    file_level: list[frozenset[str] | None]
    by_line: dict[int, list[Directive]]
    target: dict[int, int]  # a line inside a multi-line string or continuation -> where its noqa goes

    def noqa_line(self, line: int) -> int:
        return self.target.get(line, line)


def _codes(text: str | None) -> tuple[str, ...] | None:
    """None means every code."""
    if not text:
        return None
    return tuple(code.upper() for code in re.split(r"[\s,]+", text.strip()) if code)


def _matches(codes: Iterable[str] | None, code: str) -> bool:
    return codes is None or code in codes


def build_index(text: str) -> NoqaIndex:
    """The directives of ``text``'s comments and the noqa line of every line."""
    lines = text.splitlines()
    file_level: list[frozenset[str] | None] = []
    by_line: dict[int, list[Directive]] = {}
    string_end: dict[int, int] = {}  # a line inside a multi-line string -> the line the string ends on
    last_row = 0
    fstring_starts: list[int] = []
    try:
        # newline=None: lines end where SourceFile's do (\r, \r\n, \n), so rows agree with them.
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            kind, string, (row, column), (end_row, _), line = token
            last_row = max(last_row, end_row)
            if kind == tokenize.COMMENT:
                _add_comment(string, row, column, line, file_level, by_line)
            elif kind == tokenize.STRING and end_row > row:
                for inside in range(row, end_row):
                    string_end[inside] = end_row
            elif kind == getattr(tokenize, "FSTRING_START", -1):  # Python 3.12+: f-strings are several tokens
                fstring_starts.append(row)
            elif kind == getattr(tokenize, "FSTRING_END", -1) and fstring_starts:
                begin = fstring_starts.pop()
                for inside in range(begin, end_row):
                    string_end[inside] = end_row
        complete = True
    except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
        complete = False
    if not complete:
        # Past the point the tokenizer reached, fall back to reading comments by pattern.
        for number in range(last_row + 1, len(lines) + 1):
            line = lines[number - 1]
            hash_at = line.find("#")
            if hash_at != -1:
                _add_comment(line[hash_at:], number, hash_at, line, file_level, by_line)
    target: dict[int, int] = {}
    for number in range(len(lines), 0, -1):
        if number in string_end:
            target[number] = target.get(string_end[number], string_end[number])
        elif lines[number - 1].endswith("\\") and number < len(lines):
            target[number] = target.get(number + 1, number + 1)
    return NoqaIndex(file_level, by_line, target)


def _add_comment(
    comment: str,
    row: int,
    column: int,
    line: str,
    file_level: list[frozenset[str] | None],
    by_line: dict[int, list[Directive]],
) -> None:
    if not line[:column].strip():  # a comment on a line of its own may silence the file
        whole = _FILE.fullmatch(comment)
        if whole is not None:
            codes = _codes(whole.group("codes"))
            file_level.append(None if codes is None else frozenset(codes))
            return
    for match in _LINE.finditer(comment):
        codes_start = column + (match.start("codes") if match.group("codes") else match.end())
        codes = _codes(match.group("codes"))
        start, end = column + match.start(), column + match.end()
        by_line.setdefault(row, []).append(Directive(row, codes, start, end, codes_start, column))


def filter_suppressed(
    source: SourceFile, findings: list[Finding], codes: frozenset[str] | None = None
) -> list[Finding]:
    """``findings`` less those a noqa comment silences; with ``codes`` holding IL902, plus one
    IL902 finding per line directive with codes that silenced nothing."""
    report_unused = codes is not None and UNUSED_NOQA in codes and "noqa" in source.text.lower()
    if not findings and not report_unused:
        return findings
    if not report_unused and "noqa" not in source.text.lower():
        return findings
    index = build_index(source.text)
    kept = []
    used: dict[tuple[int, int], set[str]] = {}  # (line, start) of a directive -> the codes it silenced
    for finding in findings:
        if any(_matches(file_codes, finding.code) for file_codes in index.file_level):
            continue
        silenced = False
        for directive in index.by_line.get(index.noqa_line(finding.line), []):
            if _matches(directive.codes, finding.code):
                used.setdefault((directive.line, directive.start), set()).add(finding.code)
                silenced = True
        if not silenced:
            kept.append(finding)
    if report_unused:
        assert codes is not None
        unused = unused_noqa(source, index, used, codes)
        kept += [f for f in unused if not any(_matches(c, f.code) for c in index.file_level)]
    return kept


def unused_noqa(
    source: SourceFile, index: NoqaIndex, used: dict[tuple[int, int], set[str]], enabled: frozenset[str]
) -> list[Finding]:
    """IL902 for each directive naming initlint codes that silenced nothing on its line: codes of
    enabled rules with no finding there, codes of rules not enabled, and unknown IL codes (as
    ruff's RUF100). Codes of other tools, bare `# noqa` and runtime codes (IL6xx, measured by
    the probe, not by this run) are left alone."""
    from initlint.rules import BY_CODE

    findings = []
    for line, directives in sorted(index.by_line.items()):
        for directive in directives:
            if directive.codes is None or UNUSED_NOQA in directive.codes:
                continue
            silenced = used.get((line, directive.start), set())
            ours = [c for c in directive.codes if c.startswith("IL") and not (c in BY_CODE and BY_CODE[c].runtime)]
            unused = [c for c in ours if c not in silenced]
            if not unused:
                continue
            kinds = []
            for label, group in (
                ("unused", [c for c in unused if c in enabled]),
                ("non-enabled", [c for c in unused if c in BY_CODE and c not in enabled]),
                ("unknown", [c for c in unused if c not in BY_CODE]),
            ):
                if group:
                    kinds.append(f"{label}: {', '.join(group)}")
            rule = BY_CODE[UNUSED_NOQA]
            fix = _removal(source, directive, unused)
            message = f"Unused `noqa` directive ({'; '.join(kinds)})"
            start, end = directive.start + 1, directive.end + 1
            findings.append(
                Finding(UNUSED_NOQA, rule.name, rule.severity, message, source.path, line, start, line, end, fix=fix)
            )
    return findings


def _removal(source: SourceFile, directive: Directive, unused: list[str]) -> Fix:
    """Drop the unused codes; the whole directive when none is left (the comment too when it
    held nothing else), never touching the code before the comment."""
    assert directive.codes is not None
    left = [c for c in directive.codes if c not in unused]
    line = source.line_text(directive.line)
    if left:
        edit = Edit(directive.line, directive.codes_start + 1, directive.line, directive.end + 1, ", ".join(left))
        return Fix("safe", f"Remove unused code{'s' if len(unused) > 1 else ''} {', '.join(unused)}", (edit,))
    start, end, content = directive.start, directive.end, ""
    rest = line[end:]
    if not rest.strip():
        # The directive ends the line: drop it with the spaces before it (`x = 1` keeps no
        # comment; a `type: ignore` comment before the directive stays).
        start = len(line[:start].rstrip())
    else:
        end = len(line) - len(rest.lstrip())
        if directive.start == directive.comment_start and not rest.lstrip().startswith("#"):
            content = "# "  # the words after the directive stay a comment
    edit = Edit(directive.line, start + 1, directive.line, end + 1, content)
    return Fix("safe", "Remove unused `noqa` directive", (edit,))


def add_noqa(source: SourceFile, findings: list[Finding]) -> tuple[str, int]:
    """The text with a `# noqa: CODES` on the noqa line of every finding (merged into a directive
    with codes already there), and how many lines got one. Findings inside a multi-line string
    or a continued line get it where that ends, so neither is broken."""
    index = build_index(source.text)
    wanted: dict[int, set[str]] = {}
    for finding in findings:
        wanted.setdefault(index.noqa_line(finding.line), set()).add(finding.code)
    edits = []
    for line, codes in sorted(wanted.items()):
        directives = index.by_line.get(line, [])
        if any(d.codes is None for d in directives):
            continue  # a bare noqa silences everything already
        if directives:
            directive = directives[0]
            assert directive.codes is not None
            merged = ", ".join(sorted(set(directive.codes) | codes))
            edits.append(Edit(line, directive.codes_start + 1, line, directive.end + 1, merged))
        else:
            text = source.line_text(line)
            end = len(text.rstrip())
            edits.append(Edit(line, end + 1, line, len(text) + 1, f"  # noqa: {', '.join(sorted(codes))}"))
    return source.apply(edits), len(edits)
