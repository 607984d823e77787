"""Trigger patterns shared by rules (see ``Rule.triggers``): text a finding cannot do without."""

from __future__ import annotations

import re

# Any init site needs an nn.init reference (every import style) or an in-place
# normal_/uniform_/fill_/zero_ on a weight, a bias, `.data` or an attribute of self.
# Configured init aliases are matched by the engine (``Rule.uses_init_aliases``).
INIT_TRIGGER = (
    r"nn\s*\.\s*init\b"
    r"|from\s+torch\s*\.\s*nn\s+import\s*(?:\([^)]*|[^\n]*)\binit\b"
    r"|from\s+torch\s*\.\s*nn\s*\.\s*init\s+import"
    r"|import\s+torch\s*\.\s*nn\s*\.\s*init"
    r"|(?:weight\w*|bias\w*|data|self\s*\.\s*\w+)\s*\.\s*(?:normal_|uniform_|fill_|zero_)\s*\("
)

_INIT = re.compile(INIT_TRIGGER)
_WEIGHT_OR_BIAS = re.compile(r"\.\s*(?:weight|bias)\b")
_UNDERSCORE_CALL = re.compile(r"[A-Za-z0-9]_\s*\(")


def init_code_possible(text: str, memo: dict[object, bool] | None = None) -> bool:
    """A function of this text may be init code (``tensors.is_init_code``): it calls nn.init, or
    a method or helper ending in ``_`` on a weight or bias (``trunc_normal_(m.weight)``)."""
    if memo is not None and init_code_possible in memo:
        return memo[init_code_possible]
    found = bool(_INIT.search(text) or (_WEIGHT_OR_BIAS.search(text) and _UNDERSCORE_CALL.search(text)))
    if memo is not None:
        memo[init_code_possible] = found
    return found


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
