"""The fuzz campaign of issue 8 in CI size: programs of the init-idiom generator
(tests/fuzzgen/init_idioms.py) through the real command line, ``initlint check --select ALL
--fix --unsafe-fixes --no-cache`` on a folder, twice. No traceback, no IL999, every file still
compiles after the fix, the second --fix changes no byte. Fixed seeds: the same programs on
every run. ``python benchmarks/fuzz_campaign.py`` runs the thousands."""

from __future__ import annotations

import os
from pathlib import Path

from fuzzgen.harness import TRAILER, Case, compiles, run_batch
from fuzzgen.init_idioms import generate, generate_body

from initlint.engine import LintOptions, candidate_rules
from initlint.testing import EVERY_CODE

PROGRAMS = int(os.environ.get("INITLINT_FUZZ_IDIOMS", "24"))
STATIC = frozenset(c for c in EVERY_CODE if not c.startswith("IL6"))
# Idioms the generator must keep producing (checked over a few hundred seeds), so that a change
# to it cannot quietly drop what the campaign is meant to cover.
REQUIRED_FEATURES = {
    "deprecated-alias", "from-import-as", "style:init", "style:I", "style:from", "style:nn.init",
    "style:torch.nn.init", "data-init", "legacy-function", "comment-between-args", "comment-in-legacy-call",
    "classname-dispatch", "exact-type-dispatch", "match-dispatch", "modules-loop", "named-parameters-loop",
    "apply-call-result", "init-before-layers", "init-in-forward", "never-filled-parameter", "weight_norm",
    "init-after-weight-norm", "functional-dropout", "unguarded-bias", "custom-layer", "pix2pix-init",
    "shebang", "coding-line", "latin-1", "docstring", "future-import", "f-string", "f-string-legacy",
    "no-import-torch", "no-final-newline", "parenthesized-from-import", "backslash", "edge-number",
    "bad-argument", "except-star", "match-capture", "local-import", "multiline-sequential", "one-line-if",
    "init:trunc_normal_", "init:kaiming_normal_", "init:xavier_uniform_", "init:sparse_", "init:orthogonal_",
    "torch-binder", "joined-docstring", "dunder-all", "semicolon", "one-line-for", "decorator",
    "apply-lambda-conditional", "non-ascii-before-fix", "bom", "cr-endings", "mixed-endings", "odd-structure",
}  # fmt: skip


def test_the_generator_is_deterministic_and_every_program_compiles() -> None:
    features: set[str] = set()
    for seed in range(300):
        program = generate(seed)
        assert program == generate(seed)
        assert compiles(program.data), (seed, program.text)
        body = generate_body(seed)
        assert compiles(body.encode()), (seed, body)
        features.update(program.features)
    assert features >= REQUIRED_FEATURES, sorted(REQUIRED_FEATURES - features)


def test_the_trailer_lets_every_rule_past_the_prefilter() -> None:
    options = LintOptions(STATIC)
    assert {r.code for r in candidate_rules(TRAILER, options)} == {r.code for r in options.rules}


def test_generated_idioms_survive_fix_twice(tmp_path: Path) -> None:
    cases = [Case(f"g{seed:03d}", "idiom", generate(seed).data) for seed in range(PROGRAMS)]
    result = run_batch(cases, tmp_path)
    failures = [f"{f.case.name} {f.kind}:\n{f.detail[:3000]}" for f in result.failures]
    assert not failures, "\n\n".join(failures)
    tally = result.tally
    assert tally.programs == PROGRAMS and tally.invalid_input == 0
    # The programs exercise the fixes, not only the checks.
    assert tally.changed >= PROGRAMS // 2 and tally.fixes > PROGRAMS
