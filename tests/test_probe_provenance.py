"""Init provenance (IL620-IL624): who wrote each parameter while the model was built."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from initlint.cli import main  # noqa: E402
from initlint.docs import doc_path, parse_doc  # noqa: E402
from initlint.probe import probe  # noqa: E402
from initlint.probe.provenance import recording  # noqa: E402
from initlint.probe.provenance_verdicts import PROVENANCE_CODES, judge_provenance  # noqa: E402

PROVENANCE = sorted(PROVENANCE_CODES)
_LIBS: list[object] = []  # a torch.library.Library deregisters its ops when collected


def _doc_class(code: str):
    import linecache

    namespace: dict[str, object] = {"__name__": "doc_example"}
    filename = f"<doc {hash(code)}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)  # inspect reads the source
    exec(compile(code, filename, "exec"), namespace)
    (cls,) = [
        v
        for v in namespace.values()
        if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == "doc_example"
    ]
    return cls


def _codes(report) -> set[str]:
    return {f.code for f in report.findings}


@pytest.mark.parametrize("code", PROVENANCE)
def test_doc_examples(code):
    doc = parse_doc(doc_path(code).read_text(encoding="utf-8"))
    bad = probe(_doc_class(doc.example), torch.randn(8, 16), device="cpu")
    assert code in _codes(bad), [f.message for f in bad.findings]
    good = probe(_doc_class(doc.use_instead), torch.randn(8, 16), device="cpu")
    assert not (_codes(good) & PROVENANCE_CODES), [f.message for f in good.findings]


def _record(build):
    with recording() as recorder:
        model = build()
    return model, recorder.finish(model)


def test_default_and_custom_writers_with_user_location():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)  # DEFAULT_LINE
            self.b = nn.Linear(4, 4)
            nn.init.xavier_uniform_(self.b.weight)  # XAVIER_LINE
            with torch.no_grad():
                self.b.bias.data.fill_(0.5)  # FILL_LINE

    _, prov = _record(Net)
    source = Path(__file__).read_text(encoding="utf-8").splitlines()
    line = {
        tag: i + 1
        for i, text in enumerate(source)
        for tag in ("DEFAULT_LINE", "XAVIER_LINE", "FILL_LINE")
        if f"# {tag}" in text
    }
    a, bw, bb = prov.params["a.weight"], prov.params["b.weight"], prov.params["b.bias"]
    assert a.status == "default" and a.writer.op == "kaiming_uniform_"
    assert a.writer.location.endswith(f"test_probe_provenance.py:{line['DEFAULT_LINE']}")
    assert bw.status == "custom" and bw.writer.op == "xavier_uniform_"  # the nn.init function, not its uniform_
    assert bw.writer.location.endswith(f":{line['XAVIER_LINE']}")
    assert bb.status == "custom" and bb.writer.op == "fill_" and bb.writer.location.endswith(f":{line['FILL_LINE']}")
    assert [e.op for e in bw.history] == ["empty", "kaiming_uniform_", "xavier_uniform_"]
    assert judge_provenance(prov, PROVENANCE_CODES) == []


def test_created_values_and_data_assignment_are_writes():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.fc.weight.data = torch.randn(4, 4) * 0.01
            self.cls = nn.Parameter(torch.zeros(1, 4))

    _, prov = _record(Net)
    assert prov.params["fc.weight"].status == "custom" and prov.params["fc.weight"].writer.op == "mul"
    assert prov.params["cls"].status == "custom" and prov.params["cls"].writer.op == "zeros"


def test_never_written_replaces_the_raw_memory_finding():
    class Raw(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)
            self.scale = nn.Parameter(torch.empty(8))
            with torch.no_grad():  # what torch.empty may hand back, without writing through torch
                self.scale.view(torch.int32).numpy()[:] = 0x7F7FFFFF

        def forward(self, x):
            return self.fc(x) * self.scale

    report = probe(Raw, torch.randn(16, 8), device="cpu")
    il620 = [f for f in report.findings if f.code == "IL620"]
    assert len(il620) == 1 and "`scale`" in il620[0].message and il620[0].extra["parameter"] == "scale"
    assert not any(f.code == "IL607" and f.layer == il620[0].layer for f in report.findings)


def test_legacy_weight_norm_data_write_is_lost():
    class Legacy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.utils.weight_norm(nn.Linear(8, 8))
            self.fc.weight.data.normal_(0, 0.02)

        def forward(self, x):
            return self.fc(x)

    with pytest.warns(FutureWarning):
        _, prov = _record(Legacy)
    (finding,) = [f for f in judge_provenance(prov, PROVENANCE_CODES)]
    assert finding.code == "IL621" and finding.layer == "fc"


def test_partial_loop_is_a_sibling_finding_not_per_type_noise():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList([nn.Conv2d(3, 3, 3) for _ in range(2)])
            self.fcs = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])
            for conv in self.convs:
                nn.init.kaiming_normal_(conv.weight)
            self.other = nn.Linear(4, 4)  # a different container: never compared

    _, prov = _record(Mixed)
    assert judge_provenance(prov, PROVENANCE_CODES) == []


def test_dispatch_branch_with_other_conditions_is_not_judged():
    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(4, 4)
            self.head = nn.Linear(4, 2)
            self.apply(self._init)

        def _init(self, m):
            if isinstance(m, nn.Linear) and m.out_features == 2:
                nn.init.zeros_(m.weight)

    _, prov = _record(Head)
    assert judge_provenance(prov, PROVENANCE_CODES) == []


def test_a_failing_record_never_breaks_the_build(monkeypatch):
    from initlint.probe.provenance import Recorder

    def broken(*args, **kwargs):
        raise RuntimeError("recorder bug")

    monkeypatch.setattr(Recorder, "_record", broken)
    with recording() as recorder:
        model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        nn.init.zeros_(model[0].bias)
    assert torch.equal(model[0].bias, torch.zeros(4)) and recorder.failures > 0
    assert nn.Module.apply.__name__ == "apply" and nn.Module.apply.__qualname__ == "Module.apply"  # restored


def test_healthy_transformers_model_has_no_provenance_findings():
    pytest.importorskip("transformers")
    try:
        torch.ops.torchvision.nms  # noqa: B018
    except (AttributeError, RuntimeError):  # torchvision's C ops are missing on the CPU torch: stub the names
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _LIBS.append(lib)
    try:
        from transformers import GPT2Config, GPT2LMHeadModel
    except Exception as exc:
        pytest.skip(f"transformers does not import here: {exc}")
    config = GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=100, n_positions=32, bos_token_id=0, eos_token_id=0)
    report = probe(lambda: GPT2LMHeadModel(config), (torch.randint(0, 100, (2, 16)),), device="cpu")
    assert not (_codes(report) & PROVENANCE_CODES), [f.message for f in report.findings]
    statuses = {p.status for p in report.provenance.params.values()}
    assert statuses <= {"custom", "default"} and "custom" in statuses


MODEL = textwrap.dedent(
    """
    import torch.nn as nn
    from torch.nn.utils.parametrizations import weight_norm


    class Normed(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = weight_norm(nn.Linear(16, 16))
            nn.init.normal_(self.fc.weight, std=0.02)

        def forward(self, x):
            return self.fc(x)
    """
)


def test_cli_provenance_section_json_and_static_confirmation(tmp_path, monkeypatch):
    path = tmp_path / "normed.py"
    path.write_text(MODEL)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    out = runner.invoke(main, ["probe", "normed.py:Normed", "--device", "cpu", "--provenance"])
    assert out.exit_code == 1, out.output
    assert "IL621" in out.output and "init provenance" in out.output
    assert "fc.parametrizations.weight.original1" in out.output
    assert "confirmed at runtime: normed.py:10:9: IL410" in out.output
    out = runner.invoke(main, ["probe", "normed.py:Normed", "--device", "cpu", "--format", "json"])
    data = json.loads(out.output)
    assert data["confirmed_at_runtime"][0]["static"] == "IL410"
    assert {p["parameter"] for p in data["provenance"]["parameters"]} >= {"fc.bias"}
    assert data["provenance"]["lost_writes"][0]["layers"] == ["fc"]
    out = runner.invoke(main, ["probe", "normed.py:Normed", "--device", "cpu", "--ignore", "IL62"])
    assert "IL621" not in out.output


def test_static_check_still_never_imports_torch_with_the_new_modules():
    import subprocess

    code = (
        "import initlint, initlint.probe, initlint.pytest_plugin, sys; assert 'torch' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


THREE_BUGS = 'import torch\nimport torch.nn as nn\nfrom torch.nn.utils.parametrizations import weight_norm\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.stem = weight_norm(nn.Linear(32, 64))\n        nn.init.kaiming_normal_(self.stem.weight)\n        self.blocks = nn.ModuleList(nn.Linear(64, 64) for _ in range(4))\n        self.apply(self._init)\n        self.head = nn.Linear(64, 10)\n        self.gain = nn.Parameter(torch.empty(10))\n\n    def _init(self, m):\n        if isinstance(m, nn.Linear):\n            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")\n            nn.init.zeros_(m.bias)\n\n    def forward(self, x):\n        x = torch.relu(self.stem(x))\n        for block in self.blocks:\n            x = torch.relu(block(x))\n        return self.head(x) * self.gain\n'


def test_one_root_cause_one_finding_and_each_static_finding_confirmed_once(tmp_path, monkeypatch):
    (tmp_path / "model.py").write_text(THREE_BUGS)
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(main, ["probe", "model.py:Net", "--device", "cpu", "--format", "json"])
    data = json.loads(out.output)
    ours = [f for f in data["findings"] if f["code"] in PROVENANCE_CODES]
    assert sorted(f["code"] for f in ours) == ["IL620", "IL621", "IL623"]  # not one per write or per parameter
    il621 = next(f for f in ours if f["code"] == "IL621")
    assert il621["layer"] == "stem" and il621["locations"] == ["model.py:10", "model.py:18"]
    il623 = next(f for f in ours if f["code"] == "IL623")
    assert il623["parameters"] == ["head.weight", "head.bias"] and "did not exist yet" in il623["message"]
    confirmed = [(c["static"], c["line"]) for c in data["confirmed_at_runtime"]]
    assert sorted(confirmed) == [("IL404", 14), ("IL406", 12), ("IL410", 10)]
    assert not any(f["code"] == "IL607" for f in data["findings"])


def test_copies_keep_their_source_provenance():
    import copy

    class Clones(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.Linear(8, 8)
            nn.init.orthogonal_(layer.weight)
            self.layers = nn.ModuleList(copy.deepcopy(layer) for _ in range(3))  # as nn.Transformer's _get_clones

    _, prov = _record(Clones)
    assert {prov.params[f"layers.{i}.weight"].writer.op for i in range(3)} == {"orthogonal_"}
    assert all(prov.params[f"layers.{i}.weight"].status == "custom" for i in range(3))
    # nn.Transformer clones default-initialized layers and then resets them: all default, no IL622
    with pytest.warns(UserWarning):
        _, prov = _record(lambda: nn.Transformer(32, 2, 1, 1, 64))
    assert {p.status for p in prov.params.values()} == {"default"}
    assert judge_provenance(prov, PROVENANCE_CODES) == []


def test_a_head_of_another_width_is_no_sibling():
    def mlp():
        layers = [nn.Linear(16, 16) for _ in range(4)]
        for layer in layers:
            nn.init.xavier_normal_(layer.weight)
        return nn.Sequential(*layers, nn.Linear(16, 3))  # the head keeps the default, on purpose

    _, prov = _record(mlp)
    assert judge_provenance(prov, PROVENANCE_CODES) == []
