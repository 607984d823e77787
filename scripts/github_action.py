"""The logic of the initlint GitHub Action (action.yml), kept out of YAML so that it can be tested.

    python scripts/github_action.py install   # pip-installs initlint: the action's checkout or INPUT_VERSION
    python scripts/github_action.py run       # checks, annotates, writes SARIF, exits per INPUT_FAIL_ON

Inputs come as environment variables (INPUT_ARGS, INPUT_PATHS, INPUT_FAIL_ON, INPUT_SARIF_FILE,
INPUT_UPLOAD_SARIF, INPUT_VERSION, ACTION_PATH), never spliced into a shell line: an input is
data, not code. Only the standard library: this runs before anything else is installed.

`run` calls the installed `initlint check` three times: `--format github` (the annotations,
printed as they come), `--format json` (the counts by severity behind `fail-on`, the outputs and
the step summary) and, when asked, `--format sarif`. The second and third reuse the first run's
result cache unless the args turn it off.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path

FAIL_ON = ("any", "warning", "error", "never")
DEFAULT_SARIF = "initlint.sarif"
# Severities that make a run fail, per fail-on value.
_FAILING = {"any": {"error", "warning", "info"}, "warning": {"error", "warning"}, "error": {"error"}, "never": set()}


class InputError(Exception):
    """An input the action cannot use: one `::error::` line, exit 2."""


def _input(name: str, default: str = "") -> str:
    return os.environ.get(f"INPUT_{name.upper().replace('-', '_')}", default).strip() or default


def _split(value: str, name: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise InputError(f"input `{name}`: {exc}") from None


def install_command(python: str) -> list[str]:
    """pip install of the action's own checkout, or of initlint==VERSION when `version` is set."""
    version = _input("version")
    if version:
        target = version if any(c in version for c in "<>=!~ ") else f"initlint=={version}"
    else:
        action_path = os.environ.get("ACTION_PATH", "")
        if not action_path:
            raise InputError("ACTION_PATH is not set: the action's checkout is unknown")
        target = action_path
    return [python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", target]


def _initlint(args: list[str], output_format: str, paths: list[str]) -> subprocess.CompletedProcess[str]:
    # Ours after the user's args: the last --format wins.
    command = [sys.executable, "-m", "initlint", "check", *args, "--format", output_format, *paths]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _append(variable: str, text: str) -> None:
    """Append to the file a GITHUB_* variable names (outputs, step summary); outside Actions, skip."""
    target = os.environ.get(variable)
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)


def _fail_with(result: subprocess.CompletedProcess[str]) -> int:
    message = (result.stderr.strip() or result.stdout.strip() or f"initlint exited {result.returncode}").splitlines()
    sys.stderr.write(result.stderr)
    print(f"::error title=initlint::{_escape(message[-1])}")
    return 2


def _escape(text: str) -> str:
    """Workflow-command data: %, CR and LF are escaped, or the runner misreads the line."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def run() -> int:
    args = _split(_input("args"), "args")
    paths = _split(_input("paths", "."), "paths") or ["."]
    fail_on = _input("fail-on", "any").lower()
    if fail_on not in FAIL_ON:
        raise InputError(f"input `fail-on` must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    sarif_file = _input("sarif-file")
    if not sarif_file and _input("upload-sarif", "false").lower() == "true":
        sarif_file = DEFAULT_SARIF

    annotations = _initlint(args, "github", paths)
    if annotations.returncode not in (0, 1):
        return _fail_with(annotations)
    sys.stdout.write(annotations.stdout)
    sys.stderr.write(annotations.stderr)

    report = _initlint([*args, "--exit-zero"], "json", paths)
    if report.returncode != 0:
        return _fail_with(report)
    findings = json.loads(report.stdout)["findings"]
    severities = Counter(f["severity"] for f in findings)

    if sarif_file:
        sarif = _initlint([*args, "--exit-zero"], "sarif", paths)
        if sarif.returncode != 0:
            return _fail_with(sarif)
        Path(sarif_file).parent.mkdir(parents=True, exist_ok=True)
        Path(sarif_file).write_text(sarif.stdout, encoding="utf-8")
        print(f"initlint: SARIF written to {sarif_file}")

    _append(
        "GITHUB_OUTPUT",
        f"findings={len(findings)}\nerrors={severities['error']}\nwarnings={severities['warning']}\n"
        f"sarif-file={sarif_file}\n",
    )
    _append("GITHUB_STEP_SUMMARY", _summary(findings))
    failing = failing_count(severities, fail_on)
    print(f"initlint: {len(findings)} finding(s); {failing} fail this step (fail-on: {fail_on})")
    return 1 if failing else 0


def failing_count(severities: Counter[str], fail_on: str) -> int:
    """How many findings fail the step under ``fail_on`` (see FAIL_ON)."""
    return sum(severities[s] for s in _FAILING[fail_on])


def _summary(findings: list[dict[str, object]]) -> str:
    if not findings:
        return "### initlint\n\nNo findings.\n"
    by_rule = Counter((str(f["code"]), str(f["name"]), str(f["severity"])) for f in findings)
    rows = "".join(
        f"| {code} | `{name}` | {severity} | {count} |\n" for (code, name, severity), count in sorted(by_rule.items())
    )
    return (
        f"### initlint\n\n{len(findings)} finding(s)\n\n| code | rule | severity | count |\n|---|---|---|---|\n{rows}"
    )


def main(argv: list[str]) -> int:
    try:
        if argv == ["install"]:
            command = install_command(sys.executable)
            print("+ " + shlex.join(command), flush=True)
            return subprocess.run(command, check=False).returncode
        if argv == ["run"]:
            return run()
    except InputError as exc:
        print(f"::error title=initlint::{_escape(str(exc))}")
        return 2
    print("usage: github_action.py install|run", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
