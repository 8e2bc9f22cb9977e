"""The ``jjjsim`` command line: run a scenario, list scenarios and levers.

Bad input (an unknown scenario or key, a wrong type, an out-of-range lever, an unreadable file) ends
with one line naming the file, the key, what was expected and what was found, and exit status 2.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from jjjsim import __version__

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Agent-based simulation of the Jing-Jin-Ji innovation ecosystem."
)
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def parse_set(items: list[str]) -> dict[str, Any]:
    """``key=value`` or ``key.sub=value`` strings -> overrides (values parsed as TOML, else text)."""
    from jjjsim.model.params import ConfigError

    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError("--set", item, "key=value (e.g. fund_size=300 or talent_incentive.Hebei=6)", item)
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        name, _, sub = key.partition(".")
        if sub:
            overrides.setdefault(name, {})
            if not isinstance(overrides[name], dict):
                overrides[name] = {}
            overrides[name][sub] = value
        else:
            overrides[name] = value
    return overrides


def code_version() -> str:
    """The package version, plus the git commit when run from a source checkout."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{__version__}+g{rev}" if rev else __version__


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Scenario name (see `jjjsim scenarios`) or .toml path.")],
    seed: Annotated[int, typer.Option(help="Seed of the run's random stream.")] = 0,
    steps: Annotated[int | None, typer.Option(help="Quarters to run (default: the scenario's).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a lever: key=value.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run one scenario: print key indicators by region and write series, flows and a manifest."""
    from jjjsim.model.params import ConfigError
    from jjjsim.model.scenario import load_scenario

    try:
        scen = load_scenario(scenario)
        params = scen.params.replace(parse_set(set_ or []), where="--set")
        if steps is not None:
            params = params.replace({"steps": steps}, where="--steps")
    except ConfigError as e:
        raise _fail(str(e)) from None
    from jjjsim.model.runner import run as run_model  # loads Mesa and pandas: only once the input is valid

    n = int(params.steps)
    with Progress(
        TextColumn(f"[bold]{scen.name}[/] seed {seed}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} quarters"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("run", total=n)
        result = run_model(params, seed=seed, progress=lambda k, _n: bar.update(task, completed=k))
    result.scenario = scen.name
    result.meta.update(
        code_version=code_version(),
        scenario_file=scen.path,
        scenario_chain=list(scen.chain),
        command=" ".join(sys.argv),
    )
    folder = result.save(out_dir or Path("results") / f"{scen.name}-seed{seed}")
    out.print(indicator_table(result))
    out.print(f"Wrote series, flows and manifest to [bold]{escape(str(folder))}[/]", highlight=False)


def indicator_table(result: Any) -> Table:
    """Key indicators by region: first year vs last year of the run."""
    s = result.series
    first = s[(s.step >= 1) & (s.step <= 4)].groupby("region", observed=True).mean(numeric_only=True)
    last_steps = s.step.max()
    last = s[s.step > last_steps - 4].groupby("region", observed=True).mean(numeric_only=True)
    y0, y1 = int(s.year.min()), int(s[s.step == last_steps].year.iloc[0] - 0.25)
    rows = [
        ("R&D talent (FTE)", "talent_fte", "{:,.0f}"),
        ("Results / quarter", "results", "{:,.0f}"),
        ("Result quality", "results_quality", "{:,.0f}"),
        ("Contracts sold, 100m CNY / qtr", "contract_value_sold", "{:,.0f}"),
        ("Contracts bought, 100m CNY / qtr", "contract_value_bought", "{:,.0f}"),
        ("Firm value added, 100m CNY / qtr", "value_added", "{:,.0f}"),
        ("Firms (agents)", "firms", "{:,.0f}"),
        ("Branches from elsewhere", "branches", "{:,.0f}"),
        ("Transformation rate", "transformation_rate", "{:.2f}"),
    ]
    t = Table(title=escape(f"{result.scenario} (seed {result.seed}): {y0} vs {y1}, yearly means"), title_justify="left")
    t.add_column("indicator")
    regions = ["Beijing", "Tianjin", "Hebei", "Outside"]
    for r in regions:
        t.add_column(r, justify="right")
    for label, col, fmt in rows:
        t.add_row(label, *[f"{fmt.format(first.loc[r, col])} → {fmt.format(last.loc[r, col])}" for r in regions])
    sm = result.summary
    t.caption = (
        f"Beijing → Tianjin+Hebei contracts: {sm['bj_to_tjhb_contract_value']:,.0f} (100m CNY, whole run); "
        f"Theil of value added: {sm['theil_value_added']:.3f}; public cost: {sm['public_cost']:,.0f}"
    )
    return t


@app.command()
def scenarios() -> None:
    """List the built-in scenarios with their descriptions."""
    from jjjsim.model.params import ConfigError
    from jjjsim.model.scenario import list_scenarios

    try:
        items = list_scenarios()
    except ConfigError as e:
        raise _fail(str(e)) from None
    t = Table(show_lines=True)
    t.add_column("scenario", style="bold")
    t.add_column("base")
    t.add_column("description")
    for s in items:
        t.add_row(escape(s.name), escape(s.chain[1]) if len(s.chain) > 1 else "-", escape(s.description))
    out.print(t)


@app.command()
def levers(
    all_: Annotated[bool, typer.Option("--all", help="Every parameter, not just the levers.")] = False,
) -> None:
    """List the levers (or all parameters) with unit, bounds, default, source and causal path."""
    from jjjsim.model.params import REGISTRY

    t = Table(show_lines=True, expand=True)
    t.add_column("name", no_wrap=True)
    t.add_column("role", no_wrap=True)
    t.add_column("unit", ratio=2, overflow="fold")
    t.add_column("bounds", no_wrap=True)
    t.add_column("default", no_wrap=True)
    t.add_column("source", ratio=4, overflow="fold")
    t.add_column("meaning · causal path · brief measure", ratio=5, overflow="fold")
    for p in REGISTRY.values():
        if p.role != "lever" and not all_:
            continue
        bounds = "\n".join(p.choices) if p.choices else (f"{p.bounds[0]:g}–{p.bounds[1]:g}" if p.bounds else "")
        default = (
            "\n".join(f"{k}={v:g}" for k, v in p.default.items()) if isinstance(p.default, dict) else str(p.default)
        )
        path = (
            f"\n{escape(p.causal_path)}\n[dim]{escape(p.measure)}; primary outcome: {escape(p.outcome)} "
            f"({'rises' if p.effect > 0 else 'falls'} with the lever)[/]"
            if p.causal_path
            else ""
        )
        t.add_row(
            f"[bold]{p.name}[/]",
            p.role,
            escape(p.unit),
            bounds,
            escape(default),
            escape(p.source),
            f"[bold]{escape(p.label)}[/]{path}",
        )
    out.print(t)


@app.command()
def sweep(
    experiment: Annotated[str, typer.Argument(help="Experiment name (experiments/*.toml) or .toml path.")],
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: all cores).")] = None,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address or scheduler file.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Results folder.")] = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Run failed runs again.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a results folder that already has runs.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run an experiment's runs (resuming a results folder), then print what was done."""
    from jjjsim.experiments.definition import load_experiment
    from jjjsim.model.params import ConfigError

    try:
        exp = load_experiment(experiment)
        from jjjsim.experiments.sweep import sweep as run_sweep

        folder = out_dir or Path("results") / exp.name
        done = len(list((folder / "runs").glob("*.parquet"))) if (folder / "runs").is_dir() else 0
        if done and not (resume or retry_failed):
            raise ConfigError(
                str(folder),
                "--resume",
                "an empty results folder, or --resume to continue this one",
                f"{done} finished runs",
                "finished runs are kept and skipped with --resume",
            )
        with Progress(
            TextColumn(f"[bold]{escape(exp.name)}[/]"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} runs, {task.fields[failed]} failed"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=quiet,
        ) as bar:
            task = bar.add_task("sweep", total=len(exp.runs), failed=0)
            report = run_sweep(
                exp,
                folder,
                workers=workers,
                dask=dask,
                retry_failed=retry_failed,
                progress=lambda d, f, _n: bar.update(task, completed=d + f, failed=f),
            )
    except ConfigError as e:
        raise _fail(str(e)) from None
    except OSError as e:
        raise _fail(
            f"{e.filename or folder}: (folder): expected a writable results folder, found {e.strerror}"
        ) from None
    out.print(
        f"{exp.name}: {report.planned} runs planned, {report.skipped} already done, {report.finished} "
        f"finished now, {report.failed} failed ({report.seconds:.1f} s); results in {escape(str(report.folder))}",
        highlight=False,
    )


@app.command()
def compare(
    results: Annotated[Path, typer.Argument(help="Results folder written by `jjjsim sweep`.")],
    baseline: Annotated[str, typer.Option(help="Label of the baseline scenario.")] = "baseline",
    metric: Annotated[list[str] | None, typer.Option(help="Summary metric to compare (repeatable).")] = None,
) -> None:
    """Paired comparison against the baseline: means, intervals, differences, Holm-corrected p-values."""
    from jjjsim.experiments.compare import compare as compare_runs
    from jjjsim.experiments.sweep import load_runs
    from jjjsim.model.params import ConfigError

    metrics = metric or list(DEFAULT_METRICS)
    try:
        runs = load_runs(results).rename(columns={"label": "scenario"})
        table = compare_runs(runs, baseline=baseline, metrics=metrics)
    except ConfigError as e:
        raise _fail(str(e)) from None
    except ValueError as e:
        raise _fail(f"{results}: {e}") from None
    table.to_csv(results / "comparison.csv", index=False)
    t = Table(title=f"paired comparison against {escape(baseline)} (95 % intervals; p Holm-corrected)")
    has_cost = "gain_per_cost" in table
    cols = ("scenario", "metric", "mean", "diff [95 % CI]", "change", "p (Holm)") + (
        ("gain / 亿元",) if has_cost else ()
    )
    for col in cols:
        t.add_column(col, justify="left" if col in ("scenario", "metric") else "right")
    for r in table.itertuples():
        if r.scenario == baseline:
            continue
        t.add_row(
            escape(str(r.scenario)),
            escape(str(r.metric)),
            f"{r.mean:,.4g}",
            f"{r.diff:+,.4g} [{r.diff_ci_low:+,.4g}, {r.diff_ci_high:+,.4g}]",
            f"{r.rel_change:+.1%}",
            f"{r.p_holm:.2g}",
            *((f"{r.gain_per_cost:,.3g}",) if has_cost else ()),
        )
    out.print(t)
    out.print(f"Saved {escape(str(results / 'comparison.csv'))}", highlight=False)


DEFAULT_METRICS = (
    "results",
    "mean_result_quality",
    "transformation_rate",
    "contract_value",
    "cross_region_contract_value",
    "bj_to_tjhb_contract_value",
    "value_added",
    "theil_value_added",
    "public_cost",
)


@app.command()
def results(
    folder: Annotated[Path, typer.Argument(help="Results folder written by `jjjsim sweep`.")],
) -> None:
    """What a results folder holds: the experiment, runs done and failed."""
    import json

    from jjjsim.experiments.sweep import load_runs
    from jjjsim.model.params import ConfigError

    try:
        runs = load_runs(folder)
        manifest = json.loads((folder / "manifest.json").read_text())
    except ConfigError as e:
        raise _fail(str(e)) from None
    except (OSError, ValueError) as e:
        raise _fail(f"{folder / 'manifest.json'}: (file): expected a readable manifest, found {e}") from None
    failed = sorted((folder / "failed").glob("*.json"))
    out.print(
        f"{escape(str(manifest.get('name')))}: {len(runs)} of {manifest.get('runs_planned')} runs done, "
        f"{len(failed)} failed",
        highlight=False,
    )
    if len(runs):
        out.print(runs.groupby("label").seed.count().rename("runs").to_string())
    for p in failed:
        rec = json.loads(p.read_text())
        out.print(
            f"failed {rec['run_id']} ({escape(str(rec['label']))}, seed {rec['seed']}): {escape(rec['error'])}",
            highlight=False,
        )


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(help="Results folder written by `jjjsim sweep`.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="HTML file to write (default: FOLDER/report.html).")
    ] = None,
    png: Annotated[Path | None, typer.Option(help="Also write each figure as a PNG into this folder.")] = None,
    lang: Annotated[str, typer.Option(help="Region names: en or zh (北京, 天津, 河北).")] = "en",
    metric: Annotated[
        list[str] | None, typer.Option(help="Summary metric for the table and comparison figures (repeatable).")
    ] = None,
) -> None:
    """Write one self-contained HTML report (opens offline) with the figures the results support."""
    from jjjsim.model.params import ConfigError

    if lang not in ("en", "zh"):
        raise _fail(f"--lang: expected en or zh, found {lang!r}")
    try:
        from jjjsim.viz.report import write_report

        path = write_report(folder, output, png=png, lang=lang, metrics=metric)  # type: ignore[arg-type]
    except ConfigError as e:
        raise _fail(str(e)) from None
    size = path.stat().st_size / 1e6
    out.print(f"Report written: {escape(str(path.resolve()))} ({size:.1f} MB)", highlight=False)
    if png is not None:
        out.print(f"Figures as PNG in {escape(str(png))}", highlight=False)


@app.command(name="app")
def app_(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8050,
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but 127.0.0.1 exposes the app to the network.")
    ] = "127.0.0.1",
    results: Annotated[
        Path | None, typer.Option(help="Explore this results folder (written by `jjjsim sweep`).")
    ] = None,
) -> None:
    """Start the live app in the browser: levers, a running model against its baseline, and results."""
    from jjjsim.model.params import ConfigError

    if not 0 < port < 65536:
        raise _fail(f"--port: expected a port number in 1-65535, found {port}")
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            f"[bold yellow]warning:[/] listening on {escape(host)}: anyone who can reach this machine can use the "
            "app and run models on it",
            highlight=False,
        )
    try:
        from jjjsim.viz.app import serve

        serve(host=host, port=port, results=results)  # prints "Dash is running on http://host:port/" once up
    except ConfigError as e:
        raise _fail(str(e)) from None
    except KeyboardInterrupt:
        pass


@app.command()
def reproduce(
    experiment: Annotated[str, typer.Argument(help="E1 ... E6 (see experiments/E*/README.md).")],
    quick: Annotated[bool, typer.Option("--quick", help="A reduced version in well under a minute.")] = False,
    output: Annotated[Path | None, typer.Option("--out", help="Output folder (default: results/<E>[-quick]).")] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: all cores).")] = None,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address or scheduler file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars (for logs).")] = False,
) -> None:
    """Regenerate a published experiment: its sweeps, reports and tables, with a manifest."""
    from jjjsim.model.params import ConfigError

    if workers is not None and dask is not None:
        raise _fail("--workers and --dask: expected one of them, found both")
    try:
        from jjjsim.experiments.reproduce import reproduce as reproduce_experiment

        bar = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"), TimeRemainingColumn(),
            console=err, disable=quiet,
        )  # fmt: skip
        tasks: dict[str, Any] = {}

        def progress(name: str, done: int, failed: int, total: int) -> None:
            if not tasks:
                bar.start()  # only once a sweep runs: an error before then is one clean line
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total, status="")
            bar.update(tasks[name], completed=done, status=f"{done}/{total} runs, {failed} failed")

        try:
            folder = reproduce_experiment(
                experiment, output, quick=quick, workers=workers, dask=dask, progress=progress
            )
        finally:
            if tasks:
                bar.stop()
    except ConfigError as e:
        raise _fail(str(e)) from None
    import json

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    out.print(
        f"{manifest['experiment']}{' (quick)' if quick else ''}: {escape(manifest['question'])} "
        f"done in {manifest['seconds']:.0f} s; results in {escape(str(folder))}",
        highlight=False,
    )
    for kind in ("reports", "tables"):
        items = manifest["outputs"].get(kind) or {}
        for item in items.values() if isinstance(items, dict) else items:
            out.print(f"  {escape(str(item))}", highlight=False)


@app.command()
def calibrate(
    config: Annotated[
        Path | None, typer.Argument(help="Calibration file (default: the built-in calibration.toml).")
    ] = None,
    quick: Annotated[bool, typer.Option("--quick", help="A reduced calibration in well under a minute.")] = False,
    output: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("results/calibration"),
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: all cores).")] = None,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address or scheduler file.")] = None,
) -> None:
    """Estimate the behavioural parameters by the method of simulated moments (2014-2020 statistics)."""
    from jjjsim.model.params import ConfigError

    if workers is not None and dask is not None:
        raise _fail("--workers and --dask: expected one of them, found both")
    try:
        from jjjsim.experiments.calibration import calibrate as run_calibration

        result = run_calibration(config, output, quick=quick, workers=workers, dask=dask)
    except ConfigError as e:
        raise _fail(str(e)) from None
    out.print(f"Calibration written to {escape(str(output))}", highlight=False)
    for key in ("objective_start", "objective_optimum"):
        if key in result:
            out.print(f"  {key.replace('_', ' ')}: {result[key]:.6g}", highlight=False)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(code_version())


def main() -> None:  # pragma: no cover - console entry point
    """Entry point for ``python -m jjjsim``."""
    app()
