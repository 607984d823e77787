"""Rule documentation: the Markdown files of rules/, packaged as initlint/rule_docs in wheels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent / "rule_docs"
_SOURCE_TREE = Path(__file__).resolve().parent.parent / "rules"
_TITLE = re.compile(r"^#\s+(IL\d+)\s+`([a-z0-9-]+)`\s*$", re.MULTILINE)
_CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
_FILE_LABEL = re.compile(r"File `([\w./-]+)`:")


def doc_path(code: str) -> Path:
    for folder in (_PACKAGED, _SOURCE_TREE):
        candidate = folder / f"{code}.md"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no documentation for {code}")


def read_doc(code: str) -> str:
    return doc_path(code).read_text(encoding="utf-8")


@dataclass
class RuleDoc:
    title_code: str
    title_name: str
    meta: dict[str, str]
    sections: dict[str, str] = field(default_factory=dict)

    def _blocks(self, section: str) -> list[tuple[str | None, str]]:
        """The section's python blocks, each with the file name its label gives (``File `utils.py`:``
        on the line before it: another file of the example's project) or None."""
        text = self.sections.get(section, "")
        out: list[tuple[str | None, str]] = []
        for match in _CODE_BLOCK.finditer(text):
            before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
            label = _FILE_LABEL.fullmatch(before.strip())
            out.append((label.group(1) if label else None, match.group(1)))
        return out

    def _first_block(self, section: str) -> str:
        return next((code for name, code in self._blocks(section) if name is None), "")

    @property
    def example_files(self) -> tuple[tuple[str, str], ...]:
        """Other files of the Example's project (for rules that follow imports across files)."""
        return tuple((name, code) for name, code in self._blocks("Example") if name is not None)

    @property
    def example(self) -> str:
        return self._first_block("Example")

    @property
    def use_instead(self) -> str:
        return self._first_block("Use instead")


def parse_doc(text: str) -> RuleDoc:
    """Title ``# IL101 `name```, a one-row table (code|name|severity|default|fix), ``##`` sections."""
    title = _TITLE.search(text)
    if title is None:
        raise ValueError("a rule doc starts with '# ILxxx `name`'")
    rows = [line for line in text.splitlines() if line.startswith("|")]
    header = [c.strip().lower() for c in rows[0].strip("|").split("|")]
    values = [c.strip().strip("`") for c in rows[2].strip("|").split("|")]
    sections: dict[str, str] = {}
    for chunk in re.split(r"^##\s+", text, flags=re.MULTILINE)[1:]:
        heading, _, body = chunk.partition("\n")
        sections[heading.strip()] = body
    return RuleDoc(title.group(1), title.group(2), dict(zip(header, values, strict=True)), sections)
