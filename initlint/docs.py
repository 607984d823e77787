"""Rule documentation: the Markdown files of rules/, packaged as initlint/rule_docs in wheels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent / "rule_docs"
_SOURCE_TREE = Path(__file__).resolve().parent.parent / "rules"
_TITLE = re.compile(r"^#\s+(IL\d+)\s+`([a-z0-9-]+)`\s*$", re.MULTILINE)
_CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


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

    def _first_block(self, section: str) -> str:
        match = _CODE_BLOCK.search(self.sections.get(section, ""))
        return match.group(1) if match else ""

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
