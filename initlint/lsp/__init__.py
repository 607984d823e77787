"""`initlint server`: a Language Server over stdio (needs the `lsp` extra: pygls).

``analysis`` holds what the server computes (findings of an open document under its project's
configuration, noqa edits, position units) and imports no pygls, so it is testable on its own;
``server`` is the pygls glue.
"""

from __future__ import annotations

import importlib.util

MISSING_MESSAGE = 'initlint server needs pygls, which is not installed (pip install "initlint[lsp]")'


def available() -> bool:
    """Whether pygls and lsprotocol can be imported (checked without importing them)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("pygls", "lsprotocol"))
    except (ImportError, ValueError):  # a module set to None in sys.modules, a broken spec
        return False
