"""Project-wide analysis: init code followed across files (initlint/project/, semantic/remote.py).

A small research-style project is written to a temporary folder for each test: the network in
one file, its init function in another, the script that applies it in a third, with the import
shapes real code uses (star imports, relative imports, re-exports in __init__.py, init wrappers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint import runner
from initlint.cli import main
from initlint.engine import lint_source
from initlint.project import index

MODELS = """\
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x))
"""

XAVIER_INIT = """\
import torch.nn as nn


def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_normal_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
"""

KAIMING_INIT = XAVIER_INIT.replace("nn.init.xavier_normal_(m.weight)", "nn.init.kaiming_normal_(m.weight)")


def write(root: Path, files: dict[str, str]) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def check(root: Path, *paths: str, extra: tuple[str, ...] = ()) -> list[dict]:
    result = CliRunner().invoke(
        main,
        ["check", "--format", "json", "--cache-dir", str(root / ".cache"), *extra, *(str(root / p) for p in paths)],
    )
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    return data if isinstance(data, list) else data["findings"]


def codes(findings: list[dict]) -> list[tuple[str, str, int]]:
    return sorted((Path(f["path"]).name, f["code"], f["line"]) for f in findings)


# -- an init function of another file, applied here -----------------------------------------------
def test_init_function_through_a_package_reexport_reaches_layers_of_this_file(tmp_path: Path) -> None:
    """train.py: `from pkg import weights_init` (re-exported by pkg/__init__.py from pkg/inits.py)
    applied to a network built in this file: Xavier before ReLU (IL201), named in the other file."""
    write(tmp_path, {
        "pkg/__init__.py": "from .inits import weights_init\n",
        "pkg/inits.py": XAVIER_INIT,
        "pkg/net.py": MODELS.replace("class MLP(nn.Module):", "from pkg import weights_init\n\n\nclass MLP(nn.Module):")
        .replace("        self.fc3 = nn.Linear(64, 10)\n", "        self.fc3 = nn.Linear(64, 10)\n        self.apply(weights_init)\n"),
    })  # fmt: skip
    findings = check(tmp_path, "pkg/net.py")  # one file named, the project still seen
    assert codes(findings) == [("net.py", "IL201", 14)]
    related = findings[0]["related"]
    assert related[0]["path"].endswith("pkg/inits.py") and related[0]["line"] == 6
    assert "inits.py:6" in findings[0]["message"]


def test_the_same_project_with_a_relu_init_is_clean(tmp_path: Path) -> None:
    write(tmp_path, {
        "pkg/__init__.py": "from .inits import weights_init\n",
        "pkg/inits.py": KAIMING_INIT,
        "pkg/net.py": MODELS.replace("class MLP(nn.Module):", "from .inits import *\n\n\nclass MLP(nn.Module):")
        .replace("        self.fc3 = nn.Linear(64, 10)\n", "        self.fc3 = nn.Linear(64, 10)\n        self.apply(weights_init)\n"),
    })  # fmt: skip
    assert check(tmp_path, "pkg/net.py") == []


def test_star_import_of_the_init_function(tmp_path: Path) -> None:
    write(tmp_path, {
        "inits.py": XAVIER_INIT,
        "net.py": MODELS.replace("class MLP(nn.Module):", "from inits import *\n\n\nclass MLP(nn.Module):")
        .replace("        self.fc3 = nn.Linear(64, 10)\n", "        self.fc3 = nn.Linear(64, 10)\n        self.apply(weights_init)\n"),
    })  # fmt: skip
    assert codes(check(tmp_path, "net.py")) == [("net.py", "IL201", 14)]


def test_a_fan_scaled_wrapper_two_files_away(tmp_path: Path) -> None:
    """init_default (defaults.py) calls lecun_normal (lecun.py) on m.weight: std = 1/sqrt(fan_in)
    is gain 1 (LeCun), which halves the variance under ReLU at every layer."""
    lecun = """\
import math
import torch


def lecun_normal(tensor, scale=1.0):
    fan_in = torch.nn.init._calculate_correct_fan(tensor, "fan_in")
    std = scale / math.sqrt(fan_in)
    with torch.no_grad():
        return tensor.normal_(0, std)
"""
    defaults = """\
import torch.nn as nn

from lecun import lecun_normal


def init_default(layer):
    if isinstance(layer, (nn.Linear, nn.Conv2d)):
        lecun_normal(layer.weight)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
"""
    net = MODELS.replace(
        "class MLP(nn.Module):", "from defaults import init_default\n\n\nclass MLP(nn.Module):"
    ).replace(
        "        self.fc3 = nn.Linear(64, 10)\n",
        "        self.fc3 = nn.Linear(64, 10)\n        self.apply(init_default)\n",
    )
    write(tmp_path, {"lecun.py": lecun, "defaults.py": defaults, "net.py": net})
    findings = check(tmp_path, "net.py")
    assert codes(findings) == [("net.py", "IL201", 14)]
    origins = [(Path(r["path"]).name, r["line"]) for r in findings[0]["related"][:2]]
    assert origins == [("lecun.py", 5), ("defaults.py", 8)]
    # scale=sqrt(2) is Kaiming for ReLU: no finding
    write(tmp_path, {"lecun.py": lecun.replace("scale=1.0", "scale=math.sqrt(2.0)")})
    assert check(tmp_path, "net.py") == []


# -- this file's init function, layers built in another file ----------------------------------------
def test_local_init_applied_to_a_network_of_another_file_without_a_bias(tmp_path: Path) -> None:
    train = """\
import torch.nn as nn

from models import Backbone


def init_conv(m):
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight)
        nn.init.zeros_(m.bias)


net = Backbone().to("cpu")
net.apply(init_conv)
"""
    write(tmp_path, {"models.py": MODELS, "train.py": train})
    findings = check(tmp_path, "train.py")
    assert codes(findings) == [("train.py", "IL401", 9)]
    assert findings[0]["related"][0]["path"].endswith("models.py") and findings[0]["related"][0]["line"] == 21
    # the guard the message asks for silences it, and its safe fix writes that guard
    guarded = train.replace(
        "        nn.init.zeros_(m.bias)\n", "        if m.bias is not None:\n            nn.init.zeros_(m.bias)\n"
    )
    write(tmp_path, {"train.py": guarded})
    assert check(tmp_path, "train.py") == []


def test_an_init_function_of_another_file_writing_a_bias_this_file_left_out(tmp_path: Path) -> None:
    unguarded = XAVIER_INIT.replace(
        "        if m.bias is not None:\n            nn.init.zeros_(m.bias)\n", "        nn.init.zeros_(m.bias)\n"
    )
    head = """\
import torch.nn as nn

from inits import weights_init


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8, bias=False)
        self.apply(weights_init)
"""
    write(tmp_path, {"inits.py": unguarded, "head.py": head})
    findings = check(tmp_path, "head.py")
    assert codes(findings) == [("head.py", "IL401", 10)]
    assert Path(findings[0]["related"][0]["path"]).name == "inits.py"


# -- init wrappers are init aliases -----------------------------------------------------------------
def test_a_pass_through_wrapper_in_another_file_is_an_init_alias(tmp_path: Path) -> None:
    """`trunc_normal_` of the project's layers/ package (timm's shape) is nn.init.trunc_normal_:
    std=0.02 with the default bounds of +-2 is IL303 at the call in this file."""
    wrapper = """\
import torch.nn as nn


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    return nn.init.trunc_normal_(tensor, mean, std, a, b)
"""
    vit = """\
import torch
import torch.nn as nn

from .layers.weight_init import trunc_normal_


class ViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, 16, 64))
        trunc_normal_(self.pos_embed, std=0.02)
"""
    write(
        tmp_path,
        {
            "vit/__init__.py": "",
            "vit/layers/__init__.py": "",
            "vit/layers/weight_init.py": wrapper,
            "vit/model.py": vit,
        },
    )
    assert codes(check(tmp_path, "vit/model.py", extra=("--select", "IL303"))) == [("model.py", "IL303", 11)]
    # a wrapper with other defaults is not the nn.init function: nothing is claimed
    write(tmp_path, {"vit/layers/weight_init.py": wrapper.replace("std=1.0", "std=0.02")})
    assert check(tmp_path, "vit/model.py", extra=("--select", "IL303")) == []


# -- IL417: applied but not importable ----------------------------------------------------------------
def test_star_import_that_does_not_export_the_init_function(tmp_path: Path) -> None:
    models = MODELS.replace(
        "import torch.nn.functional as F\n", "import torch.nn.functional as F\n\n__all__ = ['MLP']\n"
    )
    models += "\n\n" + XAVIER_INIT.split("\n\n\n", 1)[1]
    train = "from models import *\n\nnet = MLP()\nnet.apply(weights_init)\n"
    write(tmp_path, {"models.py": models, "train.py": train})
    assert codes(check(tmp_path, "train.py")) == [("train.py", "IL417", 4)]
    write(tmp_path, {"models.py": models.replace("__all__ = ['MLP']", "__all__ = ['MLP', 'weights_init']")})
    assert check(tmp_path, "train.py") == []


def test_import_of_a_name_the_module_does_not_define(tmp_path: Path) -> None:
    write(tmp_path, {"utils.py": XAVIER_INIT, "train.py": "from utils import init_weights\n\ninit_weights(None)\n"})
    assert codes(check(tmp_path, "train.py")) == [("train.py", "IL417", 1)]
    # not a file of the project (an installed package): nothing to prove
    write(tmp_path, {"train.py": "from somelib import init_weights\n\ninit_weights(None)\n"})
    assert check(tmp_path, "train.py") == []


def test_a_module_that_makes_names_at_run_time_is_not_judged(tmp_path: Path) -> None:
    dynamic = "def __getattr__(name):\n    raise AttributeError(name)\n"
    write(tmp_path, {"utils.py": dynamic, "train.py": "from utils import init_weights\n\ninit_weights(None)\n"})
    assert check(tmp_path, "train.py") == []


# -- the cache: summaries read are part of a file's key ---------------------------------------------
def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def spy(source, options, deps=None):  # type: ignore[no-untyped-def]
        calls.append(Path(source.path).name)
        return lint_source(source, options, deps)

    monkeypatch.setattr(runner, "lint_source", spy)
    return calls


def test_a_change_in_the_init_file_rechecks_the_files_that_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = MODELS.replace("class MLP(nn.Module):", "from inits import weights_init\n\n\nclass MLP(nn.Module):").replace(
        "        self.fc3 = nn.Linear(64, 10)\n",
        "        self.fc3 = nn.Linear(64, 10)\n        self.apply(weights_init)\n",
    )
    write(tmp_path, {"inits.py": XAVIER_INIT, "net.py": net, "other.py": "import torch\nx = torch.zeros(2)\n"})
    calls = _spy(monkeypatch)
    assert codes(check(tmp_path, ".")) == [("net.py", "IL201", 14)]
    assert sorted(calls) == ["inits.py", "net.py", "other.py"]
    calls.clear()
    assert codes(check(tmp_path, ".")) == [("net.py", "IL201", 14)]  # warm: everything from the cache
    assert calls == []
    write(tmp_path, {"inits.py": KAIMING_INIT})  # the dependency changes, net.py does not
    assert check(tmp_path, ".") == []
    assert sorted(calls) == ["inits.py", "net.py"]  # other.py read nothing of inits.py: still cached
    calls.clear()
    assert check(tmp_path, "net.py") == []
    assert calls == []


def test_summaries_are_cached_by_content(tmp_path: Path) -> None:
    net = MODELS.replace("class MLP(nn.Module):", "from inits import weights_init\n\n\nclass MLP(nn.Module):").replace(
        "        self.fc3 = nn.Linear(64, 10)\n",
        "        self.fc3 = nn.Linear(64, 10)\n        self.apply(weights_init)\n",
    )
    write(tmp_path, {"inits.py": XAVIER_INIT, "net.py": net})
    check(tmp_path, "net.py")
    stored = [p for p in (tmp_path / ".cache").glob("summaries/*/*.json") if not p.name.endswith(".outline.json")]
    assert len(stored) == 1
    # following the name needed only an outline of inits.py: its functions without their effects
    outlines = list((tmp_path / ".cache").glob("summaries/*/*.outline.json"))
    assert [json.loads(o.read_text())["functions"]["weights_init"]["effects"] for o in outlines] == [[]]
    data = json.loads(stored[0].read_text())
    assert data["functions"]["weights_init"]["effects"][0]["scheme"]["function"] == "xavier_normal_"
    stored[0].write_text("{not json")  # a corrupt entry is a miss, rebuilt
    index._OPEN.clear()  # as a new process: nothing remembered in memory
    write(tmp_path, {"net.py": net + "# changed\n"})  # so that net.py's findings are not cached
    assert codes(check(tmp_path, "net.py")) == [("net.py", "IL201", 14)]
    assert json.loads(stored[0].read_text())["functions"]["weights_init"]["params"] == ["m"]


# -- IL418: an init function no file applies (advice, off by default) -------------------------------
def test_an_init_function_no_file_of_the_project_uses(tmp_path: Path) -> None:
    write(tmp_path, {"utils.py": KAIMING_INIT, "train.py": "from utils import *\n\nnet = build()\n"})
    assert check(tmp_path, "utils.py") == []  # off by default
    assert codes(check(tmp_path, "utils.py", extra=("--extend-select", "IL418"))) == [("utils.py", "IL418", 4)]
    # another file starts applying it: the verdict is not served from the cache
    write(tmp_path, {"train.py": "from utils import *\n\nnet = build()\nnet.apply(weights_init)\n"})
    assert check(tmp_path, "utils.py", extra=("--extend-select", "IL418")) == []
    # a notebook of the project that names it counts too
    write(
        tmp_path,
        {
            "train.py": "",
            "explore.ipynb": json.dumps({"cells": [{"cell_type": "code", "source": "net.apply(weights_init)"}]}),
        },
    )
    assert check(tmp_path, "utils.py", extra=("--extend-select", "IL418")) == []


# -- bad neighbours never break a check -------------------------------------------------------------
@pytest.mark.parametrize(
    "utils",
    [
        b"def weights_init(m:\n",  # does not parse
        b"\xff\xfe\x00garbage",  # not text
        b"from train import *\nfrom utils import *\n",  # a star-import cycle
        b"from .utils import weights_init\n",  # re-exports itself
    ],
    ids=["syntax-error", "binary", "star-cycle", "self-reexport"],
)
def test_unreadable_or_circular_neighbours_give_nothing_and_crash_nothing(tmp_path: Path, utils: bytes) -> None:
    write(
        tmp_path,
        {"__init__.py": "", "train.py": MODELS + "\nfrom utils import *\nnet = MLP()\nnet.apply(weights_init)\n"},
    )
    (tmp_path / "utils.py").write_bytes(utils)
    findings = check(tmp_path, "train.py")
    assert [f["code"] for f in findings if f["code"] in ("IL999", "IL201", "IL401")] == []


def test_an_import_cycle_between_two_project_files(tmp_path: Path) -> None:
    a = "import torch.nn as nn\nfrom b import helper\n\ndef weights_init(m):\n    helper(m)\n"
    b = "import torch.nn as nn\nfrom a import weights_init\n\ndef helper(m):\n    weights_init(m)\n"
    train = MODELS + "\nfrom a import weights_init\nnet = MLP()\nnet.apply(weights_init)\n"
    write(tmp_path, {"a.py": a, "b.py": b, "train.py": train})
    assert check(tmp_path, ".") == []


def test_a_fixed_std_init_of_another_file_on_a_deep_relu_chain(tmp_path: Path) -> None:
    """IL203 through a file boundary: normal_(std=0.01) in inits.py on 3 hidden ReLU layers here."""
    small = "import torch.nn as nn\n\n\ndef init_small(m):\n    if isinstance(m, nn.Linear):\n        nn.init.normal_(m.weight, std=0.01)\n"
    deep = """\
import torch.nn as nn

from inits import init_small


class Deep(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(256, 256)
        self.l2 = nn.Linear(256, 256)
        self.l3 = nn.Linear(256, 256)
        self.head = nn.Linear(256, 10)
        self.apply(init_small)

    def forward(self, x):
        x = self.l1(x).relu()
        x = self.l2(x).relu()
        x = self.l3(x).relu()
        return self.head(x)
"""
    write(tmp_path, {"inits.py": small, "deep.py": deep})
    findings = check(tmp_path, "deep.py", extra=("--select", "IL203"))
    assert codes(findings) == [("deep.py", "IL203", 13)]
    assert "inits.py:6" in findings[0]["message"]
    assert any(r["path"].endswith("inits.py") for r in findings[0]["related"])
    write(
        tmp_path,
        {"inits.py": small.replace("nn.init.normal_(m.weight, std=0.01)", "nn.init.kaiming_normal_(m.weight)")},
    )
    assert check(tmp_path, "deep.py", extra=("--select", "IL203")) == []


# -- base classes in other files ---------------------------------------------------------------------
def test_a_class_whose_module_base_is_two_files_away(tmp_path: Path) -> None:
    """Net(Mid) with Mid(Base) in mid.py and Base(nn.Module) in base.py: Net is a module, so its
    own layers and init code are judged (IL401 on the layer it builds without a bias)."""
    base = "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    pass\n"
    mid = "from base import Base\n\n\nclass Mid(Base):\n    def describe(self):\n        return 'mid'\n"
    net = """\
import torch.nn as nn

from mid import Mid


class Net(Mid):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8, bias=False)
        nn.init.zeros_(self.fc.bias)
"""
    write(tmp_path, {"base.py": base, "mid.py": mid, "net.py": net})
    assert codes(check(tmp_path, "net.py")) == [("net.py", "IL401", 10)]
    # a base that is no module (a plain mixin): nothing is claimed
    write(tmp_path, {"base.py": "class Base:\n    pass\n"})
    assert check(tmp_path, "net.py") == []


def test_inside_a_package_an_absolute_import_is_not_the_sibling_module(tmp_path: Path) -> None:
    """pkg/integrations/fp8.py: `from accelerate import init_empty_weights` is the installed
    accelerate package, not pkg/integrations/accelerate.py (which has no such name)."""
    write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/integrations/__init__.py": "",
        "pkg/integrations/accelerate.py": "def something_else():\n    pass\n",
        "pkg/integrations/fp8.py": "from accelerate import init_empty_weights\n\nwith init_empty_weights():\n    pass\n",
    })  # fmt: skip
    assert check(tmp_path, "pkg/integrations/fp8.py") == []
    # a script next to its helper module does import it: there the sibling is meant
    write(
        tmp_path,
        {
            "scripts/helpers.py": "def other():\n    pass\n",
            "scripts/run.py": "from helpers import init_all\n\ninit_all()\n",
        },
    )
    assert codes(check(tmp_path, "scripts/run.py")) == [("run.py", "IL417", 1)]


# -- layer factories ----------------------------------------------------------------------------------
def test_a_norm_layer_from_a_factory_of_another_file(tmp_path: Path) -> None:
    """get_norm_layer (layers.py) returns nn.InstanceNorm2d, whose affine defaults to False: its
    bias is None, and the init here that writes every InstanceNorm2d's bias raises."""
    factory = "import torch.nn as nn\n\n\ndef get_norm_layer(channels):\n    return nn.InstanceNorm2d(channels)\n"
    gen = """\
import torch.nn as nn

from layers import get_norm_layer


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 64, 7)
        self.norm = get_norm_layer(64)
        for m in self.modules():
            if isinstance(m, nn.InstanceNorm2d):
                nn.init.zeros_(m.bias)
"""
    write(tmp_path, {"layers.py": factory, "gen.py": gen})
    findings = check(tmp_path, "gen.py")
    assert codes(findings) == [("gen.py", "IL401", 13)]
    assert any(r["path"].endswith("layers.py") and r["line"] == 5 for r in findings[0]["related"])
    # affine=True in the factory: the bias exists
    write(
        tmp_path,
        {"layers.py": factory.replace("nn.InstanceNorm2d(channels)", "nn.InstanceNorm2d(channels, affine=True)")},
    )
    assert check(tmp_path, "gen.py") == []
