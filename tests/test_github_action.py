"""The GitHub Action: action.yml's structure, and a smoke test of its script (scripts/github_action.py)
on a temporary project with a bug, with the GITHUB_* files a runner provides."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "github_action.py"
BUGGY = "import torch.nn as nn\n\nlayer = nn.Linear(2, 2)\nnn.init.normal(layer.weight)\n"  # IL101, a warning
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


@pytest.fixture(scope="module")
def action() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def test_action_yml_structure(action: dict) -> None:  # type: ignore[type-arg]
    assert {"name", "description", "inputs", "runs"} <= action.keys()
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    for step in steps:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step["shell"] == "bash", step
    for name, spec in action["inputs"].items():
        assert "description" in spec and "default" in spec, name
        assert isinstance(spec["default"], str), name  # inputs are strings; a YAML bool would be True, not "true"
    assert action["inputs"]["fail-on"]["default"] == "any"
    uses = [step["uses"] for step in steps if "uses" in step]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)


def test_action_yml_references_exist(action: dict) -> None:  # type: ignore[type-arg]
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    expressions = EXPRESSION.findall(text)
    inputs = set(action["inputs"])
    used_inputs = {m for e in expressions for m in re.findall(r"inputs\.([A-Za-z0-9_-]+)", e)}
    assert used_inputs and used_inputs <= inputs, used_inputs - inputs
    assert inputs <= used_inputs, f"inputs never used: {inputs - used_inputs}"
    # Inside `if:` conditions the ${{ }} is optional: look there too.
    steps = action["runs"]["steps"]
    conditions = [str(step.get("if", "")) for step in steps]
    used_inputs |= {m for c in conditions for m in re.findall(r"inputs\.([A-Za-z0-9_-]+)", c)}
    assert used_inputs <= inputs

    ids = [step.get("id") for step in steps]
    for position, step in enumerate(steps):
        for source in [*EXPRESSION.findall(json.dumps(step)), str(step.get("if", ""))]:
            for ref in re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs", source):
                assert ref in ids[:position], f"step {position} reads steps.{ref}, not an earlier step"
    for name, output in action["outputs"].items():
        (ref,) = re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", output["value"])
        assert ref[0] in ids, name

    # Inputs reach the shell as environment variables, never spliced into a run line.
    for step in steps:
        if "run" in step:
            assert "${{" not in step["run"], step["run"]
    script = SCRIPT.read_text(encoding="utf-8")
    for step in steps:
        for variable in step.get("env", {}):
            if variable.startswith("INPUT_"):
                name = variable[len("INPUT_") :].lower().replace("_", "-")
                assert name in inputs, variable
                assert f'_input("{name}"' in script, f"the script never reads {variable}"
    assert "$ACTION_PATH/scripts/github_action.py" in text and SCRIPT.is_file()


def _run(
    project: Path,
    tmp_path: Path,
    step: dict | None = None,
    **inputs: str,  # type: ignore[type-arg]
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    """Run the script's `run` as the check step does: directly, or (``step``) the step's own bash
    from action.yml with its env, the ${{ }} expressions given the values a runner would."""
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    output.write_text("")
    summary.write_text("")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("INPUT_", "GITHUB_", "INITLINT_"))  # a CI runner's own must not leak in
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_ACTIONS": "true",
            **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
        }
    )
    command = [sys.executable, str(SCRIPT), "run"]
    if step is not None:
        venv_bin = tmp_path / "runner" / "initlint-venv" / "bin"
        venv_bin.mkdir(parents=True)
        (venv_bin / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')  # the venv the install made
        (venv_bin / "python").chmod(0o755)
        values = {"runner.temp": str(tmp_path / "runner"), "github.action_path": str(ROOT)}
        values.update({f"inputs.{k.replace('_', '-')}": v for k, v in inputs.items()})
        for variable, template in step["env"].items():
            env[variable] = EXPRESSION.sub(lambda m: values.get(m.group(1).strip(), ""), template)
        command = ["bash", "-e", "-c", step["run"]]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return result, outputs, summary.read_text()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "model.py").write_text(BUGGY)
    (folder / "src" / "clean.py").write_text("x = 1\n")
    return folder


def test_smoke_annotations_outputs_and_exit(project: Path, tmp_path: Path) -> None:
    result, outputs, summary = _run(project, tmp_path, paths="src", sarif_file="out/initlint.sarif")
    assert result.returncode == 1, result.stdout + result.stderr  # fail-on: any
    annotation = next(line for line in result.stdout.splitlines() if line.startswith("::"))
    assert annotation.startswith("::warning file=src/model.py,line=4,col=9,")
    assert "title=IL101::" in annotation
    assert outputs == {"findings": "1", "errors": "0", "warnings": "1", "sarif-file": "out/initlint.sarif"}
    assert "| IL101 | `deprecated-init-alias` | warning | 1 |" in summary

    sarif = json.loads((project / "out" / "initlint.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    (result_entry,) = sarif["runs"][0]["results"]
    assert result_entry["ruleId"] == "IL101"
    assert result_entry["locations"][0]["physicalLocation"]["region"]["startLine"] == 4


def _module():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import github_action
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return github_action


def test_fail_on_error_passes_on_warnings(project: Path, tmp_path: Path) -> None:
    result, outputs, _ = _run(project, tmp_path, paths="src", fail_on="ERROR")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "::warning file=src/model.py" in result.stdout  # still annotated
    assert outputs["findings"] == "1" and outputs["sarif-file"] == ""
    assert not (project / "initlint.sarif").exists()


@pytest.mark.parametrize(("fail_on", "failing"), [("any", 4), ("warning", 3), ("error", 1), ("never", 0)])
def test_fail_on_levels(fail_on: str, failing: int) -> None:
    from collections import Counter

    severities = Counter({"error": 1, "warning": 2, "info": 1})
    assert _module().failing_count(severities, fail_on) == failing


def test_check_step_of_action_yml_on_a_clean_project(action: dict, project: Path, tmp_path: Path) -> None:  # type: ignore[type-arg]
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "check"]
    result, outputs, summary = _run(project, tmp_path, step, paths="src/clean.py", upload_sarif="true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not any(line.startswith("::") for line in result.stdout.splitlines())
    assert outputs["findings"] == "0" and outputs["sarif-file"] == "initlint.sarif"
    assert json.loads((project / "initlint.sarif").read_text())["runs"][0]["results"] == []
    assert "No findings." in summary


def test_args_are_passed_and_bad_input_is_one_error(project: Path, tmp_path: Path) -> None:
    result, outputs, _ = _run(project, tmp_path, paths="src", args="--ignore IL101")
    assert result.returncode == 0 and outputs["findings"] == "0", result.stdout + result.stderr

    result, _, _ = _run(project, tmp_path, paths="src", fail_on="sometimes")
    assert result.returncode == 2
    assert result.stdout.startswith("::error title=initlint::input `fail-on` must be one of")

    result, outputs, _ = _run(project, tmp_path, paths="src", args="--select NOPE999")
    assert result.returncode == 2 and outputs == {}
    assert re.search(r"^::error title=initlint::.*NOPE999", result.stdout, re.MULTILINE), result.stdout

    result, _, _ = _run(project, tmp_path, args="--select 'unclosed")
    assert result.returncode == 2 and "input `args`" in result.stdout


def test_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    github_action = _module()
    monkeypatch.setenv("ACTION_PATH", "/actions/initlint")
    monkeypatch.delenv("INPUT_VERSION", raising=False)
    assert github_action.install_command("py")[-1] == "/actions/initlint"
    monkeypatch.setenv("INPUT_VERSION", "0.1.0")
    assert github_action.install_command("py")[-1] == "initlint==0.1.0"
    monkeypatch.setenv("INPUT_VERSION", "initlint>=0.1")
    assert github_action.install_command("py")[:4] == ["py", "-m", "pip", "install"]
    assert github_action.install_command("py")[-1] == "initlint>=0.1"
