"""Per-file results keyed by content hash, initlint version and effective configuration.

One small JSON file per entry, written to a temporary name and renamed into place, so that two
processes sharing the directory never see half an entry. Every entry is validated when read
(anyone who can write the folder can write an entry); anything unreadable or invalid is a miss.
Results with an internal error (IL999) are not cached: the next run reports it afresh, with or
without the traceback that `-v` asks for."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from initlint import __version__
from initlint.finding import Finding
from initlint.rules import BY_CODE

_GITIGNORE = "# Created by initlint; the cache is never committed.\n*\n"


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def configuration_key(parts: list[str]) -> str:
    return hashlib.blake2b("\0".join([__version__, *parts]).encode(), digest_size=10).hexdigest()


class Cache:
    def __init__(self, directory: Path, configuration: str) -> None:
        self.root = directory
        self.directory = directory / configuration
        self._ready = False

    def _prepare(self) -> None:
        if self._ready:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        marker = self.root / ".gitignore"
        if not marker.exists():
            _atomic_write(marker, _GITIGNORE.encode())
        self._ready = True

    def _entry(self, digest: str) -> Path:
        return self.directory / f"{digest}.json"

    def get(
        self, digest: str, path: str, dependency_matches: Callable[[str, str], bool] | None = None
    ) -> list[Finding] | None:
        """The findings stored for ``digest``; None when there are none or a file they were
        derived from (a summary read from another file of the project) has changed since."""
        try:
            raw = self._entry(digest).read_bytes()
            items = json.loads(raw)
            deps: dict[str, str] = {}
            if isinstance(items, dict):
                deps, items = items["deps"], items["findings"]
                if not isinstance(deps, dict) or not all(isinstance(v, str) for v in deps.values()):
                    raise ValueError("invalid dependencies")
            if not isinstance(items, list) or not all(_valid_entry(item) for item in items):
                raise ValueError("invalid cache entry")
            if deps and (dependency_matches is None or not all(dependency_matches(p, d) for p, d in deps.items())):
                return None  # a file it read changed: recompute (the entry is overwritten then)
            return [Finding.from_dict({**item, "path": path}) for item in items]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            # Corrupt or foreign entry (RecursionError: absurdly nested JSON): drop it and recompute.
            with contextlib.suppress(OSError):
                self._entry(digest).unlink()
            return None

    def put(self, digest: str, findings: list[Finding], deps: dict[str, str] | None = None) -> None:
        if any(finding.code == "IL999" for finding in findings):
            return  # a rule crashed: nothing to replay, and -v would store its traceback
        try:
            self._prepare()
            payload: object = [_entry_dict(f) for f in findings]
            if deps:
                payload = {"deps": deps, "findings": payload}
            _atomic_write(self._entry(digest), json.dumps(payload, separators=(",", ":")).encode())
        except OSError:
            pass  # a cache that cannot be written only costs time


def _entry_dict(finding: Finding) -> dict[str, object]:
    """A finding without its path: an entry serves every file with the same content. Related
    locations in the finding's own file lose their path too, or they would name the first file."""
    data = {k: v for k, v in finding.to_dict().items() if k != "path"}
    data["related"] = [
        {k: v for k, v in related.items() if not (k == "path" and v == finding.path)} for related in data["related"]
    ]
    return data


_SEVERITIES = ("error", "warning", "info")
_FINDING_KEYS = {"code", "name", "severity", "message", "line", "column", "end_line", "end_column", "related", "fix"}
_SPAN_KEYS = {"line", "column", "end_line", "end_column"}


def _valid_entry(item: object) -> bool:
    """Whether ``item`` is a finding as `put` writes it: known code and name, a valid
    severity, 1-based ordered positions, well-formed related locations and fix."""
    if not isinstance(item, dict) or set(item) != _FINDING_KEYS:
        return False
    rule = BY_CODE.get(item["code"]) if isinstance(item["code"], str) else None
    return (
        rule is not None
        and item["code"] != "IL999"
        and item["name"] == rule.name
        and item["severity"] in _SEVERITIES
        and isinstance(item["message"], str)
        and _valid_span(item)
        and isinstance(item["related"], list)
        and all(_valid_related(related) for related in item["related"])
        and (item["fix"] is None or _valid_fix(item["fix"]))
    )


def _valid_span(item: dict[str, object]) -> bool:
    values = [item["line"], item["column"], item["end_line"], item["end_column"]]
    if not all(type(value) is int and value >= 1 for value in values):  # bool is an int: excluded
        return False
    return (values[0], values[1]) <= (values[2], values[3])  # type: ignore[operator]


def _valid_related(item: object) -> bool:
    if not isinstance(item, dict) or not _SPAN_KEYS | {"message"} <= set(item) <= _SPAN_KEYS | {"message", "path"}:
        return False
    return isinstance(item["message"], str) and isinstance(item.get("path", ""), str) and _valid_span(item)


def _valid_fix(fix: object) -> bool:
    if not isinstance(fix, dict) or set(fix) != {"applicability", "description", "edits"}:
        return False
    edits = fix["edits"]
    return (
        fix["applicability"] in ("safe", "unsafe")
        and isinstance(fix["description"], str)
        and isinstance(edits, list)
        and len(edits) > 0
        and all(
            isinstance(edit, dict)
            and set(edit) == _SPAN_KEYS | {"content"}
            and isinstance(edit["content"], str)
            and _valid_span(edit)
            for edit in edits
        )
    )


def _atomic_write(target: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
