"""Per-file results keyed by content hash, initlint version and effective configuration.

One small JSON file per entry, written to a temporary name and renamed into place, so that two
processes sharing the directory never see half an entry; anything unreadable is a miss."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from initlint import __version__
from initlint.finding import Finding

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

    def get(self, digest: str, path: str) -> list[Finding] | None:
        try:
            raw = self._entry(digest).read_bytes()
            return [Finding.from_dict({**item, "path": path}) for item in json.loads(raw)]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # Corrupt or foreign entry: drop it and recompute.
            with contextlib.suppress(OSError):
                self._entry(digest).unlink()
            return None

    def put(self, digest: str, findings: list[Finding]) -> None:
        try:
            self._prepare()
            payload = [_entry_dict(f) for f in findings]
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
