"""Trigger patterns shared by rules (see ``Rule.triggers``): text a finding cannot do without."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

# Any init site needs an nn.init reference (every import style) or an in-place
# normal_/uniform_/fill_/zero_ on a weight, a bias, `.data` or an attribute of self, or a value
# assigned or copied into the weight or bias of something other than bare `self`
# (`m.weight.data = torch.randn(...) * 0.01`, `fc.bias.copy_(...)`: semantic/drawn.py).
# Configured init aliases are matched by the engine (``Rule.uses_init_aliases``).
_ASSIGNED_RECEIVER = r"(?:(?<![\w.])(?!self\b)[A-Za-z_]\w*|\.\s*[A-Za-z_]\w*|[\])])\s*\.\s*"
_ASSIGNED_PARAMETER = r"(?:weight|bias)\w*(?:\s*\.\s*data)?\s*(?:=(?!=)|\.\s*copy_\s*\()"
# torch.nn under another name (`import torch.nn as tnn`): `tnn.init.normal_` spells no `nn.init`.
_NN_ALIAS = (
    r"import\s+torch\s*\.\s*nn\s+as\s+(?!nn\b)\w|from\s+torch\s+import\s*(?:\([^)]*|[^\n]*)\bnn\s+as\s+(?!nn\b)\w"
)
INIT_TRIGGER = (
    r"nn\s*\.\s*init\b"
    r"|from\s+torch\s*\.\s*nn\s+import\s*(?:\([^)]*|[^\n]*)\binit\b"
    r"|from\s+torch\s*\.\s*nn\s*\.\s*init\s+import"
    r"|import\s+torch\s*\.\s*nn\s*\.\s*init"
    r"|(?:weight\w*|bias\w*|data|self\s*\.\s*\w+)\s*\.\s*(?:normal_|uniform_|fill_|zero_)\s*\("
    rf"|{_ASSIGNED_RECEIVER}{_ASSIGNED_PARAMETER}"
    rf"|{_NN_ALIAS}"
)

# INIT_TRIGGER as one regex is slow (no literal prefix: the engine tries it at every offset).
# The same test, anchored on literals: find each candidate word fast, then look around it.
_INIT_WORD = re.compile(r"init\b")
_BEFORE_INIT = re.compile(r"(?:nn\s*\.\s*|import\s+torch\s*\.\s*nn\s*\.\s*)\Z")
_FROM_TORCH_NN = re.compile(r"from\s+torch\s*\.\s*nn(?:\s+import\s*(?:\([^)]*|[^\n]*)\binit\b|\s*\.\s*init\s+import)")
_NN_ALIASED = re.compile(_NN_ALIAS)
_IN_PLACE = tuple(re.compile(name + r"_\s*\(") for name in ("normal", "uniform", "fill", "zero"))
_BEFORE_IN_PLACE = re.compile(r"(?:weight\w*|bias\w*|data|self\s*\.\s*\w+)\s*\.\s*\Z")
_LOOK_BACK = 160  # characters of spacing and names a match may span before its anchor word
_ASSIGNED = re.compile(_ASSIGNED_PARAMETER)
_BEFORE_ASSIGNED = re.compile(_ASSIGNED_RECEIVER + r"\Z")


def has_init_reference(text: str) -> bool:
    """Whether ``INIT_TRIGGER`` occurs in ``text`` (tests check the two agree)."""
    for match in _INIT_WORD.finditer(text):
        if _BEFORE_INIT.search(text, max(0, match.start() - _LOOK_BACK), match.start()):
            return True
    if "torch" in text and (_FROM_TORCH_NN.search(text) or ("as" in text and _NN_ALIASED.search(text))):
        return True
    for pattern in _IN_PLACE:
        for match in pattern.finditer(text):
            if _BEFORE_IN_PLACE.search(text, max(0, match.start() - _LOOK_BACK), match.start()):
                return True
    for match in _ASSIGNED.finditer(text):
        if _BEFORE_ASSIGNED.search(text, max(0, match.start() - _LOOK_BACK), match.start()):
            return True
    return False


class _InitTrigger:
    """Stands in for the compiled INIT_TRIGGER in ``Rule.compiled_triggers``."""

    pattern = INIT_TRIGGER

    def search(self, text: str) -> bool | None:
        return True if has_init_reference(text) else None


INIT = _InitTrigger()


def remembered(memo: dict[object, bool] | None, key: object, compute: Callable[[], bool]) -> bool:
    """``compute()``, asked once per file: ``memo`` shares answers between the rules of a file."""
    if memo is None:
        return compute()
    found = memo.get(key)
    if found is None:
        found = memo[key] = compute()
    return found


_WEIGHT_OR_BIAS = re.compile(r"\.\s*(?:weight|bias)\b")
_UNDERSCORE_CALL = re.compile(r"_\s*\(")


def init_code_possible(text: str, memo: dict[object, bool] | None = None) -> bool:
    """A function of this text may be init code (``tensors.is_init_code``): it calls nn.init, or
    a method or helper ending in ``_`` on a weight or bias (``trunc_normal_(m.weight)``)."""
    return remembered(
        memo,
        init_code_possible,
        lambda: has_init(text, memo) or bool(_WEIGHT_OR_BIAS.search(text) and _UNDERSCORE_CALL.search(text)),
    )


def has_init(text: str, memo: dict[object, bool] | None = None) -> bool:
    """``INIT_TRIGGER`` occurs in ``text``, asked once per file through ``memo``."""
    return remembered(memo, INIT, lambda: has_init_reference(text))


def call_arguments_text(text: str, start: int) -> str | None:
    """The text between the parenthesis at ``start - 1`` and its match; None when a string or a
    comment makes the scan unsure."""
    depth = 1
    for index in range(start, len(text)):
        char = text[index]
        if char in "\"'#":
            return None
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return text[start:index]
    return None


# A name that says it initializes: `init` (or `initialize`) as a part of it, between underscores or
# at a case change (`weights_init`, `init_weights`, `reinit`, `initialize`, `weightsInit`); not
# `__init__`, `initial`, `is_initialized`, `isfinite`, `xinit`.
_INIT_PART = re.compile(r"(?:(?:^|(?<=_)|(?<=re))(?:init|INIT)|(?:^|(?<=_)|(?<=[a-z0-9]))Init)(?:iali[sz]e)?(?![a-z])")
_INIT_SPELLINGS = ("init", "Init", "INIT")
_WORD_BEFORE = re.compile(r"\w*\Z")
_WORD_AFTER = re.compile(r"\w*")
_CALL_OPEN = re.compile(r"\s*\(")
_ARGUMENT = re.compile(r"\s*\(\s*[^)\s]")
_RECEIVER_BEFORE = re.compile(r"(\w+|[^\w\s])?\s*\.\s*\Z")
_DUNDER = re.compile(r"__\w+__")
_DEF_BEFORE = re.compile(r"\b(?:def|class)\s+\Z")


def _literal_positions(text: str, literals: tuple[str, ...]) -> Iterator[int]:
    """Where each literal occurs (``str.find``: far faster than a regex with no literal prefix)."""
    for literal in literals:
        position = text.find(literal)
        while position != -1:
            yield position
            position = text.find(literal, position + 1)


def word_matches(text: str, literals: tuple[str, ...], pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
    """The matches of ``pattern`` that start at the start of a word holding one of ``literals``, in
    no particular order: ``pattern.finditer`` for a pattern that begins with such a word, without
    trying it at every offset (a leading ``\\b`` or look-behind leaves it no literal prefix)."""
    starts: set[int] = set()
    for anchor in _literal_positions(text, literals):
        start = _WORD_BEFORE.search(text, max(0, anchor - 80), anchor).start()  # type: ignore[union-attr]
        if start in starts:
            continue
        starts.add(start)
        match = pattern.match(text, start)
        if match is not None:
            yield match


class LineTrigger:
    """A trigger regex that never spans lines, searched only on the lines that hold one of
    ``literals`` (which every match contains): a regex with no literal prefix is tried at every
    offset of the file, and most of a file's lines cannot match."""

    def __init__(self, pattern: str, literals: tuple[str, ...]) -> None:
        self.pattern = pattern
        self.literals = literals
        self._compiled = re.compile(pattern)

    def search(self, text: str) -> bool | None:
        seen: set[int] = set()
        for position in _literal_positions(text, self.literals):
            start = text.rfind("\n", 0, position) + 1
            if start in seen:
                continue
            seen.add(start)
            end = text.find("\n", position)
            if self._compiled.search(text, start, len(text) if end < 0 else end):
                return True
        return None


def says_init(name: str) -> bool:
    """``name`` says it initializes (see _INIT_PART); a dunder never does."""
    return not _DUNDER.fullmatch(name) and _INIT_PART.search(name) is not None


def _module_like(receiver: str | None) -> bool:
    """What a call's receiver must be for an import to name the function: a module's name (not
    ``self``, ``cls``, a class (capitalized) or the result of a call such as ``super()``)."""
    return bool(receiver) and receiver[0].islower() and receiver not in ("self", "cls")  # type: ignore[index]


def init_named_call(text: str, *, bare: bool = False, with_argument: bool = False) -> bool:
    """A call of a function whose name says it initializes and that an import of this file may
    bind (the name itself, its module, or any name under a star import): ``weights_init(m)``,
    ``utils.init_weights(net)``; not a method (of ``self``, ``super()``, a class: a base's own).
    ``bare``: only of a plain name; ``with_argument``: only with an argument (the module)."""
    opening = _ARGUMENT if with_argument else _CALL_OPEN
    checked: set[int] = set()
    imported: ImportedWords | None = None
    for anchor in _literal_positions(text, _INIT_SPELLINGS):
        if anchor >= 2 and text.startswith("__init__", anchor - 2):
            continue  # the commonest word with `init` in it, never one that says it initializes
        start = _WORD_BEFORE.search(text, max(0, anchor - 80), anchor).start()  # type: ignore[union-attr]
        if start in checked:
            continue
        checked.add(start)
        end = _WORD_AFTER.match(text, anchor).end()  # type: ignore[union-attr]
        if not opening.match(text, end) or not says_init(text[start:end]):
            continue
        if _DEF_BEFORE.search(text, max(0, start - 20), start):
            continue  # its definition, not a call
        receiver = _RECEIVER_BEFORE.search(text, max(0, start - 80), start)
        if receiver is None:
            bound = text[start:end]
        elif not bare and _module_like(receiver.group(1)):
            bound = receiver.group(1)
        else:
            continue
        imported = imported or ImportedWords(text)
        if imported.may_bind(bound):
            return True
    return False


_APPLIED = re.compile(r"\.apply\s*\(\s*(\w+)\s*\)")


def applies_imported(text: str) -> bool:
    """``X.apply(fn)`` with ``fn`` a name an import of this file may bind."""
    imported: ImportedWords | None = None
    for match in _APPLIED.finditer(text):
        imported = imported or ImportedWords(text)
        if imported.may_bind(match.group(1)):
            return True
    return False


_FROM_BEFORE = re.compile(r"\bfrom\s+[.\w]+\s+\Z")
_FROM_NAMES = re.compile(r"import\s*(\([^)]*\)|[^\n]*)")
_PLAIN_NAMES = re.compile(r"import\s+([^\n(]*)")
_WORD = re.compile(r"\w+")


class ImportedWords:
    """The words of a file's import statements, read off its text: a name none of them has (and
    no star import) cannot come from another file."""

    def __init__(self, text: str) -> None:
        self.star = False
        self.words: set[str] = set()
        # Anchored on the word `import` (a regex over the whole text has no literal to scan by).
        for position in _literal_positions(text, ("import",)):
            if position and (text[position - 1].isalnum() or text[position - 1] in "._"):
                continue
            plain = _PLAIN_NAMES.match(text, position)
            if plain is not None:
                self.words.update(_WORD.findall(plain.group(1)))
            if _FROM_BEFORE.search(text, max(0, position - 200), position):
                names = _FROM_NAMES.match(text, position).group(1)  # type: ignore[union-attr]
                self.star |= names.lstrip("( \t").startswith("*")
                self.words.update(_WORD.findall(names))

    def may_bind(self, name: str) -> bool:
        return self.star or name in self.words


# nn.init's in-place functions, called by their bare names: a project's wrapper named like the one
# it passes through to (`trunc_normal_(w, std=.02)`, imported from the project's layers/).
_INIT_FUNCTION_NAMES = tuple(
    f"{name}_"
    for name in (
        "trunc_normal", "normal", "uniform", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
        "orthogonal", "constant", "zeros", "ones", "eye", "dirac", "sparse",
    )
)  # fmt: skip
_NAME_CHAR = re.compile(r"[.\w]")


def bare_init_function_call(text: str) -> bool:
    """A call of a bare name that is an nn.init function's (``trunc_normal_(``), not an attribute."""
    for position in _literal_positions(text, _INIT_FUNCTION_NAMES):
        before = text[position - 1] if position else " "
        end = _WORD_AFTER.match(text, position).end()  # type: ignore[union-attr]
        if not _NAME_CHAR.match(before) and text[position:end] in _INIT_FUNCTION_NAMES and _CALL_OPEN.match(text, end):
            return True
    return False
