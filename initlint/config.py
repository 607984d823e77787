"""`[tool.initlint]` in the nearest pyproject.toml (or a file given with --config), merged with
the command line; rule selection by code, prefix, name, tier (``legacy``) or ALL."""

from __future__ import annotations

import fnmatch
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

DEFAULT_EXCLUDES = (".git", ".venv", "venv", "build", "dist", "__pycache__", ".tox", "node_modules", "site-packages")
KNOWN_KEYS = frozenset(
    {
        "select",
        "ignore",
        "extend-select",
        "exclude",
        "extend-exclude",
        "per-file-ignores",
        "unsafe-fixes",
        "init-aliases",
        "probe",
        "force-exclude",
    }
)


class ConfigError(Exception):
    """Invalid configuration or options: exit 2 with this message."""


@dataclass
class Settings:
    root: Path
    config_path: Path | None = None
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDES))
    extend_exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    unsafe_fixes: bool = False
    force_exclude: bool = False  # excludes apply to paths named on the command line too (ruff's)
    init_aliases: dict[str, str] = field(default_factory=dict)
    probe: dict[str, Any] = field(default_factory=dict)

    def enabled_codes(self) -> frozenset[str]:
        return resolve_selection(self.select, self.ignore, self.extend_select)

    def excluded(self, relative: str) -> bool:
        return matches_any(relative, [*self.exclude, *self.extend_exclude])

    def ignored_codes(self, relative: str) -> set[str]:
        codes: set[str] = set()
        for pattern, selectors in self.per_file_ignores.items():
            if matches_any(relative, [pattern]):
                codes |= expand(selectors, include_off=True)
        return codes


def matches_any(relative: str, patterns: list[str]) -> bool:
    """A pattern without a slash matches any path component; one with a slash matches the
    path relative to the project root (glob syntax, ``**`` allowed)."""
    path = PurePosixPath(relative)
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" in pattern:
            # Anchored at the root (PurePath.match would match from the right: `src/gen` would hit
            # `other/src/gen`); `**/` also matches no folder at all.
            anchored = pattern.removeprefix("./").lstrip("/")
            if any(fnmatch.fnmatch(relative, p) for p in {anchored, anchored.replace("**/", "")}):
                return True
        elif any(fnmatch.fnmatch(part, pattern) for part in path.parts):
            return True
    return False


def _all_rules() -> dict[str, Any]:
    from initlint.rules import BY_CODE

    return BY_CODE


def expand(selectors: list[str], *, include_off: bool) -> set[str]:
    """Codes matched by selectors, as in ruff: ALL, an exact code or name, and a tier name
    (``legacy``: the group is its members) select every rule they name, off by default or not;
    a prefix (``IL1``) selects the rules under it that are on by default, unless ``include_off``
    (ignore and per-file-ignores take them all)."""
    from initlint.rules.base import TIERS

    rules = _all_rules()
    by_name = {rule.name: code for code, rule in rules.items()}
    chosen: set[str] = set()
    for raw in selectors:
        selector = raw.strip()
        upper = selector.upper()
        if upper == "ALL":
            chosen |= set(rules)
        elif upper in rules:
            chosen.add(upper)
        elif selector in by_name:
            chosen.add(by_name[selector])
        elif selector.lower() in TIERS:
            chosen |= {c for c, r in rules.items() if r.tier == selector.lower()}
        else:
            matched = {c for c in rules if c.startswith(upper)}
            if not matched or not upper.startswith("IL"):
                raise ConfigError(f"unknown rule code, prefix, name or tier: {selector!r}")
            chosen |= {c for c in matched if include_off or rules[c].default_enabled}
    return chosen


def resolve_selection(select: list[str] | None, ignore: list[str], extend_select: list[str]) -> frozenset[str]:
    from initlint.rules import ENGINE_CODES

    rules = _all_rules()
    base = (
        expand(select, include_off=False) if select is not None else {c for c, r in rules.items() if r.default_enabled}
    )
    chosen = (base | expand(extend_select, include_off=False) | ENGINE_CODES) - expand(ignore, include_off=True)
    return frozenset(chosen)


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with a ``[tool.initlint]`` table, from ``start`` upwards."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                if "tool.initlint" in text:  # our own table is broken: say so rather than ignore it
                    raise ConfigError(f"{candidate}: invalid TOML: {exc}") from None
                continue
            if "initlint" in data.get("tool", {}):
                return candidate
    return None


def _string_list(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"`{key}` must be a list of strings")
    return value


def load_settings(config_file: Path | None, start: Path) -> Settings:
    path = config_file or find_config(start.resolve())
    if path is None:
        return Settings(root=start.resolve())
    return read_settings(path, explicit=config_file is not None)


def read_settings(path: Path, *, explicit: bool) -> Settings:
    """The settings of one configuration file; ``explicit``: named with --config."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    tool = data.get("tool")
    table = tool.get("initlint") if isinstance(tool, dict) else data
    if explicit and (table is None or (tool is None and not data)):
        # Named on purpose: a file without our keys (a pyproject.toml without [tool.initlint],
        # an empty file) is a mistake, not a request for the defaults.
        raise ConfigError(f"{path}: no initlint configuration (no [tool.initlint] table, no initlint keys)")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.initlint] must be a table")
    settings = Settings(root=path.resolve().parent, config_path=path)
    apply_table(settings, table, str(path))
    return settings


def apply_table(settings: Settings, table: dict[str, Any], origin: str) -> None:
    for key in table:
        if key not in KNOWN_KEYS:
            raise ConfigError(f"{origin}: unknown key `{key}` in [tool.initlint]")
    if "select" in table:
        settings.select = _string_list("select", table["select"])
    if "ignore" in table:
        settings.ignore = _string_list("ignore", table["ignore"])
    if "extend-select" in table:
        settings.extend_select = _string_list("extend-select", table["extend-select"])
    if "exclude" in table:
        settings.exclude = _string_list("exclude", table["exclude"])
    if "extend-exclude" in table:
        settings.extend_exclude = _string_list("extend-exclude", table["extend-exclude"])
    if "per-file-ignores" in table:
        value = table["per-file-ignores"]
        if not isinstance(value, dict):
            raise ConfigError("`per-file-ignores` must be a table of pattern = [codes]")
        settings.per_file_ignores = {k: _string_list(f"per-file-ignores.{k}", v) for k, v in value.items()}
    if "unsafe-fixes" in table:
        if not isinstance(table["unsafe-fixes"], bool):
            raise ConfigError("`unsafe-fixes` must be true or false")
        settings.unsafe_fixes = table["unsafe-fixes"]
    if "init-aliases" in table:
        settings.init_aliases = parse_aliases(table["init-aliases"])
    if "force-exclude" in table:
        if not isinstance(table["force-exclude"], bool):
            raise ConfigError("`force-exclude` must be true or false")
        settings.force_exclude = table["force-exclude"]
    if "probe" in table:
        if not isinstance(table["probe"], dict):
            raise ConfigError("`probe` must be a table")
        from initlint.probe.thresholds import parse_thresholds  # no torch: plain dataclasses

        try:
            parse_thresholds(table["probe"])
        except ConfigError as exc:
            raise ConfigError(f"{origin}: {exc}") from None
        settings.probe = table["probe"]
    # Validate every code now so that a typo is an error, not a silent no-op.
    settings.enabled_codes()
    for selectors in settings.per_file_ignores.values():
        expand(selectors, include_off=True)


def parse_aliases(value: Any) -> dict[str, str]:
    """A list of qualified names whose last part names the nn.init function they behave like
    (``"mylib.init.trunc_normal_"``), or a table mapping a qualified name to that function."""
    from initlint.semantic.schemes import INIT_FUNCTIONS

    if isinstance(value, list):
        pairs = {_string_list("init-aliases", value)[i]: value[i].rsplit(".", 1)[-1] for i in range(len(value))}
    elif isinstance(value, dict):
        pairs = {str(k): str(v).rsplit(".", 1)[-1] for k, v in value.items()}
    else:
        raise ConfigError("`init-aliases` must be a list of qualified names or a table")
    for qualified, function in pairs.items():
        if "." not in qualified:
            raise ConfigError(f"init-aliases: `{qualified}` is not a qualified name (module.function)")
        if function not in INIT_FUNCTIONS:
            raise ConfigError(
                f"init-aliases: `{qualified}` maps to `{function}`, which is not a torch.nn.init function"
            )
    return pairs


@dataclass
class Overrides:
    """Command-line options that override every configuration file."""

    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    unsafe_fixes: bool | None = None
    force_exclude: bool | None = None

    def apply(self, settings: Settings) -> Settings:
        if self.select is not None:
            settings.select = list(self.select)
        settings.ignore = [*settings.ignore, *self.ignore]
        settings.extend_select = [*settings.extend_select, *self.extend_select]
        if self.unsafe_fixes is not None:
            settings.unsafe_fixes = self.unsafe_fixes
        if self.force_exclude is not None:
            settings.force_exclude = self.force_exclude
        settings.enabled_codes()  # a bad selector on the command line is an error now
        return settings


class SettingsResolver:
    """The settings of each file, as ruff resolves them: the nearest pyproject.toml with a
    ``[tool.initlint]`` table above the file, or the one ``--config`` names for every file;
    the command-line overrides on top. One Settings object per configuration file."""

    def __init__(self, config_file: Path | None, default_root: Path, overrides: Overrides | None = None) -> None:
        self._overrides = overrides or Overrides()
        self._default_root = default_root.resolve()
        self._fixed = self._load(config_file, self._default_root) if config_file is not None else None
        self._by_config: dict[Path | None, Settings] = {}
        self._by_folder: dict[Path, Settings] = {}
        self._by_name: dict[str, Settings] = {}  # the folder as given: no resolve() per file

    def _load(self, config_file: Path | None, start: Path, *, explicit: bool = True) -> Settings:
        if config_file is None:
            return self._overrides.apply(Settings(root=start))
        return self._overrides.apply(read_settings(config_file, explicit=explicit))

    def for_folder(self, folder: Path) -> Settings:
        if self._fixed is not None:
            return self._fixed
        known = self._by_name.get(str(folder))
        if known is not None:
            return known
        self._by_name[str(folder)] = settings = self._for_resolved(folder)
        return settings

    def _for_resolved(self, folder: Path) -> Settings:
        try:
            key = folder.resolve()
        except (OSError, RuntimeError):  # a link loop
            key = Path(os.path.abspath(folder))
        cached = self._by_folder.get(key)
        if cached is not None:
            return cached
        try:
            config = find_config(key)
        except PermissionError:  # a folder we may not search cannot hold our config: look above it
            if key.parent == key:
                config = None
            else:
                self._by_folder[key] = self.for_folder(key.parent)
                return self._by_folder[key]
        settings = self._by_config.get(config)
        if settings is None:
            settings = self._load(config, self._default_root, explicit=False)
            self._by_config[config] = settings
        self._by_folder[key] = settings
        return settings

    def for_path(self, path: Path) -> Settings:
        """The settings of a file (its folder's), or of a folder."""
        try:
            is_dir = path.is_dir()
        except (OSError, RuntimeError):  # no permission to look; RuntimeError: a link loop (Python < 3.13)
            is_dir = False
        return self.for_folder(path if is_dir else path.parent)
