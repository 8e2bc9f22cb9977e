"""The ``jjjsim`` command line: run a scenario, list scenarios and levers.

Bad input (an unknown scenario or key, a wrong type, an out-of-range lever, an unreadable file) ends
with one line naming the file, the key, what was expected and what was found, and exit status 2.
"""

from __future__ import annotations

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
from jjjsim.experiments.definition import MAX_RUNS
from jjjsim.model.budget import DEFAULT_AGENT_STEPS, DEFAULT_MEMORY_MB

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Agent-based simulation of the Jing-Jin-Ji innovation ecosystem."
)
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


MAX_SET_CHARS = 1000
"""Longest ``--set`` item (a lever table for every region and field fits in a tenth of it)."""


def parse_set(items: list[str]) -> dict[str, Any]:
    """``key=value`` or ``key.sub=value`` strings -> overrides (values parsed as TOML, else text)."""
    from jjjsim.model.params import ConfigError

    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError("--set", item, "key=value (e.g. fund_size=300 or talent_incentive.Hebei=6)", item)
        if len(item) > MAX_SET_CHARS:
            raise ConfigError("--set", key[:40], f"key=value of at most {MAX_SET_CHARS} characters", item)
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except (tomllib.TOMLDecodeError, RecursionError):
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


def _budget(agent_steps: int, memory_mb: int) -> Any:
    """The run budget of --max-agent-steps and --max-memory (ConfigError naming the flag when out of range)."""
    from jjjsim.model.budget import Budget
    from jjjsim.model.params import ConfigError

    try:
        return Budget(agent_steps=agent_steps, memory_mb=memory_mb)
    except ConfigError as e:
        flag = "--max-agent-steps" if e.key == "agent_steps" else "--max-memory"
        raise ConfigError("command line", flag, e.expected, e.found) from None


def code_version() -> str:
    """The package version, plus the git commit when run from a source checkout."""
    from jjjsim.model.provenance import git_commit

    rev = git_commit(short=True)
    return f"{__version__}+g{rev.removesuffix('+modified')}" if rev else __version__


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Scenario name (see `jjjsim scenarios`) or .toml path.")],
    seed: Annotated[int, typer.Option(help="Seed of the run's random stream.")] = 0,
    steps: Annotated[int | None, typer.Option(help="Quarters to run (default: the scenario's).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a lever: key=value.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    max_agent_steps: Annotated[
        int, typer.Option(help="Work cap: living agents and result records, summed over quarters.")
    ] = DEFAULT_AGENT_STEPS,
    max_memory: Annotated[int, typer.Option(help="Memory cap of the model's tables, MiB.")] = DEFAULT_MEMORY_MB,
) -> None:
    """Run one scenario: print key indicators by region and write series, flows and a manifest.

    A run is capped in work and memory (--max-agent-steps, --max-memory): one that would exceed a cap is
    refused, or stopped where it reaches it, with one line saying which cap and how to raise it."""
    from jjjsim.model.errors import check_seed
    from jjjsim.model.params import ConfigError
    from jjjsim.model.scenario import load_scenario

    try:
        seed = check_seed(seed, "command line", "--seed")
        budget = _budget(max_agent_steps, max_memory)
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
        try:
            result = run_model(params, seed=seed, progress=lambda k, _n: bar.update(task, completed=k), budget=budget)
        except ConfigError as e:  # a budget cap reached
            raise _fail(str(e)) from None
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
    longest = max(len(word) for p in REGISTRY.values() for word in p.unit.split() or [""])  # no unit word is cut:
    t.add_column("unit", ratio=2, overflow="fold", width=longest)  # a ratio column's width is its least (rich)
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
        if p.kind == "timeline":
            default = "none"
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
    dask_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for a lost Dask scheduler (or one without workers) before giving up.")
    ] = 180.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    max_runs: Annotated[int, typer.Option(help="Most runs (points x seeds) the experiment may have.")] = MAX_RUNS,
    max_agent_steps: Annotated[
        int, typer.Option(help="Work cap of each run: living agents and result records, summed over quarters.")
    ] = DEFAULT_AGENT_STEPS,
    max_memory: Annotated[int, typer.Option(help="Memory cap of each run's tables, MiB.")] = DEFAULT_MEMORY_MB,
) -> None:
    """Run an experiment's runs (resuming a results folder), then print what was done."""
    from jjjsim.experiments.definition import load_experiment
    from jjjsim.model.params import ConfigError

    try:
        if max_runs < 1:
            raise ConfigError("command line", "--max-runs", "a whole number >= 1", max_runs)
        budget = _budget(max_agent_steps, max_memory)
        exp = load_experiment(experiment, max_runs=max_runs)
        from jjjsim.experiments.sweep import sweep as run_sweep

        folder = out_dir or Path("results") / exp.name
        if dask:  # a lost scheduler is told in one line below, not in distributed's log records and tracebacks
            import importlib.util
            import logging

            if importlib.util.find_spec("distributed") is not None:
                import distributed  # noqa: F401 - sets its loggers' levels when imported: before ours

            for name in ("distributed", "distributed.client"):
                logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        bar = Progress(
            TextColumn(f"[bold]{escape(exp.name)}[/]"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} runs, {task.fields[failed]} failed"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=quiet,
        )
        task = bar.add_task("sweep", total=len(exp.runs), failed=0)

        def progress(done: int, failed: int, total: int) -> None:
            if not bar.live.is_started:  # only once the folder is held: a refusal before then is one clean line
                bar.start()
            bar.update(task, completed=done + failed, total=total, failed=failed)

        try:
            report = run_sweep(
                exp,
                folder,
                workers=workers,
                dask=dask,
                retry_failed=retry_failed,
                progress=progress,
                resume=resume or retry_failed,
                budget=budget,
                dask_timeout=dask_timeout,
            )
        finally:
            bar.stop()
    except ConfigError as e:
        raise _fail(str(e)) from None
    except OSError as e:
        raise _fail(
            f"{e.filename or folder}: (folder): expected a writable results folder, found {e.strerror}"
        ) from None
    text = (
        f"{exp.name}: {report.planned} runs planned, {report.skipped - report.failed_earlier} already done, "
        f"{report.finished} finished now, {report.failed} failed"
    )
    if report.failed_earlier:
        text += f", {report.failed_earlier} failed earlier (not retried: --retry-failed runs them)"
    if report.missing:
        text += f", {report.missing} not done (--resume runs them)"
    out.print(f"{text} ({report.seconds:.1f} s); results in {escape(str(report.folder))}", highlight=False)


@app.command()
def compare(
    results: Annotated[Path, typer.Argument(help="Results folder written by `jjjsim sweep`.")],
    baseline: Annotated[str, typer.Option(help="Label of the baseline scenario.")] = "baseline",
    metric: Annotated[list[str] | None, typer.Option(help="Summary metric to compare (repeatable).")] = None,
) -> None:
    """Paired comparison against the baseline: means, intervals, differences, Holm-corrected p-values."""
    from jjjsim.experiments.compare import compare as compare_runs
    from jjjsim.experiments.store import stray_note
    from jjjsim.experiments.sweep import load_runs
    from jjjsim.model.indicators import KEY_METRICS
    from jjjsim.model.params import ConfigError

    metrics = metric or list(KEY_METRICS)
    try:
        runs = load_runs(results)
        stray = runs.attrs.get("stray", [])
        table = compare_runs(runs.rename(columns={"label": "scenario"}), baseline=baseline, metrics=metrics)
    except ConfigError as e:
        raise _fail(str(e)) from None
    except ValueError as e:
        raise _fail(f"{results}: {e}") from None
    if stray:
        err.print(f"note: {escape(str(stray_note(stray)))}", highlight=False, soft_wrap=True)
    table.to_csv(results / "comparison.csv", index=False)
    t = Table(title=f"paired comparison against {escape(baseline)} (95 % intervals; p Holm-corrected)")
    has_cost = "gain_per_cost" in table
    cols = ("scenario", "metric", "mean", "diff [95 % CI]", "change", "p (Holm)") + (
        ("gain / 亿元 [95 % CI]",) if has_cost else ()
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
            *((_gain_text(r.gain_per_cost, r.gain_per_cost_ci_low, r.gain_per_cost_ci_high),) if has_cost else ()),
        )
    out.print(t)
    out.print(f"Saved {escape(str(results / 'comparison.csv'))}", highlight=False)


def _gain_text(gain: float, lo: float, hi: float) -> str:
    """Gain per 亿元 with its Fieller interval ("unbounded" where the extra cost's own interval reaches zero)."""
    if gain != gain:  # NaN: no extra cost, or the cost itself
        return "–"
    return f"{gain:,.3g} [{lo:,.3g}, {hi:,.3g}]" if lo == lo and hi == hi else f"{gain:,.3g} [unbounded]"


@app.command()
def results(
    folder: Annotated[Path, typer.Argument(help="Results folder written by `jjjsim sweep`.")],
) -> None:
    """What a results folder holds: the experiment, runs done and failed, stray files ignored."""
    from jjjsim.experiments.store import read_folder
    from jjjsim.model.params import ConfigError

    try:
        contents = read_folder(folder)  # what compare and report read too
    except ConfigError as e:
        raise _fail(str(e)) from None
    except OSError as e:
        where = e.filename or folder
        raise _fail(f"{where}: (folder): expected a readable results folder, found {e.strerror}") from None
    runs = contents.runs
    out.print(f"{escape(str(contents.manifest.get('name')))}: {contents.summary()}", highlight=False)
    if contents.unresolved:
        err.print(
            f"note: its definition no longer resolves ({escape(contents.unresolved)}): runs listed as stored",
            highlight=False,
            soft_wrap=True,
        )
    if contents.stray_note():
        err.print(f"note: {escape(str(contents.stray_note()))}", highlight=False, soft_wrap=True)
    if len(runs):
        out.print(runs.groupby("label", sort=False).seed.count().rename("runs").to_string())
    for rec in contents.failures.itertuples():
        out.print(
            f"failed {rec.run_id} ({escape(str(rec.label))}, seed {rec.seed}): {escape(str(rec.error))}",
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
    equal_cost: Annotated[
        float | None,
        typer.Option(
            help="Designs with doses: compare the measures at this extra public cost (亿元 over the run; default: "
            "the largest every measure with a cost of its own reaches)."
        ),
    ] = None,
) -> None:
    """Write one self-contained HTML report (opens offline) with the figures the results support."""
    from jjjsim.model.params import ConfigError

    if lang not in ("en", "zh"):
        raise _fail(f"--lang: expected en or zh, found {lang!r}")
    try:
        from jjjsim.viz.report import write_report

        path = write_report(
            folder,
            output,
            png=png,
            lang=lang,  # type: ignore[arg-type]
            metrics=metric,
            equal_cost=equal_cost,
        )
    except ConfigError as e:  # the folder is read as `results` and `compare` read it: one line if refused
        raise _fail(str(e)) from None
    except OSError as e:
        where = e.filename or folder
        raise _fail(f"{where}: (folder): expected a readable results folder, found {e.strerror}") from None
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
    experiment: Annotated[str, typer.Argument(help="E1 ... E7 (see experiments/E*/README.md).")],
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
        from jjjsim.experiments.published import reproduce as reproduce_experiment

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
