"""Rule examples are written as dedented blocks (``src(\"\"\"...\"\"\")``) that read like the code
they are, not as ``"...\\n"`` concatenations; ``src`` gives back exactly the code in the block."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from initlint.rules.base import src

RULES = Path(__file__).resolve().parent.parent / "initlint" / "rules"


def test_src_drops_the_opening_newline_and_the_common_indentation() -> None:
    block = """
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                nn.init.normal_(w)
    """
    assert src(block) == (
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        nn.init.normal_(w)\n"
    )


def test_src_keeps_what_the_block_says_after_its_indentation() -> None:
    # No newline at the end when the quotes close on the last line.
    assert (
        src("""
        x = 1""")
        == "x = 1"
    )
    # An empty line inside the block stays empty and does not count towards the indentation.
    assert src("\n    a = 1\n\n    b = 2\n") == "a = 1\n\nb = 2\n"
    # Backslashes, quotes and text after the margin are kept as written.
    assert (
        src(r"""
        s = "a\nb"  # trailing
          y = 2
    """)
        == 's = "a\\nb"  # trailing\n  y = 2\n'
    )
    # A tab is not a space: a block indented with one is left as it is.
    assert src("\n\tx = 1\n") == "\tx = 1\n"
    assert src("") == ""
    assert src("x = 1\n") == "x = 1\n"


def _expressible_as_block(value: str) -> bool:
    """``value`` survives a round trip through an indented block (else it has to stay a string)."""
    indented = "\n".join("    " + line if line else "" for line in value.split("\n"))
    return src("\n" + indented) == value and "\r" not in value and "\t" not in value


def _example_nodes(tree: ast.Module) -> list[ast.expr]:
    """The VALID elements and the code/fixed of every Invalid(...) in INVALID."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id
        if name not in ("VALID", "INVALID") or not isinstance(node.value, ast.Tuple):
            continue
        for element in node.value.elts:
            if name == "VALID":
                found.append(element)
            elif isinstance(element, ast.Call):
                found.extend(element.args[:2])
                found.extend(k.value for k in element.keywords if k.arg in ("code", "fixed"))
    return found


@pytest.mark.parametrize("path", sorted(RULES.glob("il*.py")), ids=lambda p: p.stem)
def test_rule_examples_are_dedented_blocks(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    examples = _example_nodes(tree)
    assert examples, f"{path.name}: no examples found"
    for node in examples:
        where = f"{path.name}:{node.lineno}"
        # A string joined from pieces ("a\n" "b\n", or _HEAD + "...") reads like no code.
        assert not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)), f"{where}: `+` of strings"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            # Only an example a block cannot hold stays a plain string.
            assert not _expressible_as_block(node.value), f'{where}: write it as src("""...""")'
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "src":
            (argument,) = node.args
            assert isinstance(argument, ast.Constant) and isinstance(argument.value, str), where
            assert argument.value.startswith("\n"), f"{where}: the block starts on the line after its quotes"
