"""Facts read off a file's text before it is parsed: which functions it defines at its top level,
and whether a function's own text can hold init code at all. They decide only whether a file is
worth parsing for a question (as the rules' triggers do): a "no" is never a finding, and a "maybe"
is settled by the summary."""

from __future__ import annotations

import hashlib
import re

_TOP_LEVEL_DEF = re.compile(r"^(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)
# Where a top-level function's text surely ends: the next top-level definition or decorator.
_NEXT_TOP_LEVEL = re.compile(r"^(?:@|def[ \t]|async[ \t]+def[ \t]|class[ \t])", re.MULTILINE)
# Without one of these, a function's text cannot initialize what it is given: torch.nn.init or a
# function named for init (not `__init__`), `.apply(`, an in-place init method, a weight or bias.
INIT_CODE = re.compile(
    r"(?<!__)(?:init|Init|INIT)|\.apply\s*\(|(?:normal|uniform|fill|zero|copy|orthogonal)_\s*\(|\.data\b"
    r"|\.(?:weight|bias)\b|reset_parameters"
)
# A pass-through of an nn.init function calls it: through a name with `init` in its path, or one
# ending in `_` (`trunc_normal_(`), or a name imported from torch.nn.init (`as tn`, `normal`).
_INIT_WORD = re.compile(r"\binit\b")
_UNDERSCORE_CALL = re.compile(r"\w_\s*\(")
_FROM_INIT_MODULE = re.compile(r"\bfrom\s+torch\s*\.\s*nn\s*\.\s*init\s+import\s*(\([^)]*\)|[^\n]*)")
_WORD = re.compile(r"\w+")


def top_level_functions(text: str) -> dict[str, str]:
    """Each function defined at column 0 and the text from its ``def`` to the next top-level
    definition (or the end): a superset of its body, short of a ``def`` at column 0 in a string."""
    starts = [(match.group(1), match.start()) for match in _TOP_LEVEL_DEF.finditer(text)]
    out: dict[str, str] = {}
    for name, start in starts:
        line_end = text.find("\n", start)
        end = _NEXT_TOP_LEVEL.search(text, line_end + 1 if line_end != -1 else len(text))
        out[name] = text[start : end.start() if end else len(text)]
    return out


_TOP_LEVEL_CLASS = re.compile(r"^class[ \t]+(\w+)", re.MULTILINE)


def top_level_classes(text: str) -> frozenset[str]:
    return frozenset(_TOP_LEVEL_CLASS.findall(text))


def mentions_alias(text: str, aliases: tuple[tuple[str, str], ...]) -> bool:
    """The last part of a configured init alias (``mylib.init.lecun_``: ``lecun_``) is in the text."""
    return any(alias.rsplit(".", 1)[-1] in text for alias, _ in aliases)


def may_initialize(function_text: str, aliases: tuple[tuple[str, str], ...]) -> bool:
    return bool(INIT_CODE.search(function_text)) or mentions_alias(function_text, aliases)


def names_from_init_module(file_text: str) -> frozenset[str]:
    """The names ``from torch.nn.init import ...`` binds in a file (with ``as`` names)."""
    if "torch" not in file_text:
        return frozenset()
    words = {word for match in _FROM_INIT_MODULE.finditer(file_text) for word in _WORD.findall(match.group(1))}
    return frozenset(words - {"import", "as"})


def may_pass_through(
    function_text: str, file_text: str, aliases: tuple[tuple[str, str], ...], imported: frozenset[str] | None = None
) -> bool:
    """The function's text may call an nn.init function (see project.wrappers)."""
    if _INIT_WORD.search(function_text) or _UNDERSCORE_CALL.search(function_text):
        return True
    if mentions_alias(function_text, aliases):
        return True
    imported = names_from_init_module(file_text) if imported is None else imported
    return any(re.search(rf"\b{re.escape(word)}\s*\(", function_text) for word in imported)


_TORCH = re.compile(r"\btorch\b")
_RETURN = re.compile(r"\breturn\b")


class TextFacts:
    """Every fact of one file's text that a check of another file may read. A check depends on
    their digest, not on the file's bytes: an edit that changes none of them (a comment, a new
    unrelated line) re-checks nothing else."""

    def __init__(self, text: str, aliases: tuple[tuple[str, str], ...]) -> None:
        functions = top_level_functions(text)
        self.function_names = frozenset(functions)
        self.classes = top_level_classes(text)
        self.calls_init = bool(_INIT_WORD.search(text)) or mentions_alias(text, aliases)
        self.mentions_torch = bool(_TORCH.search(text))
        self.may_initialize = frozenset(n for n, own in functions.items() if may_initialize(own, aliases))
        imported = names_from_init_module(text)
        # Only a file that can call nn.init can hold a pass-through of it.
        self.may_pass_through = frozenset(
            n for n, own in functions.items() if self.calls_init and may_pass_through(own, text, aliases, imported)
        )
        self.returns = frozenset(n for n, own in functions.items() if _RETURN.search(own))
        parts = [
            sorted(self.function_names), sorted(self.classes), self.calls_init, self.mentions_torch,
            sorted(self.may_initialize), sorted(self.may_pass_through), sorted(self.returns),
        ]  # fmt: skip
        self.digest = hashlib.sha1(repr(parts).encode()).hexdigest()[:20]

    def rules_out(self, name: str, candidates: frozenset[str]) -> bool:
        """``name`` is a function this text defines and not one of ``candidates`` (the functions a
        fact allows): the question about it is answered "no" without parsing."""
        return name in self.function_names and name not in candidates
