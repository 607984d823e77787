"""The `initlint` command line (click). Heavy modules are imported inside the commands so that
`initlint --help` and cached runs start fast, and torch is only ever imported by `probe`."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from initlint import __version__

if TYPE_CHECKING:
    from initlint.config import Settings
from initlint.output import FORMATS
from initlint.output.text import escape_text

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# The formats --statistics can be written in (ruff: the text ones and json).
STATISTICS_FORMATS = ("text", "full", "grouped", "json")


def _split(values: tuple[str, ...]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _fail(message: str) -> None:
    click.echo(f"initlint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _display_path(path: Path, cwd: Path) -> str:
    try:
        return os.path.relpath(path, cwd) if path.resolve().is_relative_to(cwd) else str(path)
    except (OSError, RuntimeError, ValueError):  # RuntimeError: a symlink loop (Python < 3.13)
        return str(path)


class _PathArgument(click.Path):
    """A path that may be unreadable (then IL901, not a usage error), but never empty: click
    would turn "" into "." and check (or --fix) the current folder."""

    def __init__(self) -> None:
        super().__init__(path_type=Path, readable=False)

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and not value:
            self.fail("an empty path (use '.' for the current folder)", param, ctx)
        return super().convert(value, param, ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="initlint")
def main() -> None:
    """initlint: find bugs in the weight-initialization code of PyTorch models."""


@main.command()
@click.argument("paths", nargs=-1, type=_PathArgument())
@click.option(
    "--select",
    multiple=True,
    help="Rule codes, prefixes (IL1), names or tiers (legacy) to enable, comma-separated; replaces the "
    "configured set. ALL: every rule.",
)
@click.option("--ignore", multiple=True, help="Rule codes, prefixes, names or tiers to disable, comma-separated.")
@click.option(
    "--extend-select",
    multiple=True,
    help="Rule codes, prefixes, names or tiers to enable on top of the selection (e.g. legacy).",
)
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also apply (with --fix) or show unsafe fixes.")
@click.option(
    "--diff", is_flag=True, help="Print a unified diff of the fixes instead of writing them; exit 1 when there is one."
)
@click.option(
    "--output-format",
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    envvar="INITLINT_OUTPUT_FORMAT",
    show_envvar=True,
    help="Output format (--format is the same option).",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option(
    "--force-exclude/--no-force-exclude",
    default=None,
    help="Apply the excludes to paths named on the command line too (for pre-commit).",
)
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule.")
@click.option(
    "--add-noqa", is_flag=True, help="Add `# noqa: CODES` comments to the lines with findings (merging existing ones)."
)
@click.option("--show-fixes", is_flag=True, help="With --fix or --diff: list the fixes per file and rule.")
@click.option("--show-settings", is_flag=True, help="Print the settings that apply to the first path, then exit.")
@click.option("--show-files", is_flag=True, help="Print the files that would be checked, then exit.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option("--cache-dir", type=_PathArgument(), help="Cache folder (default: .initlint_cache at the project root).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: the number of cores).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="A pyproject.toml or initlint TOML file to use instead of the nearest one.",
)
@click.option("--stdin-filename", help="Read the source from stdin and report it under this name (for editors).")
@click.option("-q", "--quiet", is_flag=True, help="Print findings only, no summary.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks of internal errors.")
@click.option(
    "--probe",
    is_flag=True,
    help="Also run the runtime probe (IL6xx) on every nn.Module class that builds without arguments "
    "(imports the files: their code runs).",
)
def check(
    paths: tuple[Path, ...], select: tuple[str, ...], ignore: tuple[str, ...], extend_select: tuple[str, ...],
    fix: bool, unsafe_fixes: bool | None, diff: bool, output_format: str, exit_zero: bool, statistics: bool,
    no_cache: bool, cache_dir: Path | None, jobs: int | None, config_file: Path | None, stdin_filename: str | None,
    quiet: bool, color: str, verbose: bool, probe: bool = False, force_exclude: bool | None = None,
    show_fixes: bool = False, show_settings: bool = False, show_files: bool = False, add_noqa: bool = False,
) -> None:  # fmt: skip
    """Check PATHS (default: the current folder) for initialization bugs."""
    try:
        code = _check(**locals())
    except SystemExit:
        raise
    except KeyboardInterrupt:
        _fail("interrupted")
    except Exception as exc:  # the last line of defence: one clear line, exit 2
        if verbose:
            import traceback

            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc}")
    sys.exit(code)


def _check(
    paths: tuple[Path, ...], select: tuple[str, ...], ignore: tuple[str, ...], extend_select: tuple[str, ...],
    fix: bool, unsafe_fixes: bool | None, diff: bool, output_format: str, exit_zero: bool, statistics: bool,
    no_cache: bool, cache_dir: Path | None, jobs: int | None, config_file: Path | None, stdin_filename: str | None,
    quiet: bool, color: str, verbose: bool, probe: bool = False, force_exclude: bool | None = None,
    show_fixes: bool = False, show_settings: bool = False, show_files: bool = False, add_noqa: bool = False,
) -> int:  # fmt: skip
    from initlint.config import ConfigError, Overrides, SettingsResolver

    cwd = Path.cwd().resolve()
    targets = list(paths) or [Path(".")]
    start = (
        Path(stdin_filename).parent if stdin_filename else (targets[0] if _is_dir(targets[0]) else targets[0].parent)
    )
    if add_noqa and (fix or diff or stdin_filename is not None):
        click.echo("initlint: error: --add-noqa cannot be combined with --fix, --diff or --stdin-filename", err=True)
        return EXIT_ERROR
    if statistics and output_format not in STATISTICS_FORMATS:  # as ruff: a usage error, not silently ignored
        click.echo(f"initlint: error: --statistics is not supported with the {output_format} format", err=True)
        return EXIT_ERROR
    for option, values in (("--select", select), ("--extend-select", extend_select), ("--ignore", ignore)):
        if values and not _split(values):  # as in ruff, `--select ''` is an error, not "no rules"
            click.echo(f"initlint: error: invalid value {values[-1]!r} for {option}: no rule code", err=True)
            return EXIT_ERROR
    try:
        overrides = Overrides(
            _split(select) if select else None, _split(ignore), _split(extend_select), unsafe_fixes, force_exclude
        )
        # Each file gets the nearest [tool.initlint] above it (ruff's hierarchy); --config, all of them.
        resolver = SettingsResolver(config_file, cwd, overrides)
        # A folder we may not search (its file is reported IL901) cannot hold our config.
        settings = resolver.for_folder(start if _is_dir(start) and os.access(start, os.X_OK) else cwd)
        codes = settings.enabled_codes()
    except ConfigError as exc:
        _fail(str(exc))
        raise AssertionError from exc  # unreachable: _fail exits

    if show_settings:
        from initlint.output.show import render_settings

        shown = stdin_filename or str(targets[0])
        cache_folder = cache_dir or settings.root / ".initlint_cache"
        extra = {"output-format": output_format, "cache-dir": None if no_cache else str(cache_folder)}
        click.echo(render_settings(settings, shown, codes, extra))
        return EXIT_OK

    from initlint.engine import LintOptions

    options = LintOptions(codes, tuple(sorted(settings.init_aliases.items())), verbose=verbose)
    mode = "diff" if diff else ("fix" if fix else "check")

    if stdin_filename is not None:
        if settings.force_exclude and _excluded_name(Path(stdin_filename), settings):
            # As ruff: an excluded --stdin-filename is not checked; --fix gives the source back as it came.
            data = sys.stdin.buffer.read()
            if mode == "fix":
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            return EXIT_OK
        return _check_stdin(stdin_filename, options, settings, mode, output_format, exit_zero, statistics, quiet, color)

    from initlint.discovery import discover

    problems: list[str] = []
    named_special: set[Path] = set()
    try:
        files = discover(targets, resolver, problems, named_special)
    except ConfigError as exc:
        _fail(str(exc))
    for problem in problems:  # folders that cannot be listed, bad .gitignore lines: skipped, but said
        click.echo(f"initlint: warning: {escape_text(problem)}", err=True)
    display = [_display_path(f, cwd) for f in files]
    special = frozenset(d for f, d in zip(files, display, strict=True) if f in named_special)
    if show_files:
        for shown in display:
            click.echo(escape_text(shown))
        return EXIT_OK

    try:
        result, findings = _run_per_settings(files, display, special, resolver, mode, no_cache, cache_dir, jobs,
                                             targets, cwd, verbose)  # fmt: skip
    except ConfigError as exc:
        _fail(str(exc))
        raise AssertionError from exc
    if add_noqa:  # as ruff: the comments are the output; exit 0
        from initlint.add_noqa import add_noqa_to_files

        added, problems = add_noqa_to_files(findings, _roots(targets))
        for problem in [*result.messages, *problems]:
            click.echo(f"initlint: {escape_text(problem)}", err=True)
        click.echo(f"Added {added} noqa directive{'s' if added != 1 else ''}.", err=True)
        return EXIT_OK
    if probe and mode == "check":
        findings = _apply_per_file_ignores(_with_probe(findings, display, codes, settings, verbose), settings, cwd)

    for message in result.messages:
        click.echo(f"initlint: {escape_text(message)}", err=True)
    if mode == "diff":
        for text in result.diffs:
            click.echo(text, nl=False)
        if show_fixes:
            from initlint.output.show import render_fixes

            click.echo(render_fixes(result.fixed_by_file, would=True), err=True)
        if not quiet:
            click.echo(f"Would fix {result.fixed} finding{'s' if result.fixed != 1 else ''}.", err=True)
        return EXIT_OK if exit_zero or not result.diffs else EXIT_FINDINGS
    if show_fixes and mode == "fix":
        from initlint.output.show import render_fixes

        # On stdout beside the text formats (as ruff), on stderr beside a machine-read report.
        text_like = output_format in ("text", "full", "grouped")
        click.echo(render_fixes(result.fixed_by_file, would=False), err=not text_like)
    _emit(findings, result.files, result.fixed, settings.unsafe_fixes, output_format, statistics, quiet, color)
    if exit_zero or not findings:
        return EXIT_OK
    return EXIT_FINDINGS


def _run_per_settings(files, display, special, resolver, mode, no_cache, cache_dir, jobs, targets, cwd, verbose):  # type: ignore[no-untyped-def]
    """Run the files of each configuration with that configuration's rules, aliases, cache key
    and per-file ignores (the order of the paths given cannot change a file's findings)."""
    import contextlib
    import tempfile

    # Without the cache, the workers of this run still share the summaries they build, in a folder
    # of this run's own (gone when it ends).
    scratch = (
        tempfile.TemporaryDirectory(prefix="initlint-summaries-", ignore_cleanup_errors=True) if no_cache else None
    )
    try:
        return _run_groups(files, display, special, resolver, mode, scratch, cache_dir, jobs, targets, cwd, verbose)
    finally:
        if scratch is not None:
            # A scratch folder left behind costs disk space, not the run's result.
            with contextlib.suppress(Exception):
                scratch.cleanup()


def _run_groups(files, display, special, resolver, mode, scratch, cache_dir, jobs, targets, cwd, verbose):  # type: ignore[no-untyped-def]
    from initlint.engine import LintOptions
    from initlint.project.index import ProjectSpec, find_root
    from initlint.runner import RunResult, run

    root = find_root([str(t) for t in targets])
    no_cache = scratch is not None
    groups: dict[int, tuple[Settings, list[str]]] = {}
    for file, shown in zip(files, display, strict=True):
        own = resolver.for_path(file)
        groups.setdefault(id(own), (own, []))[1].append(shown)
    total = RunResult(files=len(files))
    findings: list = []  # type: ignore[type-arg]
    for own, paths in groups.values():
        codes = own.enabled_codes()
        aliases = tuple(sorted(own.init_aliases.items()))
        # Rules follow imports into the other files of the project (the index caches their summaries).
        summaries = scratch.name if scratch is not None else str(cache_dir or own.root / ".initlint_cache")
        project = ProjectSpec(str(root), summaries, aliases)
        options = LintOptions(codes, aliases, verbose=verbose, project=project)
        cache = None
        if not no_cache and mode == "check":
            from initlint.cache import Cache, configuration_key

            key = configuration_key([",".join(sorted(codes)), repr(options.init_aliases)])
            cache = Cache(cache_dir or own.root / ".initlint_cache", key)
        result = run(
            paths, options, mode=mode, unsafe=own.unsafe_fixes, jobs=jobs or os.cpu_count() or 1,
            cache=cache, special=special, roots=_roots(targets),
        )  # fmt: skip
        findings += _apply_per_file_ignores(result.findings, own, cwd)
        total.fixed += result.fixed
        total.fixed_by_file.update(result.fixed_by_file)
        total.diffs += result.diffs
        total.messages += result.messages
    findings.sort(key=lambda f: f.sort_key)
    total.diffs.sort()
    return total, findings


def _excluded_name(path: Path, settings: Settings) -> bool:
    """Whether the excludes of ``settings`` match ``path`` (relative to their root)."""
    from initlint.discovery import _relative

    return settings.excluded(_relative(path, settings.root.resolve()))


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # no permission to look: not a folder we can use
        return False


def _roots(targets: list[Path]) -> tuple[str, ...]:
    """The checked paths, resolved: --fix writes nothing outside them through a link."""
    roots = []
    for target in targets:
        try:
            roots.append(str(target.resolve()))
        except (OSError, RuntimeError):  # a link loop: nothing can be written through it anyway
            roots.append(os.path.abspath(target))
    return tuple(roots)


def _with_probe(findings: list, display: list[str], codes, settings, verbose: bool) -> list:  # type: ignore[no-untyped-def,type-arg]
    """Static findings plus the runtime probe's, the static ones marked when confirmed."""
    from initlint.config import ConfigError

    try:
        import torch  # noqa: F401
    except ImportError:
        _fail("--probe needs torch, which is not installed (pip install initlint[runtime])")
    from initlint.probe import parse_thresholds
    from initlint.probe.collect import confirm, probe_files

    try:
        thresholds = parse_thresholds(settings.probe)
    except ConfigError as exc:
        _fail(str(exc))
        raise AssertionError from exc
    runtime, spans, messages = probe_files(display, frozenset(codes), thresholds, verbose)
    if verbose:
        for message in messages:
            click.echo(f"initlint: {message}", err=True)
    return sorted([*confirm(findings, spans), *runtime], key=lambda f: f.sort_key)


def _apply_per_file_ignores(findings: list, settings, cwd: Path) -> list:  # type: ignore[type-arg]
    if not settings.per_file_ignores:
        return findings
    kept = []
    cache: dict[str, set[str]] = {}
    for finding in findings:
        if finding.path not in cache:
            try:
                absolute = (cwd / finding.path).resolve()
            except (OSError, RuntimeError):  # a symlink loop
                absolute = Path(os.path.abspath(cwd / finding.path))
            try:
                relative = absolute.relative_to(settings.root.resolve()).as_posix()
            except ValueError:
                relative = Path(finding.path).as_posix()
            cache[finding.path] = settings.ignored_codes(relative)
        if finding.code not in cache[finding.path]:
            kept.append(finding)
    return kept


def _check_stdin(name, options, settings, mode, output_format, exit_zero, statistics, quiet, color) -> int:  # type: ignore[no-untyped-def]
    from initlint.runner import Job, run_on_bytes

    data = sys.stdin.buffer.read()
    outcome = run_on_bytes(Job(name, "diff" if mode != "check" else "check", settings.unsafe_fixes), data, options)
    findings = _apply_per_file_ignores(outcome.findings, settings, Path.cwd().resolve())
    if mode == "fix":
        # Like ruff: the fixed source goes to stdout, the remaining findings to stderr.
        from initlint.source import SourceFile

        fixed = data
        if outcome.fixed:
            from initlint.runner import is_notebook

            if is_notebook(name):
                from initlint.notebook import fix_notebook_bytes

                fixed = fix_notebook_bytes(name, data, options, settings.unsafe_fixes).data
            else:
                from initlint.engine import fix_source

                source = SourceFile.from_bytes(name, data)
                fixed = fix_source(source, options, settings.unsafe_fixes).source.encode()
        sys.stdout.buffer.write(fixed)
        sys.stdout.flush()
        from initlint.output import Summary
        from initlint.output.text import render_findings

        if findings and not quiet:
            click.echo(render_findings(Summary(1, findings), False), err=True)
        return EXIT_OK if exit_zero or not findings else EXIT_FINDINGS
    if mode == "diff":
        click.echo(outcome.diff, nl=False)
        return EXIT_OK if exit_zero or not outcome.diff else EXIT_FINDINGS
    _emit(findings, 1, 0, settings.unsafe_fixes, output_format, statistics, quiet, color, _stdin_reader(data))
    return EXIT_OK if exit_zero or not findings else EXIT_FINDINGS


def _stdin_reader(data: bytes):  # type: ignore[no-untyped-def]
    """The lines of the source read from stdin, for the frames of `--output-format full`."""

    def read(path: str, cell: int | None) -> list[str] | None:
        from initlint.output.frames import cell_lines
        from initlint.source import SourceFile, UnreadableSource

        if cell is not None:
            return cell_lines(data, cell)
        try:
            source = SourceFile.from_bytes(path, data)
        except UnreadableSource:
            return None
        return [source.line_text(n) for n in range(1, source.line_count + 1)]

    return read


def _emit(findings, files, fixed, unsafe, output_format, statistics, quiet, color, source_reader=None) -> None:  # type: ignore[no-untyped-def]
    from initlint.output import Summary

    summary = Summary(files, findings, fixed, unsafe)
    if statistics and output_format == "json":  # ruff's: the per-rule counts as JSON
        import json

        from initlint.output.text import statistics as rows

        click.echo(json.dumps(rows(summary), indent=2))
        return
    if output_format in ("json-lines", "junit", "gitlab") or (output_format in ("full", "grouped") and not statistics):
        _emit_more(summary, output_format, quiet, color, source_reader)
        return
    if output_format == "json":
        from initlint.output.formats import render_json

        click.echo(render_json(summary))
    elif output_format == "sarif":
        from initlint.output.formats import render_sarif, report_root

        click.echo(render_sarif(summary, report_root()))
    elif output_format == "github":
        from initlint.output.formats import render_github, report_root

        if findings:
            click.echo(render_github(summary, report_root()))
    else:
        from initlint.output.text import render_findings, render_statistics, render_summary

        use_color = color == "always" or (color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
        if statistics:
            if findings:
                click.echo(render_statistics(summary))
        elif findings:
            # color=: click strips ANSI codes when stdout is not a terminal, which would undo --color always.
            click.echo(render_findings(summary, use_color), color=use_color)
        if not quiet:
            click.echo(render_summary(summary))


def _emit_more(summary, output_format, quiet, color, source_reader) -> None:  # type: ignore[no-untyped-def]
    """json-lines, junit, gitlab (initlint.output.ci); full, grouped (initlint.output.frames)."""
    if output_format in ("json-lines", "junit", "gitlab"):
        from initlint.output import ci

        render = {"json-lines": ci.render_json_lines, "junit": ci.render_junit, "gitlab": ci.render_gitlab}
        text = render[output_format](summary)
        if text:  # json-lines of no finding is no line at all
            click.echo(text)
        return
    from initlint.output.frames import read_source_lines, render_full, render_grouped
    from initlint.output.text import render_summary

    use_color = color == "always" or (color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    if summary.findings:
        if output_format == "full":
            text = render_full(summary, use_color, source_reader or read_source_lines)
        else:
            text = render_grouped(summary, use_color)
        click.echo(text, color=use_color)
    if not quiet:
        click.echo(render_summary(summary))


@main.command("rules")
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
def rules_command(output_format: str) -> None:
    """List every rule: code, name, tier, severity, default, fix (markdown: the README's table)."""
    import json

    from initlint.rules import ALL_RULES
    from initlint.rules.base import RuleInfo

    infos = [RuleInfo.of(rule) for rule in ALL_RULES]
    if output_format == "json":
        click.echo(json.dumps([info.__dict__ for info in infos], indent=2))
        return
    if output_format == "markdown":
        click.echo("| code | name | tier | severity | default | fix | what it finds |")
        click.echo("|---|---|---|---|---|---|---|")
        for info in infos:
            default = "on" if info.default_enabled else "off"
            click.echo(
                f"| {info.code} | `{info.name}` | {info.tier} | {info.severity} | {default} | {info.fix or 'none'} "
                f"| {info.summary} |"
            )
        return
    click.echo(f"{'code':<6}  {'name':<34}  {'tier':<7}  {'severity':<8}  {'default':<7}  {'fix':<6}  summary")
    for info in infos:
        click.echo(
            f"{info.code:<6}  {info.name:<34}  {info.tier:<7}  {info.severity:<8}  "
            f"{'on' if info.default_enabled else 'off':<7}  {info.fix or 'none':<6}  {info.summary}"
        )


@main.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Print the documentation of RULE (a code like IL101 or a name like deprecated-init-alias)."""
    from initlint.docs import read_doc
    from initlint.rules import lookup

    found = lookup(rule)
    if found is None:
        _fail(f"unknown rule: {rule!r} (see `initlint rules`)")
        return
    try:
        click.echo(read_doc(found.code).rstrip())
    except FileNotFoundError:
        _fail(f"no documentation installed for {found.code}")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), help="A cache folder to remove too.")
def clean(paths: tuple[Path, ...], cache_dir: Path | None) -> None:
    """Remove initlint's cache folders (.initlint_cache) below PATHS (default: the current
    folder); only folders that initlint created, nothing else."""
    from initlint.clean import clean as remove_caches

    result = remove_caches(list(paths) or [Path(".")], [cache_dir] if cache_dir else None)
    for problem in result.skipped:
        click.echo(f"initlint: warning: {escape_text(problem)}", err=True)
    for folder in result.removed:
        click.echo(f"Removed {escape_text(str(folder))}")
    if not result.removed:
        click.echo("No initlint cache found.")


@main.command()
def server() -> None:
    """Run the Language Server over stdio (for editors; needs pygls: pip install "initlint[lsp]")."""
    from initlint import lsp

    if not lsp.available():
        _fail(lsp.MISSING_MESSAGE)
    from initlint.lsp.server import serve

    serve()


@functools.cache
def _runtime_codes() -> tuple[str, ...]:
    """IL601-IL612, read on first use: importing the rules is not paid by `--help` or `--version`."""
    from initlint.rules.runtime import RUNTIME_RULES

    return tuple(rule.code for rule in RUNTIME_RULES)


def _runtime_selection(select: tuple[str, ...], ignore: tuple[str, ...]) -> frozenset[str]:
    codes = _runtime_codes()
    chosen = set(codes)
    if select:
        chosen = set()
        for item in _split(select):
            matched = {c for c in codes if c.startswith(item.upper())} or _runtime_by_name(item)
            if not matched:
                _fail(f"unknown runtime rule code or prefix: {item!r} ({codes[0]}-{codes[-1]})")
            chosen |= matched
    for item in _split(ignore):
        matched = {c for c in codes if c.startswith(item.upper())} or _runtime_by_name(item)
        if not matched:
            _fail(f"unknown runtime rule code or prefix: {item!r} ({codes[0]}-{codes[-1]})")
        chosen -= matched
    return frozenset(chosen)


def _runtime_by_name(name: str) -> set[str]:
    from initlint.rules import BY_NAME

    rule = BY_NAME.get(name.lower())
    return {rule.code} if rule is not None and rule.code in _runtime_codes() else set()


def _json_arg(value: str | None, option: str, kind: type) -> object:
    import json

    if value is None:
        return kind()
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        _fail(f"{option} is not valid JSON: {exc.msg}")
    if kind is list and not isinstance(parsed, list):
        parsed = [parsed]
    if not isinstance(parsed, kind):
        _fail(f"{option} must be a JSON {'array' if kind is list else 'object'}")
    return parsed


@main.command()
@click.argument("target")
@click.option("--args", "args_json", help="JSON array of positional constructor arguments.")
@click.option("--kwargs", "kwargs_json", help="JSON object of keyword constructor arguments.")
@click.option("--init", "init_spec", help="FILE.py:FN or module:FN applied with model.apply(FN) after construction.")
@click.option("--input-shape", help="Shape of a standard-normal input, e.g. 8,3,224,224.")
@click.option("--input-fn", help="FILE.py:FN returning the input: a tensor, a tuple of args or a dict of kwargs.")
@click.option("--batch", type=click.IntRange(min=1), help="Batch size of an inferred input (default 64).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--dtype", type=click.Choice(["float32", "bfloat16", "float16"]), default="float32", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds construction, input and the loss.")
@click.option(
    "--mode",
    type=click.Choice(["train", "eval"]),
    default="train",
    show_default=True,
    help="Module mode for the pass (dropout is off in both).",
)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), help="Write activation/gradient std per layer.")
@click.option(
    "--fail-on", type=click.Choice(["error", "warning", "never"]), default="warning", show_default=True,
    help="Exit 1 when a finding of this severity (or worse) exists.",
)  # fmt: skip
@click.option("--select", multiple=True, help="Runtime rule codes or prefixes to report (IL601-IL612, IL620-IL624).")
@click.option("--ignore", multiple=True, help="Runtime rule codes or prefixes to leave out.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="A pyproject.toml or initlint TOML file with [tool.initlint.probe] thresholds.",
)
@click.option(
    "--provenance", "show_provenance", is_flag=True,
    help="Show which code wrote each parameter (init provenance) as a section of the report.",
)  # fmt: skip
@click.option(
    "--meta", "meta", is_flag=True,
    help="Build on the meta device and materialize, initialize, measure and free one module at a time "
    "(weights only: for models larger than memory).",
)  # fmt: skip
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks.")
def probe(
    target: str, args_json: str | None, kwargs_json: str | None, init_spec: str | None, input_shape: str | None,
    input_fn: str | None, batch: int | None, device: str, dtype: str, seed: int, mode: str, output_format: str,
    plot_path: Path | None, fail_on: str, select: tuple[str, ...], ignore: tuple[str, ...], config_file: Path | None,
    verbose: bool, show_provenance: bool = False, meta: bool = False,
) -> None:  # fmt: skip
    """Build TARGET (path/to/file.py:Name or package.module:Name, a module class or a factory),
    run one forward and backward pass, and report the scale of weights, activations and
    gradients (IL601-IL612; init provenance IL620-IL624). Importing the target runs its code."""
    try:
        import torch  # noqa: F401
    except ImportError:
        _fail("the probe needs torch, which is not installed (pip install initlint[runtime])")
    from initlint.config import ConfigError, load_settings
    from initlint.probe import ProbeError, parse_thresholds

    codes = _runtime_selection(select, ignore)
    args = _json_arg(args_json, "--args", list)
    kwargs = _json_arg(kwargs_json, "--kwargs", dict)
    try:
        settings = load_settings(config_file, Path.cwd())
        thresholds = parse_thresholds(settings.probe)
    except ConfigError as exc:
        _fail(str(exc))
        raise AssertionError from exc
    try:
        from initlint.probe.api import probe_target
        from initlint.probe.inputs import parse_shape

        shape = parse_shape(input_shape) if input_shape else None
        if meta:
            from initlint.probe.meta import probe_meta_target

            result = probe_meta_target(
                target, args=args, kwargs=kwargs, init=init_spec, seed=seed, verbose=verbose, dtype=dtype,
                thresholds=thresholds, codes=codes,
            )  # fmt: skip
        else:
            result = probe_target(
                target, args=args, kwargs=kwargs, init=init_spec, input_shape=shape, input_fn=input_fn, seed=seed,
                verbose=verbose, device=device, dtype=dtype, mode=mode, thresholds=thresholds, codes=codes,
                batch=batch, progress=output_format == "text",
            )  # fmt: skip
        if plot_path is not None:
            from initlint.probe.plot import write_plot

            write_plot(result, plot_path)
    except ProbeError as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        _fail(str(exc))
        raise AssertionError from exc
    except KeyboardInterrupt:
        _fail("interrupted")
        raise
    except Exception as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc}")
        raise AssertionError from exc
    from initlint.probe.report import render_json, render_text

    text = render_json(result) if output_format == "json" else render_text(result)
    if show_provenance and output_format == "text":
        from initlint.probe.provenance_report import render_provenance

        text += "\n\n" + render_provenance(result)
    click.echo(text)
    rank = {"error": 2, "warning": 1}
    floor = {"error": 2, "warning": 1, "never": 99}[fail_on]
    sys.exit(EXIT_FINDINGS if any(rank.get(f.severity, 0) >= floor for f in result.findings) else EXIT_OK)
