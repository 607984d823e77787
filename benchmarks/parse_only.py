"""The floor for a libcst linter: read every ``.py`` file below the given folders and call
``libcst.parse_module`` on it, in this one process (one core), with no metadata.

Prints one JSON object: files, lines, bytes, parse errors, seconds (parsing and reading,
not the interpreter start or the libcst import, which are timed separately).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import libcst


def main(argv: list[str]) -> int:
    files = sorted(p for arg in argv for p in Path(arg).rglob("*.py") if p.is_file())
    lines = size = errors = 0
    start = time.perf_counter()
    for path in files:
        data = path.read_bytes()
        size += len(data)
        lines += data.count(b"\n")
        try:
            libcst.parse_module(data)
        except Exception:  # a file libcst cannot parse still costs its time
            errors += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"files": len(files), "lines": lines, "bytes": size, "errors": errors, "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
