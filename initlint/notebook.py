"""Jupyter notebooks (.ipynb): their code cells checked as one Python file, fixes written back
into the cells with the notebook's JSON layout kept.

The code cells are joined in order (a cell's imports serve the cells after it, as when the
notebook runs), one boundary comment line between two cells so that the fixed text can be cut
back into its cells. IPython syntax that is not Python (`%magic`, `!shell`, `x = !cmd`,
`obj?`, and the first line of a Python-bodied cell magic such as `%%time`) is masked line for
line, so every other line keeps its number and columns; a cell under another cell magic
(`%%bash`, `%%writefile`) is not Python and is left out. A finding's line and column are counted
within its cell, ``extra["cell"]`` is the cell's 1-based index in the notebook's ``cells`` list
(markdown cells counted; ``extra["related_cells"]`` and ``extra["related_line_offsets"]``: those
of its related locations), and
``extra["cell_line_offset"]`` is the number of code lines before that cell: line + offset is the
line in the code cells concatenated, as ruff reports notebook positions in SARIF.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from initlint.finding import Edit, Finding, Related

# A comment: changes nothing in what the code means, and no fix writes one.
BOUNDARY = "# initlint: cell boundary"
_MASK_MARK = "# initlint: ipython"
# Cell magics whose body is Python run as is (ruff keeps the same ones).
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "pypy"})
_ASSIGNED_ESCAPE = re.compile(r"^(?P<indent>[ \t]*)(?P<target>[\w.]+(?:\s*,\s*[\w.]+)*)\s*=\s*[!%]")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_PYTHON_NAMES = frozenset({"python", "python3", "ipython", "ipython3", ""})


class NotebookError(Exception):
    """The bytes are not a notebook initlint can read (bad JSON, no cells, bad cell source)."""


@dataclass
class _Cell:
    index: int  # in the notebook's `cells`
    original: str  # the cell's source as one string
    masked: str  # the Python text that is checked (ends with a newline)
    masks: list[tuple[str, str]]  # (placeholder line, original line) in order
    as_list: bool  # `source` is a list of lines (else one string)


@dataclass
class Notebook:
    data: Any  # the parsed JSON, keys in file order
    cells: list[_Cell]
    python: bool  # False: another language's kernel; nothing is checked
    text: str = ""  # the JSON text as read
    boundary: str = BOUNDARY  # a line no cell holds
    mark: str = _MASK_MARK  # the comment ending masked lines, which no cell holds
    starts: list[int] = field(default_factory=list)  # virtual line where each cell begins

    @property
    def virtual(self) -> str:
        return f"{self.boundary}\n".join(cell.masked for cell in self.cells)


def _lines(text: str) -> list[str]:
    """The lines with their endings, ended as Python ends them (\\n, \\r\\n, \\r; not the form
    feeds and separators that str.splitlines also splits on)."""
    return _LINE.findall(text)


def _is_python(metadata: Any) -> bool:
    if not isinstance(metadata, dict):
        return True
    names = []
    info = metadata.get("language_info")
    if isinstance(info, dict) and isinstance(info.get("name"), str):
        names.append(info["name"].lower())
    spec = metadata.get("kernelspec")
    if isinstance(spec, dict) and isinstance(spec.get("language"), str):
        names.append(spec["language"].lower())
    return all(name in _PYTHON_NAMES for name in names)


def _source_text(cell: dict[str, Any], index: int) -> tuple[str, bool]:
    source = cell.get("source", "")
    if isinstance(source, str):
        return source, False
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source), True
    raise NotebookError(f"cell {index + 1}: `source` is neither a string nor a list of strings")


def _mask(text: str, mark: str = _MASK_MARK) -> tuple[str, list[tuple[str, str]]] | None:
    """The cell as Python, IPython lines replaced by `pass` (or `x = None`) with a marker; None
    for a cell under a cell magic whose body is not Python."""
    lines = _lines(text)
    masks: list[tuple[str, str]] = []
    out: list[str] = []
    in_string: str | None = None  # an open triple-quoted string: its lines are text, not escapes
    for number, line in enumerate(lines):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        stripped = body.strip()
        indent = body[: len(body) - len(body.lstrip())]
        placeholder = None
        if in_string is None:
            if number == 0 and stripped.startswith("%%"):
                magic = stripped[2:].split(maxsplit=1)[0] if stripped[2:].strip() else ""
                if magic not in _PYTHON_CELL_MAGICS:
                    return None
                placeholder = f"{indent}pass  {mark}"
            elif stripped.startswith(("%", "!", "?")) or (stripped.endswith("?") and "#" not in stripped):
                placeholder = f"{indent}pass  {mark}"
            elif match := _ASSIGNED_ESCAPE.match(body):
                targets = match.group("target")
                placeholder = f"{indent}{targets} = {', '.join(['None'] * (targets.count(',') + 1))}  {mark}"
        if placeholder is not None:
            masks.append((placeholder, body))
            out.append(placeholder + ending)
            continue
        out.append(line)
        in_string = _string_state(body, in_string)
    masked = "".join(out)
    if masked and not masked.endswith(("\n", "\r")):
        masked += "\n"
    return masked, masks


def _string_state(line: str, open_quote: str | None) -> str | None:
    """Whether a triple-quoted string is open after this line (a close enough reading: escapes
    and single-quoted strings holding triple quotes are rare in notebook cells)."""
    position = 0
    while True:
        if open_quote is not None:
            end = line.find(open_quote, position)
            if end < 0:
                return open_quote
            position, open_quote = end + 3, None
            continue
        hits = [(i, q) for q in ('"""', "'''") if (i := line.find(q, position)) >= 0]
        comment = line.find("#", position)
        if not hits:
            return None
        start, quote = min(hits)
        if 0 <= comment < start:
            return None
        position, open_quote = start + 3, quote


def _unused(base: str, texts: list[str]) -> str:
    candidate, number = base, 0
    while any(candidate in text for text in texts):
        number += 1
        candidate = f"{base} {number}"
    return candidate


def parse(text: str) -> Notebook:
    """The notebook in ``text``; raises NotebookError when it is not one."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise NotebookError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a Jupyter notebook (nbformat 4): no `cells` list")
    sources: list[tuple[int, str, bool]] = []
    for index, cell in enumerate(data["cells"]):
        if not isinstance(cell, dict):
            raise NotebookError(f"cell {index + 1} is not a JSON object")
        if cell.get("cell_type") == "code":
            sources.append((index, *_source_text(cell, index)))
    # The marker of masked lines and the boundary between cells must be text no cell holds, or
    # the fixed text could not be cut back into its cells.
    mark = _unused(_MASK_MARK, [original for _, original, _ in sources])
    cells: list[_Cell] = []
    for index, original, as_list in sources:
        masked = _mask(original, mark)
        if masked is not None:
            cells.append(_Cell(index, original, masked[0], masked[1], as_list))
    notebook = Notebook(data, cells, _is_python(data.get("metadata")), text, mark=mark)
    notebook.boundary = _unused(BOUNDARY, [cell.masked for cell in cells])
    line = 1
    for cell in notebook.cells:
        notebook.starts.append(line)
        line += len(_NEWLINE.findall(cell.masked)) + 1  # its lines, then the boundary
    return notebook


def _cell_of(notebook: Notebook, line: int) -> int:
    """Position in ``notebook.cells`` of the cell holding a virtual line."""
    found = 0
    for position, start in enumerate(notebook.starts):
        if start <= line:
            found = position
    return found


def _offsets(notebook: Notebook) -> list[int]:
    """Code lines before each cell (ruff's concatenated cells: no boundary lines)."""
    offsets, total = [], 0
    for cell in notebook.cells:
        offsets.append(total)
        total += len(_NEWLINE.findall(cell.masked))
    return offsets


def map_finding(notebook: Notebook, finding: Finding) -> Finding:
    """A finding on the joined text, with positions within its cell and the cell in ``extra``."""
    position = _cell_of(notebook, finding.line)
    start = notebook.starts[position] - 1 if notebook.starts else 0

    def shift(line: int, first: int = start) -> int:
        return max(1, line - first)

    related, related_cells, related_offsets = [], [], []
    offsets = _offsets(notebook)
    for r in finding.related:  # each in its own cell
        own = _cell_of(notebook, r.line)
        related_offsets.append(offsets[own] if offsets else 0)
        first = notebook.starts[own] - 1 if notebook.starts else 0
        related.append(
            Related(r.message, shift(r.line, first), r.column, shift(r.end_line, first), r.end_column, r.path)
        )
        related_cells.append(notebook.cells[own].index + 1 if notebook.cells else 1)
    fix = finding.fix
    if fix is not None:
        edits = tuple(Edit(shift(e.line), e.column, shift(e.end_line), e.end_column, e.content) for e in fix.edits)
        fix = type(fix)(fix.applicability, fix.description, edits)
    extra = {"related_cells": related_cells, "related_line_offsets": related_offsets} if related else {}
    cell = notebook.cells[position].index + 1 if notebook.cells else 1
    offset = offsets[position] if offsets else 0
    return Finding(
        finding.code, finding.name, finding.severity, finding.message, finding.path,
        shift(finding.line), finding.column, shift(finding.end_line), finding.end_column, tuple(related), fix,
        {**finding.extra, "cell": cell, "cell_line_offset": offset, **extra},
    )  # fmt: skip


def lint_notebook_bytes(path: str, data: bytes, options: Any) -> list[Finding]:
    """The findings of the notebook's code cells; IL901 for a file that is no notebook."""
    from initlint.engine import engine_finding, lint_source
    from initlint.source import SourceFile

    try:
        notebook = parse(_decode(data))
    except NotebookError as exc:
        problem = engine_finding("IL901", f"unreadable notebook: {exc}", path)
        return [problem] if problem.code in options.codes else []
    if not notebook.python or not notebook.cells:
        return []
    findings = lint_source(SourceFile(path, notebook.virtual, "utf-8"), options)
    return [map_finding(notebook, f) for f in findings]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # nbformat is UTF-8
    except UnicodeDecodeError as exc:
        raise NotebookError(f"not UTF-8: {exc.reason} at byte {exc.start}") from None


@dataclass
class NotebookFix:
    data: bytes  # the new file (the old one when nothing was applied)
    findings: list[Finding]
    applied: int = 0
    problems: list[str] = field(default_factory=list)
    changed_cells: list[tuple[int, str, str]] = field(default_factory=list)  # (cell, before, after)
    fixed_codes: dict[str, int] = field(default_factory=dict)


def fix_notebook_bytes(path: str, data: bytes, options: Any, unsafe: bool) -> NotebookFix:
    """The notebook with the fixes of its code cells applied. Only the `source` of the cells
    that changed differs; the JSON is written back with the file's indent, key order, escaping
    and final newline, and when that layout cannot be reproduced exactly nothing is applied."""
    from initlint.engine import engine_finding, fix_source
    from initlint.source import SourceFile

    try:
        text = _decode(data)
        notebook = parse(text)
    except NotebookError as exc:
        problem = engine_finding("IL901", f"unreadable notebook: {exc}", path)
        return NotebookFix(data, [problem] if problem.code in options.codes else [])
    if not notebook.python or not notebook.cells:
        return NotebookFix(data, [])
    outcome = fix_source(SourceFile(path, notebook.virtual, "utf-8"), options, unsafe)
    findings = [map_finding(notebook, f) for f in outcome.findings]
    result = NotebookFix(data, findings, 0, list(outcome.problems))
    if outcome.applied == 0:
        return result
    pieces = _split(notebook, outcome.source.text)
    layout = _layout(text)
    if pieces is None or layout is None or _dump(notebook.data, layout) != text:
        # The fixed text cannot be cut back into its cells, or the file's JSON layout cannot be
        # reproduced: writing would change more than the fixed cells.
        result.problems.append("fixes not applied: the notebook could not be written back in its own layout")
        findings = lint_source_of(notebook, path, options)
        result.findings = findings
        return result
    for cell, new in zip(notebook.cells, pieces, strict=True):
        if new == cell.original:
            continue
        raw = notebook.data["cells"][cell.index]
        raw["source"] = new.splitlines(keepends=True) if cell.as_list else new
        result.changed_cells.append((cell.index + 1, cell.original, new))
    result.data = _dump(notebook.data, layout).encode("utf-8")
    if data.startswith(b"\xef\xbb\xbf"):
        result.data = b"\xef\xbb\xbf" + result.data
    result.applied, result.fixed_codes = outcome.applied, outcome.fixed_codes
    return result


def lint_source_of(notebook: Notebook, path: str, options: Any) -> list[Finding]:
    from initlint.engine import lint_source
    from initlint.source import SourceFile

    return [map_finding(notebook, f) for f in lint_source(SourceFile(path, notebook.virtual, "utf-8"), options)]


def _split(notebook: Notebook, fixed: str) -> list[str] | None:
    """The fixed joined text cut back into cell sources, IPython lines restored; None when the
    boundaries or masked lines did not survive the fixes unchanged."""
    parts: list[str] = [""]
    for line in _lines(fixed):
        if line == f"{notebook.boundary}\n":
            parts.append("")
        else:
            parts[-1] += line
    if len(parts) != len(notebook.cells):
        return None
    sources = []
    for cell, part in zip(notebook.cells, parts, strict=True):
        lines = _lines(part)
        masks = iter(cell.masks)
        pending = next(masks, None)
        out = []
        for line in lines:
            body = line.rstrip("\r\n")
            if pending is not None and body == pending[0]:
                out.append(pending[1] + line[len(body) :])
                pending = next(masks, None)
            elif notebook.mark in body:
                return None
            else:
                out.append(line)
        if pending is not None:
            return None
        text = "".join(out)
        if not cell.original.endswith(("\n", "\r")) and text.endswith("\n"):
            text = text[:-1]  # the newline added to join the cells
        sources.append(text)
    return sources


@dataclass(frozen=True)
class _Layout:
    indent: int | str | None
    separators: tuple[str, str]
    ensure_ascii: bool
    final_newline: bool


def _layout(text: str) -> _Layout | None:
    body = text.lstrip("\ufeff")
    lines = body.splitlines()
    indent: int | str | None = None
    if len(lines) > 1:
        second = lines[1]
        indentation = second[: len(second) - len(second.lstrip())]
        if not indentation:
            return None
        indent = len(indentation) if set(indentation) == {" "} else indentation
        separators = (",", ": ")
    else:
        separators = (", " if '", "' in body or "}, {" in body else ",", ": " if '": ' in body else ":")
    ensure_ascii = not any(ord(char) > 127 for char in body)
    return _Layout(indent, separators, ensure_ascii, body.endswith("\n"))


def _dump(data: Any, layout: _Layout) -> str:
    text = json.dumps(data, indent=layout.indent, separators=layout.separators, ensure_ascii=layout.ensure_ascii)
    return text + "\n" if layout.final_newline else text


def cell_diff(path: str, changed: list[tuple[int, str, str]]) -> str:
    """A unified diff per changed cell, named `path:cell N`."""
    import difflib

    out = []
    for number, before, after in changed:
        lines = difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            fromfile=f"a/{path}:cell {number}", tofile=f"b/{path}:cell {number}",
        )  # fmt: skip
        out.extend(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return "".join(out)
