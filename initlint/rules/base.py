"""What a rule is: one small class with its metadata, its trigger tokens, its examples and a
``check`` that reads the semantic model and yields reports."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

from initlint.finding import Applicability, Edit, Severity
from initlint.rules.triggers import INIT, INIT_TRIGGER, LineTrigger, remembered

if TYPE_CHECKING:
    import libcst as cst

    from initlint.project.summary import Location
    from initlint.semantic import SemanticModel


def src(block: str) -> str:
    """An example written as an indented triple-quoted block that reads like the code it is (as
    Fixit does): the newline after the opening quotes is dropped and the common indentation of
    spaces removed. Lines of only whitespace become empty, so an example that needs them (or tabs
    in its indentation) stays a plain string."""
    # Not textwrap.dedent: this runs for every example at import, and a split is 3x faster.
    lines = block.removeprefix("\n").split("\n")
    margin = min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), default=0)
    return "\n".join(line[margin:] if line.strip() else "" for line in lines)


@dataclass(frozen=True)
class Invalid:
    """An example the rule must flag; ``fixed`` is the code after its fix (None: no fix)."""

    code: str
    fixed: str | None = None
    unsafe: bool = False  # the fix is only applied with --unsafe-fixes
    # Other files of the example's project (relative path, text): the example is checked as
    # snippet.py among them, for rules that follow imports across files.
    files: tuple[tuple[str, str], ...] = ()


@dataclass
class FixSpec:
    applicability: Applicability
    description: str
    edits: list[Edit]


@dataclass(frozen=True)
class Elsewhere:
    """A related location in another file of the project (``where``: a project.summary.Location)."""

    path: str
    where: Location


@dataclass
class Report:
    node: cst.CSTNode
    message: str
    fix: FixSpec | None = None
    related: list[tuple[cst.CSTNode | Elsewhere, str]] = field(default_factory=list)
    severity: Severity | None = None  # overrides the rule's default


# What kind of finding a rule makes; it decides whether the rule is on by default.
#   bug      changes what the model trains from, or raises or warns when the code runs (on)
#   legacy   outdated API that still works as written: modernization, safe to leave (off)
#   advice   a likely mistake the rule cannot prove changes training (off)
#   engine   the file could not be read, parsed or checked (IL9xx; on, only `ignore` drops them)
#   runtime  measured by the probe (IL6xx), never by the static engine (on under --probe)
Tier = Literal["bug", "legacy", "advice", "engine", "runtime"]
TIERS: tuple[Tier, ...] = ("bug", "legacy", "advice", "engine", "runtime")
OFF_BY_DEFAULT_TIERS: frozenset[str] = frozenset({"legacy", "advice"})


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]  # one line, for `initlint rules` and the README table
    severity: ClassVar[Severity] = "warning"
    # The rule follows imports into other files of the project (semantic/remote.py): its prefilter
    # also opens on calls that may enter another file's init code (engine.may_enter_project).
    uses_project: ClassVar[bool] = False
    # A new rule is a bug rule unless it says otherwise; `default_enabled` must agree with the
    # tier (off exactly for OFF_BY_DEFAULT_TIERS: tests/test_config.py checks every rule).
    tier: ClassVar[Tier] = "bug"
    default_enabled: ClassVar[bool] = True
    fix_applicability: ClassVar[Applicability | None] = None
    # Regular expressions that must all occur in a file's text for the rule to possibly fire.
    # They let the engine skip the parse of files no enabled rule can match, so each must be
    # a necessary condition of a finding (tests check this on every example).
    # A LineTrigger stands for a regex that never spans lines, searched on the lines of its literals.
    triggers: ClassVar[tuple[str | LineTrigger, ...]] = ()
    # Plain substrings, one of which every finding's file contains: checked before the
    # triggers because `in` is a C scan, far faster than a regex without a literal prefix.
    literals: ClassVar[tuple[str, ...]] = ()
    needs_torch: ClassVar[bool] = True  # only fires in files that import torch (or an init alias)
    # Reads init sites: a configured init alias in the text satisfies the triggers too.
    uses_init_aliases: ClassVar[bool] = False
    # Measured by the runtime probe (IL6xx), never run by the static engine.
    runtime: ClassVar[bool] = False

    VALID: ClassVar[tuple[str, ...]] = ()
    INVALID: ClassVar[tuple[Invalid, ...]] = ()

    def check(self, model: SemanticModel) -> Iterator[Report]:
        raise NotImplementedError

    @classmethod
    def compiled_triggers(cls) -> tuple[re.Pattern[str], ...]:
        cached = cls.__dict__.get("_compiled_triggers")
        if cached is None:
            compiled = [
                INIT if t == INIT_TRIGGER else t if isinstance(t, LineTrigger) else re.compile(t) for t in cls.triggers
            ]
            # The shared INIT test first: asked once per file (memo) and found in few files, it
            # spares most files the rule's own regexes, which have no literal prefix to scan by.
            cached = tuple(sorted(compiled, key=lambda pattern: pattern is not INIT))
            cls._compiled_triggers = cached  # type: ignore[attr-defined]
        return cached

    @classmethod
    def may_match(cls, text: str, memo: dict[object, bool] | None = None) -> bool:
        """All triggers occur in ``text``. ``memo`` shares each pattern's answer between the
        rules of one file (many rules share INIT_TRIGGER)."""
        if cls.literals and not any(literal in text for literal in cls.literals):
            return False
        return all(
            remembered(memo, pattern, lambda pattern=pattern: pattern.search(text) is not None)
            for pattern in cls.compiled_triggers()
        )


@dataclass(frozen=True)
class RuleInfo:
    """Serializable facts about a rule, for listings and output formats."""

    code: str
    name: str
    summary: str
    severity: Severity
    default_enabled: bool
    fix: Applicability | None
    tier: Tier = "bug"

    @classmethod
    def of(cls, rule: type[Rule]) -> RuleInfo:
        return cls(
            rule.code, rule.name, rule.summary, rule.severity, rule.default_enabled, rule.fix_applicability, rule.tier
        )
