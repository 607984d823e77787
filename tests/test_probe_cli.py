"""`initlint probe` and `initlint check --probe` through the command line: output formats, exit
codes, and every kind of bad input (one line on stderr, exit 2, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from initlint.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "examples" / "probe_demo.py")

MODELS = textwrap.dedent(
    """
    import torch
    import torch.nn as nn


    class Deep(nn.Module):
        def __init__(self, depth=20, width=128, std=None):
            super().__init__()
            layers = []
            for _ in range(depth):
                layers += [nn.Linear(width, width), nn.ReLU()]
            self.body = nn.Sequential(*layers, nn.Linear(width, 10))
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_normal_(m.weight) if std is None else nn.init.normal_(m.weight, std=std)
                    nn.init.zeros_(m.bias)

        def forward(self, x):
            return self.body(x)


    class NeedsArgs(nn.Module):
        def __init__(self, width, height, depth=2):
            super().__init__()
            self.fc = nn.Linear(width, height)

        def forward(self, x):
            return self.fc(x)


    class WrongShape(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(32, 64)
            self.fc2 = nn.Linear(16, 4)

        def forward(self, x):
            return self.fc2(self.fc1(x))


    class BadCtor(nn.Module):
        def __init__(self):
            super().__init__()
            raise ValueError("nope")


    class Big(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.conv1(x)))
            x = self.pool(torch.relu(self.conv2(x)))
            x = torch.flatten(x, 1)
            x = torch.relu(self.fc1(x))
            x = torch.relu(self.fc2(x))
            return self.fc3(x)


    class DeadBias(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
            nn.init.kaiming_normal_(self.body[0].weight, nonlinearity="relu")
            nn.init.zeros_(self.body[0].bias)
            with torch.no_grad():
                self.body[0].bias[:40] = -10.0  # 40 of 64 units can never fire

        def forward(self, x):
            return self.body(x)


    def make_deep():
        return Deep(depth=4)


    def unit_init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=1.0)


    def kaiming_init(m):
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)


    def two_inputs():
        return (torch.randn(8, 128),)


    def not_an_input():
        return 3
    """
)


@pytest.fixture
def models(tmp_path: Path) -> str:
    path = tmp_path / "models.py"
    path.write_text(MODELS)
    return str(path)


def run(*args: str):
    return CliRunner().invoke(main, ["probe", *args])


def test_text_report_and_exit_codes(models):
    result = run(f"{models}:Deep")
    assert result.exit_code == 1, result.output
    assert "IL601 [error] activation-vanishing" in result.output
    assert "layer" in result.output and "init guess" in result.output and "xavier" in result.output
    assert run(f"{models}:Deep", "--fail-on", "never").exit_code == 0
    assert run(f"{models}:Deep", "--ignore", "IL601").exit_code == 0
    assert run(f"{models}:Deep", "--select", "IL605").exit_code == 0
    assert run(f"{models}:make_deep").exit_code == 0  # a factory function, 4 layers: fine


def test_fail_on_error_ignores_warnings(models):
    result = run(f"{models}:DeadBias")
    assert result.exit_code == 1 and "IL604 [warning] dead-units" in result.output
    assert "[error]" not in result.output  # only the warning
    assert run(f"{models}:DeadBias", "--fail-on", "error").exit_code == 0


def test_args_kwargs_and_init(models):
    assert run(f"{models}:NeedsArgs", "--args", "[16, 8]").exit_code == 0
    assert run(f"{models}:NeedsArgs", "--kwargs", '{"width": 16, "height": 8}').exit_code == 0
    result = run(f"{models}:Deep", "--init", f"{models}:kaiming_init")
    assert result.exit_code == 0, result.output
    result = run(f"{models}:Deep", "--kwargs", '{"depth": 6}', "--init", f"{models}:unit_init")
    assert result.exit_code == 1 and "IL602" in result.output


def test_seed_net_with_init_function(models):
    result = run(f"{models}:Net", "--init", f"{models}:kaiming_init", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["input"] == "float32[64,3,32,32]"
    guesses = {row["layer"]: row["init_guess"] for row in data["layers"]}
    assert guesses["fc1"] == "kaiming" and guesses["conv1"] == "default"


def test_json_is_deterministic(models):
    a = run(f"{models}:Deep", "--format", "json", "--seed", "3")
    b = run(f"{models}:Deep", "--format", "json", "--seed", "3")
    assert a.output == b.output
    data = json.loads(a.output)
    base = {"model", "device", "dtype", "input", "layers", "findings", "summary"}
    assert base <= set(data) <= base | {"provenance", "confirmed_at_runtime", "copied"}
    assert data["device"] == "cpu" and data["dtype"] == "float32" and data["input"] == "float32[64,128]"
    finding = data["findings"][0]
    assert {"code", "name", "severity", "message", "layer", "value", "threshold"} <= set(finding)


def test_input_shape_and_input_fn(models):
    result = run(f"{models}:Deep", "--input-shape", "4,128", "--format", "json", "--fail-on", "never")
    assert json.loads(result.output)["input"] == "float32[4,128]"
    result = run(f"{models}:Deep", "--input-fn", f"{models}:two_inputs", "--format", "json", "--fail-on", "never")
    assert json.loads(result.output)["input"] == "float32[8,128]"


def test_plot(models, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "probe.png"
    result = run(f"{models}:Deep", "--plot", str(out), "--fail-on", "never")
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib(models, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = run(f"{models}:Deep", "--plot", str(tmp_path / "p.png"))
    assert result.exit_code == 2
    assert "matplotlib" in result.output and "initlint[plot]" in result.output


def test_probe_thresholds_from_config(models, tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.initlint.probe]\nvanishing-ratio = 1e-9\n")
    assert run(f"{models}:Deep", "--config", str(config)).exit_code == 0
    config.write_text("[tool.initlint.probe]\nvanish = 1\n")
    result = run(f"{models}:Deep", "--config", str(config))
    assert result.exit_code == 2 and "unknown key `vanish`" in result.output


def one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("initlint: error: ")
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    ("target", "needles"),
    [
        ("missing_file.py:Deep", ("file not found", "missing_file.py")),
        ("{models}:Nope", ("'Nope' not found",)),
        ("no_such_pkg_initlint.mod:Deep", ("module not found",)),
        ("{models}", ("file.py:Name",)),
        ("{models}:NeedsArgs", ("needs arguments: width, height", "--args")),
        ("{models}:BadCtor", ("building BadCtor failed", "ValueError: nope")),
        ("{models}:WrongShape", ("float32[64,32]", "--input-shape", "--input-fn")),
        ("{models}:Big", ("out of memory",)),
    ],
)
def test_bad_input(models, target, needles):
    one_line_error(run(target.format(models=models)), *needles)


def test_file_raising_on_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\nraise RuntimeError('import-time failure')\n")
    one_line_error(run(f"{bad}:M"), "raised on import", "import-time failure")
    result = run(f"{bad}:M", "--verbose")
    assert result.exit_code == 2 and "Traceback" in result.output


def test_bad_options(models, tmp_path):
    one_line_error(run(f"{models}:Deep", "--input-shape", "8,x"), "--input-shape")
    one_line_error(run(f"{models}:Deep", "--args", "[1,"), "--args is not valid JSON")
    one_line_error(run(f"{models}:Deep", "--select", "IL101"), "unknown runtime rule")
    one_line_error(run(f"{models}:Deep", "--input-fn", f"{models}:not_an_input"), "expected a tensor")
    one_line_error(run(f"{models}:Deep", "--init", f"{models}:missing_fn"), "--init 'missing_fn' not found")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_cuda_asked_for_but_absent(models):
    one_line_error(run(f"{models}:Deep", "--device", "cuda"), "CUDA is not available")
    one_line_error(run(f"{models}:Deep", "--device", "cuda:1"), "CUDA is not available")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_device(models):
    result = run(f"{models}:Deep", "--device", "cuda", "--format", "json", "--fail-on", "never")
    assert json.loads(result.output)["device"].startswith("cuda")


def test_torch_not_installed(models, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    one_line_error(run(f"{models}:Deep"), "needs torch, which is not installed", "pip install initlint[runtime]")


def test_subprocess_run(models):
    out = subprocess.run(
        [sys.executable, "-m", "initlint", "probe", f"{models}:NeedsArgs"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        "initlint: error: NeedsArgs needs arguments: width, height "
        "(pass them with --args '[...]' or --kwargs '{\"width\": ...}')"
    ]
    out = subprocess.run(
        [sys.executable, "-m", "initlint", "probe", f"{DEMO}:DeepMLP", "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1, out.stderr
    assert {f["code"] for f in json.loads(out.stdout)["findings"]} >= {"IL601", "IL605"}


# ---- check --probe ---------------------------------------------------------------------------
STATIC_AND_RUNTIME = textwrap.dedent(
    """
    import torch.nn as nn
    import torch.nn.functional as F


    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(256, 256)
            self.fc2 = nn.Linear(256, 256)
            self.fc3 = nn.Linear(256, 10)
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, std=0.01)
                    nn.init.zeros_(m.bias)

        def forward(self, x):
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)


    class NeedsArgs(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.fc = nn.Linear(width, width)
    """
)


def test_check_probe_adds_runtime_findings_and_confirms_static_ones(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(STATIC_AND_RUNTIME)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--probe", "--format", "json", str(path)])
    data = json.loads(result.output)
    findings = data["findings"] if isinstance(data, dict) else data
    runtime = [f for f in findings if f["code"].startswith("IL6")]
    assert runtime and runtime[0]["code"] == "IL601"
    assert runtime[0]["line"] == 6  # the class definition
    assert runtime[0]["path"].endswith("model.py")
    assert "layer `" in runtime[0]["related"][0]["message"]
    static = [f for f in findings if f["code"] in ("IL201", "IL203")]
    assert static and all("confirmed at runtime" in f["message"] for f in static)
    assert all(f.get("confirmed_at_runtime") == "IL601" for f in static)
    # without --probe: no runtime finding, no confirmation
    plain = CliRunner().invoke(main, ["check", "--no-cache", "--format", "json", str(path)])
    data = json.loads(plain.output)
    findings = data["findings"] if isinstance(data, dict) else data
    assert not any(f["code"].startswith("IL6") for f in findings)
    assert not any("confirmed at runtime" in f["message"] for f in findings)


def test_check_probe_ignores_selected_out_codes(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(STATIC_AND_RUNTIME)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--probe", "--ignore", "IL6", str(path)])
    assert "IL601" not in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_bar_only_on_a_terminal(tmp_path):
    import os
    import pty
    import threading

    big = tmp_path / "big.py"
    big.write_text(
        "import torch.nn as nn\n"
        "def build():\n"
        "    return nn.Sequential(*[m for _ in range(60) for m in (nn.Linear(32, 32), nn.Tanh())])\n"
    )
    command = [sys.executable, "-m", "initlint", "probe", f"{big}:build", "--fail-on", "never"]
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def read() -> None:
        try:
            while data := os.read(master, 4096):
                chunks.append(data)
        except OSError:
            pass

    reader = threading.Thread(target=read)
    reader.start()
    out = subprocess.run(command, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    reader.join(timeout=10)
    assert out.returncode == 0
    assert b"probing" in b"".join(chunks)
    assert b"probing" not in out.stdout
    plain = subprocess.run(command, capture_output=True)  # stderr not a terminal: no bar
    assert plain.returncode == 0 and plain.stderr == b""
