"""`initlint server`: a real LSP session over stdio (python -m initlint server as a subprocess,
JSON-RPC frames written and read here), and the pure parts it is built from."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from initlint.cli import main
from initlint.finding import Finding
from initlint.lsp.analysis import Lines, lint_document, noqa_edit

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 20.0  # per message; a healthy session answers in well under a second

BUGGY = "import torch.nn as nn\n\nlayer = nn.Linear(2, 2)\nnn.init.normal(layer.weight)\n"
DROPOUT = (
    "import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Block(nn.Module):\n"
    "    def forward(self, x):\n        return F.dropout(x, p=0.1)\n"
)


class Client:
    """A minimal LSP client: frames over the server's stdin/stdout, a reader thread."""

    def __init__(self, cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "initlint", "server"], cwd=cwd, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.backlog: list[dict[str, Any]] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            assert length is not None
            self.messages.put(json.loads(stream.read(length)))

    def send(self, payload: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **payload}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.send({"method": method, "params": params})

    def _next(self, deadline: float) -> dict[str, Any]:
        try:
            message = self.messages.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError(f"no message from the server in time; stderr: {self._stderr()}") from None
        if message is None:
            raise AssertionError(f"the server closed its output; stderr: {self._stderr()}")
        if "method" in message and "id" in message:  # a request of the server's: answer it
            self.send({"id": message["id"], "result": None})
        return message

    def request(self, method: str, params: dict[str, Any] | None) -> Any:
        self.next_id += 1
        ident = self.next_id
        self.send({"id": ident, "method": method, "params": params})
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = self._next(deadline)
            if message.get("id") == ident and "method" not in message:
                assert "error" not in message, message
                return message["result"]
            self.backlog.append(message)

    def diagnostics(self, uri: str, version: int) -> list[dict[str, Any]]:
        """The diagnostics published for this version of the document."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for message in self.backlog:
                params = message.get("params") or {}
                if (
                    message.get("method") == "textDocument/publishDiagnostics"
                    and params.get("uri") == uri
                    and params.get("version") == version
                ):
                    self.backlog.remove(message)
                    return params["diagnostics"]
            self.backlog.append(self._next(deadline))

    def _stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        assert self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def _apply(text: str, edits: list[dict[str, Any]]) -> str:
    """Apply LSP TextEdits (UTF-16 positions; the test texts are ASCII) as an editor would."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def offset(position: dict[str, int]) -> int:
        return min(offsets[position["line"]] + position["character"], len(text))

    spans = sorted(
        ((offset(e["range"]["start"]), offset(e["range"]["end"]), e["newText"]) for e in edits), reverse=True
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def _open(client: Client, path: Path, text: str) -> str:
    uri = path.resolve().as_uri()
    client.notify(
        "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}
    )
    return uri


def _change(client: Client, uri: str, version: int, text: str) -> None:
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
    )


def _actions(client: Client, uri: str, diagnostic: dict[str, Any]) -> list[dict[str, Any]]:
    return client.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}},
    )


@pytest.fixture
def client(tmp_path: Path):  # type: ignore[no-untyped-def]
    session = Client(tmp_path)
    try:
        result = session.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": tmp_path.resolve().as_uri(),
                "capabilities": {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}}},
            },
        )
        assert result["serverInfo"]["name"] == "initlint"
        assert result["capabilities"]["codeActionProvider"]
        session.notify("initialized", {})
        yield session
    finally:
        session.close()


def test_session_diagnostics_fix_and_clear(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(BUGGY)
    uri = _open(client, path, BUGGY)
    (diagnostic,) = client.diagnostics(uri, 1)
    assert diagnostic["code"] == "IL101"
    assert diagnostic["source"] == "initlint"
    assert diagnostic["severity"] == 2  # warning
    assert diagnostic["range"]["start"] == {"line": 3, "character": 8}  # `normal`, as `check` says 4:9
    assert diagnostic["codeDescription"]["href"].endswith("IL101.md")

    actions = _actions(client, uri, diagnostic)
    titles = [a["title"] for a in actions]
    fix = next(a for a in actions if a["kind"] == "quickfix" and "noqa" not in a["title"])
    assert "unsafe" not in fix["title"] and fix["isPreferred"] is True, titles
    assert any("noqa" in t for t in titles), titles
    assert any(a["kind"] == "source.fixAll.initlint" for a in actions), titles

    fixed = _apply(BUGGY, fix["edit"]["changes"][uri])
    assert "nn.init.normal_(layer.weight)" in fixed
    fix_all = next(a for a in actions if a["kind"] == "source.fixAll.initlint")
    assert _apply(BUGGY, fix_all["edit"]["changes"][uri]) == fixed

    hover = client.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 3, "character": 9}}
    )
    assert hover["contents"]["value"].startswith("# IL101 `deprecated-init-alias`")
    assert (
        client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}})
        is None
    )

    _change(client, uri, 2, fixed)
    assert client.diagnostics(uri, 2) == []

    # Back to the bug, then silenced by the noqa action instead.
    _change(client, uri, 3, BUGGY)
    (again,) = client.diagnostics(uri, 3)
    noqa = next(a for a in _actions(client, uri, again) if "noqa" in a["title"])
    silenced = _apply(BUGGY, noqa["edit"]["changes"][uri])
    assert silenced.splitlines()[3] == "nn.init.normal(layer.weight)  # noqa: IL101"
    _change(client, uri, 4, silenced)
    assert client.diagnostics(uri, 4) == []

    assert client.request("shutdown", None) is None
    client.notify("exit")
    assert client.process.wait(timeout=TIMEOUT) == 0


def test_session_unsafe_fix_related_config_and_excludes(client: Client, tmp_path: Path) -> None:
    # An unsafe fix is offered, marked, and not preferred.
    block = tmp_path / "block.py"
    uri = _open(client, block, DROPOUT)
    (diagnostic,) = client.diagnostics(uri, 1)
    assert diagnostic["code"] == "IL501"
    fixes = [a for a in _actions(client, uri, diagnostic) if "noqa" not in a["title"] and a["kind"] == "quickfix"]
    assert fixes and all("(unsafe fix)" in a["title"] and not a.get("isPreferred") for a in fixes)

    # Related locations become relatedInformation in the same document.
    chain = (ROOT / "examples" / "relu_mlp_xavier.py").read_text()
    mlp = _open(client, tmp_path / "mlp.py", chain)
    il201 = next(d for d in client.diagnostics(mlp, 1) if d["code"] == "IL201")
    related = il201["relatedInformation"]
    assert related and all(r["location"]["uri"] == mlp for r in related)
    assert any("relu" in r["message"] for r in related)

    # The nearest pyproject.toml of the document decides: ignores, per-file ignores, excludes.
    project = tmp_path / "project"
    (project / "vendored").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[tool.initlint]\nextend-exclude = ["vendored"]\n[tool.initlint.per-file-ignores]\n"quiet.py" = ["IL101"]\n'
    )
    for name in ("loud.py", "quiet.py", "vendored/x.py"):
        doc = _open(client, project / name, BUGGY)
        codes = [d["code"] for d in client.diagnostics(doc, 1)]
        assert codes == (["IL101"] if name == "loud.py" else []), name

    # The server asked to watch pyproject.toml files; a change re-lints the open documents.
    (registration,) = [m for m in client.backlog if m.get("method") == "client/registerCapability"]
    (watcher,) = registration["params"]["registrations"][0]["registerOptions"]["watchers"]
    assert watcher["globPattern"] == "**/pyproject.toml"
    loud = (project / "loud.py").resolve().as_uri()
    (project / "pyproject.toml").write_text('[tool.initlint]\nignore = ["IL101"]\n')
    changes = [{"uri": (project / "pyproject.toml").resolve().as_uri(), "type": 2}]
    client.notify("workspace/didChangeWatchedFiles", {"changes": changes})
    assert client.diagnostics(loud, 1) == []

    # A broken configuration is said once, at the top of the document.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text('[tool.initlint]\nselect = ["IL999999"]\n')
    doc = _open(client, broken / "m.py", BUGGY)
    (error,) = client.diagnostics(doc, 1)
    assert error["severity"] == 1 and error["message"].startswith("initlint: configuration error: ")

    # Changes in quick succession are linted once, as the last of them (debounced).
    typed = _open(client, tmp_path / "typed.py", BUGGY)
    assert [d["code"] for d in client.diagnostics(typed, 1)] == ["IL101"]
    for version, text in ((2, BUGGY + "\n"), (3, BUGGY + "\n\n"), (4, BUGGY.replace("normal(", "normal_("))):
        _change(client, typed, version, text)
    assert client.diagnostics(typed, 4) == []
    published = [
        m["params"].get("version")
        for m in client.backlog
        if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == typed
    ]
    assert 2 not in published and 3 not in published

    # Positions are UTF-16 code units (the default encoding): an emoji before the finding counts 2.
    emoji = _open(client, tmp_path / "emoji.py", BUGGY.replace("nn.init.normal", "s = '\U0001f60b'; nn.init.normal"))
    (shifted,) = client.diagnostics(emoji, 1)
    assert shifted["range"]["start"] == {"line": 3, "character": 18}  # code point 17

    # Text no file could hold (a lone surrogate is valid JSON) is IL901, and the server goes on.
    odd = _open(client, tmp_path / "odd.py", "s = '\ud800'\n" + BUGGY)
    (unreadable,) = client.diagnostics(odd, 1)
    assert unreadable["code"] == "IL901"
    # A code action for a document the client never opened: nothing, not an error.
    never = (tmp_path / "never.py").resolve().as_uri()
    whole = {"start": {"line": 0, "character": 0}, "end": {"line": 9, "character": 0}}
    assert (
        client.request(
            "textDocument/codeAction", {"textDocument": {"uri": never}, "range": whole, "context": {"diagnostics": []}}
        )
        == []
    )

    # Closing a document clears its diagnostics.
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    deadline = time.monotonic() + TIMEOUT
    while True:
        message = client._next(deadline)
        if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
            assert message["params"]["diagnostics"] == []
            break


def test_server_without_pygls_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pygls", None)  # import pygls now raises ImportError
    result = CliRunner().invoke(main, ["server"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        'initlint: error: initlint server needs pygls, which is not installed (pip install "initlint[lsp]")'
    ]


# ---- the pure parts ----------------------------------------------------------------------------


def _finding(code: str, line: int) -> Finding:
    return Finding(code, "name", "warning", "message", "m.py", line, 1, line, 2)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("nn.init.normal(w)", "nn.init.normal(w)  # noqa: IL101"),
        ("nn.init.normal(w)  # keep", "nn.init.normal(w)  # keep  # noqa: IL101"),
        ("nn.init.normal(w)  # noqa: F401", "nn.init.normal(w)  # noqa: F401, IL101"),
        ("nn.init.normal(w)  # noqa: F401,E501 -- why", "nn.init.normal(w)  # noqa: F401,E501, IL101 -- why"),
    ],
)
def test_noqa_edit_appends_or_extends(line: str, expected: str) -> None:
    text = f"import torch.nn as nn\n{line}\n"
    edit = noqa_edit(text, _finding("IL101", 2))
    assert edit is not None
    changed = line[: edit.column - 1] + edit.content + line[edit.end_column - 1 :]
    assert changed == expected


@pytest.mark.parametrize(
    "text",
    [
        'x = """start\nnn.init.normal(w)\n"""\n',  # the line ends inside a string
        "x = f(1, \\\n  2)\n",  # a comment after a backslash continuation breaks the code
    ],
)
def test_noqa_edit_refused_where_a_comment_cannot_go(text: str) -> None:
    assert noqa_edit(text, _finding("IL101", 1 if "\\" in text else 2)) is None


def test_noqa_edit_not_offered_for_syntax_errors() -> None:
    assert noqa_edit("def f(:\n", _finding("IL900", 1)) is None


def test_lines_convert_code_points_to_client_units() -> None:
    text = "a = '😋'; b\r\nsecond\u2028still second\n"
    utf16 = Lines(text)
    assert utf16.to_client(1, 10) == (0, 10)  # 'b' is code point 10, UTF-16 unit 10 (😋 counts 2)
    assert utf16.to_client(1, 8) == (0, 8)
    assert utf16.from_client(0, 10) == (1, 10)
    assert utf16.to_client(2, 8) == (1, 7)  # U+2028 does not end a line in Python nor in LSP
    assert Lines(text, "utf-32").to_client(1, 10) == (0, 9)
    assert Lines(text, "utf-8").to_client(1, 10) == (0, 12)
    assert utf16.end() == (2, 0)


def test_lint_document_reads_the_nearest_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.initlint]\nignore = ["IL101"]\n')
    inner = tmp_path / "sub"
    inner.mkdir()
    (inner / "pyproject.toml").write_text("[tool.initlint]\n")
    assert lint_document(BUGGY, tmp_path / "a.py", tmp_path).findings == []
    assert [f.code for f in lint_document(BUGGY, inner / "a.py", tmp_path).findings] == ["IL101"]
    # An unsaved document (no path) is linted under the workspace's configuration.
    assert lint_document(BUGGY, None, tmp_path).findings == []


def test_lint_document_lone_surrogate_is_il901(tmp_path: Path) -> None:
    result = lint_document("s = '\ud800'\n" + BUGGY, tmp_path / "a.py", tmp_path)
    assert [f.code for f in result.findings] == ["IL901"]
    assert "surrogates not allowed at character 5" in result.findings[0].message


def test_a_failure_of_initlint_is_a_diagnostic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from initlint.lsp import server

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(server, "lint_document", broken)
    result = server._lint_safely(BUGGY, tmp_path / "a.py", tmp_path)
    assert result.error == "internal error: RuntimeError: boom" and result.findings == []
