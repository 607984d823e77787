"""What keeps project-wide analysis cheap: the text facts and triggers that decide whether another
file is worth parsing, outlines against detailed summaries, and models freed after each file.

Each shortcut may only skip work whose answer it can tell is "nothing": the checks here pair a
case the shortcut skips with one it must not skip."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from initlint.engine import LintOptions, lint_source, may_enter_project
from initlint.project import index
from initlint.project.index import ProjectIndex, ProjectSpec
from initlint.project.text_facts import may_initialize, may_pass_through, top_level_classes, top_level_functions
from initlint.rules import BY_CODE
from initlint.rules.triggers import bare_init_function_call, init_named_call, says_init
from initlint.semantic.model import SemanticModel
from initlint.source import SourceFile


# -- names that say they initialize ------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["weights_init", "init_weights", "_init_weights", "init", "reinit_params", "initialize", "weightsInit"]
)
def test_names_that_say_they_initialize(name: str) -> None:
    assert says_init(name)


@pytest.mark.parametrize("name", ["__init__", "__post_init__", "initial_noise", "is_initialized", "isfinite", "xinit"])
def test_names_that_do_not(name: str) -> None:
    assert not says_init(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from utils import weights_init\nweights_init(net)\n", True),
        ("from utils import *\nweights_init(net)\n", True),
        ("from utils import (\n    other,\n    init_weights,\n)\ninit_weights(net)\n", True),
        ("import utils\nutils.init_weights(net)\n", True),
        # defined here, a method of self / super() / a class, or never imported: not another file's
        ("def weights_init(m):\n    pass\nweights_init(net)\n", False),
        ("import utils\nself.init_weights(net)\nsuper()._init_weights(m)\nBase._init_weights(self, m)\n", False),
        ("from utils import other\nweights_init(net)\n", False),
        ("from utils import init_weights\ninit_weights()\n", False),  # nothing handed over
        ("class A:\n    def __init__(self):\n        super().__init__()\n", False),
    ],
)
def test_the_project_trigger(text: str, expected: bool) -> None:
    assert init_named_call(text, with_argument=True) is expected
    assert may_enter_project(text) is expected


def test_the_project_trigger_opens_on_any_apply() -> None:
    # `.apply` also carries this file's init into another file's network (IL401 both ways)
    assert may_enter_project("net = Net()\nnet.apply(weights_init)\n")


def test_il417_opens_on_an_imported_name_called_without_arguments() -> None:
    rule = BY_CODE["IL417"]
    assert rule.may_match("from helpers import init_all\n\ninit_all()\n")
    assert rule.may_match("from models import *\nnet.apply(weights_init)\n")
    assert not rule.may_match("def init_all():\n    pass\n\ninit_all()\n")
    assert not rule.may_match("from models import Net\nnet.apply(weights_init)\n")  # defined below, say


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("trunc_normal_(self.pos_embed, std=.02)", True),
        ("x = normal_ (w)", True),
        ("nn.init.trunc_normal_(w)", False),  # an attribute: the engine's own trigger reads it
        ("self.weight.normal_(0, 1)", False),
        ("my_trunc_normal_(w)", False),
        ("trunc_normal_ = 3", False),
    ],
)
def test_bare_init_function_calls(text: str, expected: bool) -> None:
    assert bare_init_function_call(text) is expected


# -- text facts ---------------------------------------------------------------------------------------
UTILS = """\
import math

from torch.nn.init import normal_ as draw


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return x1 * x2


@decorated
def lecun(tensor):
    draw(tensor, 0.0, 1.0 / math.sqrt(tensor.shape[1]))


async def fetch():
    pass


class Block:
    def helper(self):
        pass
"""


def test_top_level_functions_and_classes_from_the_text() -> None:
    functions = top_level_functions(UTILS)
    assert sorted(functions) == ["fetch", "lecun", "rotate_half"]
    assert functions["rotate_half"].startswith("def rotate_half(x):")
    assert "@decorated" not in functions["rotate_half"]  # cut before the next definition's decorator
    assert "helper" not in functions  # a method, not at column 0
    assert top_level_classes(UTILS) == frozenset({"Block"})


def test_a_function_text_without_init_words_initializes_nothing() -> None:
    functions = top_level_functions(UTILS)
    assert not may_initialize(functions["rotate_half"], ())
    assert may_initialize("def f(m):\n    m.weight.data.fill_(0)\n", ())
    assert may_initialize("def f(m):\n    helper_init(m)\n", ())
    assert may_initialize("def f(m):\n    fancy(m)\n", (("pkg.fancy", "normal_"),))  # a configured alias


def test_a_pass_through_needs_an_init_function_in_its_text() -> None:
    functions = top_level_functions(UTILS)
    assert not may_pass_through(functions["rotate_half"], UTILS, ())
    # `draw` is torch.nn.init.normal_ imported under another name: only the file's imports tell
    assert may_pass_through(functions["lecun"], UTILS, ())
    assert may_pass_through("def t(tensor):\n    trunc_normal_(tensor)\n", "", ())
    assert may_pass_through("def t(tensor):\n    init.normal_(tensor)\n", "", ())


# -- outlines and detailed summaries -------------------------------------------------------------------
INIT_WRAPPER = """\
import torch.nn as nn


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    return nn.init.trunc_normal_(tensor, mean, std, a, b)


def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_normal_(m.weight)


def get_norm(channels):
    return nn.InstanceNorm2d(channels)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
"""


def test_an_outline_answers_names_aliases_and_factories_but_not_effects(tmp_path: Path) -> None:
    path = tmp_path / "layers.py"
    path.write_text(INIT_WRAPPER)
    project = ProjectIndex(ProjectSpec(str(tmp_path), str(tmp_path / "cache")))
    outline = project.summary(path, detail=False)
    assert outline is not None and not outline.detail
    assert outline.functions["trunc_normal_"].alias_of == "trunc_normal_"
    assert outline.functions["get_norm"].returns is not None
    assert outline.functions["get_norm"].returns.type_name == "InstanceNorm2d"
    assert outline.functions["weights_init"].effects == ()  # left for the detailed summary
    assert outline.classes["Net"].layers == ()
    detailed = project.summary(path)
    assert detailed is not None and detailed.detail
    assert [e.attr for e in detailed.functions["weights_init"].effects] == ["weight"]
    assert [layer.path for layer in detailed.classes["Net"].layers] == ["fc"]
    # the detailed one answers an outline's question from now on, and both are on disk
    assert project.summary(path, detail=False) is detailed
    fresh = ProjectIndex(ProjectSpec(str(tmp_path), str(tmp_path / "cache")))
    assert fresh.summary(path, detail=False) == outline
    assert fresh.summary(path) == detailed


def test_a_text_fact_is_recorded_as_a_dependency(tmp_path: Path) -> None:
    """A check that read another file's text facts depends on them, not on its bytes."""
    path = tmp_path / "utils.py"
    path.write_text(UTILS)
    spec = ProjectSpec(str(tmp_path))
    project = ProjectIndex(spec)
    facts = project.text_facts(path)
    assert facts is not None and "lecun" in facts.may_pass_through and "rotate_half" not in facts.may_initialize
    key = index.dependency_key(path, "text")
    recorded = project.read[key]
    assert index.dependency_holds(spec, key, recorded)  # unchanged bytes
    index._OPEN.clear()
    path.write_text(UTILS + "\n# a comment\n")  # the bytes change, the facts do not
    assert index.dependency_holds(spec, key, recorded)
    index._OPEN.clear()
    path.write_text(UTILS + "\n\ndef init_more(m):\n    nn.init.zeros_(m.bias)\n")
    assert not index.dependency_holds(spec, key, recorded)


# -- a two-file project: an MLP in net.py, the Xavier init it applies in inits.py (IL201 at net.py:12) --------
INITS = (
    "import torch.nn as nn\n\n\ndef weights_init(m):\n    if isinstance(m, nn.Linear):\n"
    "        nn.init.xavier_normal_(m.weight)\n"
)
NET = (
    "import torch.nn as nn\nimport torch.nn.functional as F\nfrom inits import weights_init\n\n\n"
    "class MLP(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.fc1 = nn.Linear(64, 64)\n        self.fc2 = nn.Linear(64, 64)\n"
    "        self.fc3 = nn.Linear(64, 10)\n        self.apply(weights_init)\n\n"
    "    def forward(self, x):\n        x = F.relu(self.fc1(x))\n        x = F.relu(self.fc2(x))\n"
    "        return self.fc3(x)\n"
)


def _write_project(root: Path) -> Path:
    """inits.py and net.py under ``root``; the path of net.py."""
    (root / "inits.py").write_text(INITS)
    net = root / "net.py"
    net.write_text(NET)
    return net


def test_an_edit_that_leaves_the_summaries_as_they_were_rechecks_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from initlint import runner
    from initlint.cli import main

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    _write_project(tmp_path)
    checked: list[str] = []
    original = runner.lint_source

    def spy(source, options, deps=None):  # type: ignore[no-untyped-def]
        checked.append(Path(source.path).name)
        return original(source, options, deps)

    monkeypatch.setattr(runner, "lint_source", spy)
    monkeypatch.chdir(tmp_path)

    def run() -> str:
        index._OPEN.clear()
        return CliRunner().invoke(main, ["check", "-j", "1", "--cache-dir", str(tmp_path / ".c"), "."]).output

    assert "net.py:12:9: IL201" in run()
    assert sorted(checked) == ["inits.py", "net.py"]
    checked.clear()
    with (tmp_path / "inits.py").open("a") as handle:
        handle.write("# a comment at the end\n")
    assert "net.py:12:9: IL201" in run()
    assert checked == ["inits.py"]  # net.py read nothing that changed
    checked.clear()
    (tmp_path / "inits.py").write_text((tmp_path / "inits.py").read_text().replace("xavier_normal_", "kaiming_normal_"))
    assert "IL201" not in run()
    assert sorted(checked) == ["inits.py", "net.py"]


# -- memory: a checked file's model is freed once its findings are out -----------------------------------
def test_models_are_freed_after_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = _write_project(tmp_path)
    built: list[weakref.ref[SemanticModel]] = []
    original = SemanticModel.__init__

    def remember(self: SemanticModel, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        built.append(weakref.ref(self))

    monkeypatch.setattr(SemanticModel, "__init__", remember)
    index._OPEN.clear()
    options = LintOptions(codes=frozenset(BY_CODE), project=ProjectSpec(str(tmp_path)))
    findings = lint_source(SourceFile.from_bytes(str(net), net.read_bytes()), options)
    assert [f.code for f in findings if f.code == "IL201"] == ["IL201"]  # the project view was used
    assert built
    del findings
    gc.collect()  # only for cycles that are not ours: ours are freed by reference counting
    assert [ref for ref in built if ref() is not None] == []
