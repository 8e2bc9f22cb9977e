"""Experiment definitions: which runs an experiment makes (TOML, in ``experiments/``).

An experiment compares scenarios, or varies levers of a base scenario by a design, over a set of seeds.
Every design point is run with every seed and the same seeds are used for every point (common random
numbers), so comparisons between points are paired. :func:`load_experiment` reads and checks a file and
resolves it into :class:`RunSpec` s, each with complete parameters and a stable ``run_id``.

The file format::

    name = "brief-measures"       # optional, default: the file name
    description = \"\"\"What the experiment asks and how.\"\"\"
    steps = 40                    # optional, default: the scenarios' own steps (they must then agree)

    [seeds]
    count = 30                    # seed_i = int(SeedSequence(root).spawn(count)[i].generate_state(1)[0])
    root = 20260226
    # or: list = [1, 2, 3]        # explicit seeds (distinct, >= 0); root is then optional

    [outputs]                     # the final summary is always kept
    series = true                 # keep the per-step series (default true)
    flows = false                 # keep the flow matrices (default false)
    every = 1                     # keep every n-th step of the series (default 1)

    [overrides]                   # optional: applied to every run, validated against the registry
    scale = 0.25
    # "talent_incentive.Hebei" = 6  (a sub-key, or talent_incentive = { Hebei = 6 })

    [design]
    kind = "scenarios"
    scenarios = ["baseline", "talent-incentives", "my/own.toml"]

``design.scenarios`` holds built-in scenario names or ``.toml`` paths (relative to the experiment file).
With ``doses`` the scenarios after the first are measures run at several doses of their change from the first
(the reference, run once)::

    [design]
    kind = "scenarios"
    scenarios = ["baseline", "talent-incentives", "collaborative-fund"]
    doses = [0.5, 1, 2]           # multiples of each measure's change from the reference

A measure at dose ``d`` sets every lever it changes to ``reference + d * (measure - reference)`` (per region,
pair or field; whole-number levers rounded; a choice lever takes the measure's option) and is labelled
``talent-incentives@0.5`` (dose 1 keeps the plain name and is exactly the scenario). A measure that only
switches choice levers has no dose and runs once, at dose 1. Measures may change levers only (no timeline, no
behavioural or structural parameter). A dose that would take a lever of a measure beyond the registry's bounds
(twice autonomy's change from 0.3 to 0.7, say) is not run for that measure; a measure must have at least one dose.
The other kinds vary levers of a base scenario (``base``, a name or path; default ``"baseline"``)::

    [design]                      # full-factorial grid over the listed values
    kind = "grid"
    base = "baseline"
    [design.levers]
    fund_size = [100, 300]
    "talent_incentive.Hebei" = [2, 6]
    evaluation_regime = ["uniform_quantity", "differentiated"]

    [design]                      # Latin hypercube (scipy), Sobol' (Saltelli, SALib) or Morris (SALib)
    kind = "lhs"                  # | "sobol" | "morris"
    base = "baseline"
    samples = 64                  # lhs: points; sobol: N (a power of 2), giving N * (2D + 2) points;
                                  # morris: trajectories, giving N * (D + 1) points
    levers = ["fund_size", "talent_incentive.Hebei"]
    levels = 4                    # morris only: grid levels (even; default 4)
    [design.bounds]               # optional: narrower bounds, within the registry's
    fund_size = [50, 500]

A lever is any numeric parameter of the registry (levers and behavioural uncertainties alike; ``steps`` is
set by the top-level key); ``name.sub`` picks one region, region pair or field of a per-key parameter, and
a bare per-key name sets all its sub-keys to the same value. Bounds default to the registry's. Whole-number
parameters get rounded values. Choice parameters can only be varied in a grid. Design points are labelled
``point-0000``, ``point-0001`` ... in the order the design produces them (the order SALib's analysis
expects); sampled designs draw from ``SeedSequence(root)`` (or from the seed list when there is no root).

Each run's parameters are: the scenario (or base), then ``[overrides]``, then ``steps``, then the design
point. Its ``run_id`` is a hash of the resolved parameters, the seed and the steps, so two runs with the same
id are the same simulation. Bad input raises :class:`ConfigError` naming the experiment file and the key.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
from jjjsim.model.errors import MAX_SEED
from jjjsim.model.params import REGISTRY, ConfigError, Param, Params, did_you_mean, validate
from jjjsim.model.scenario import Scenario, builtin_names, load_scenario, locate, read_toml
from jjjsim.model.timeline import identity

__all__ = [
    "DESIGNS",
    "Experiment",
    "Keep",
    "RunSpec",
    "builtin_dir",
    "dose_label",
    "experiment_names",
    "load_experiment",
    "measure_change",
    "run_id",
]

DESIGNS = ("scenarios", "grid", "lhs", "sobol", "morris")
TOP_LEVEL_KEYS = ("name", "description", "steps", "seeds", "outputs", "overrides", "design")
SEED_KEYS = ("count", "root", "list")
OUTPUT_KEYS = ("series", "flows", "every", "summary")
DESIGN_KEYS: dict[str, tuple[str, ...]] = {
    "scenarios": ("kind", "scenarios", "doses"),
    "grid": ("kind", "base", "levers"),
    "lhs": ("kind", "base", "samples", "levers", "bounds"),
    "sobol": ("kind", "base", "samples", "levers", "bounds"),
    "morris": ("kind", "base", "samples", "levers", "bounds", "levels"),
}
Value = float | int | str
MAX_RUNS = 50_000
"""Most runs (design points x seeds) an experiment may have unless raised on purpose (``--max-runs``): about
25 s and 0.5 GB to resolve, and days of computing at the main job's run size (assumption; E4's Sobol' stage
has 9,216)."""


@dataclass(frozen=True)
class Keep:
    """Which outputs to keep per run (the final summary always is)."""

    series: bool = True
    flows: bool = False
    every: int = 1
    """Keep every n-th step of the series."""


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: a design point (or scenario) with one seed."""

    run_id: str
    """First 16 hex digits of the sha256 of the resolved parameters, seed and steps."""
    label: str
    """The scenario name, or the design point's label (``point-0007``)."""
    seed: int
    params: Params
    """Complete, resolved parameters (``params.steps == steps``)."""
    steps: int
    point: dict[str, Value] = field(default_factory=dict)
    """The design point's lever values (empty for a scenario comparison)."""
    measure: str = ""
    """Scenario designs with doses: the measure (scenario) this run doses; "" otherwise and for the reference."""
    dose: float | None = None
    """Scenario designs with doses: the multiple of the measure's change from the reference; None otherwise."""


@dataclass(frozen=True)
class Experiment:
    """A loaded, checked experiment: its runs, seeds and the outputs to keep."""

    name: str
    description: str
    path: str
    definition: dict[str, Any]
    """The file's TOML as read."""
    digest: str
    """sha256 of the canonical JSON of :attr:`definition`."""
    seeds: tuple[int, ...]
    steps: int
    keep: Keep
    runs: tuple[RunSpec, ...]
    """Design points in order, each with every seed in :attr:`seeds` order."""
    design: str
    problem: dict[str, Any] | None = None
    """The SALib problem (``num_vars``, ``names``, ``bounds``) of a sampled design (lhs, sobol, morris)."""


def builtin_dir() -> Path:
    """Folder of the built-in experiment files."""
    return Path(str(resources.files("jjjsim.experiments")))


def experiment_names() -> list[str]:
    """Names of the built-in experiments."""
    return sorted(p.stem for p in builtin_dir().glob("*.toml"))


def load_experiment(ref: str | Path, max_runs: int = MAX_RUNS) -> Experiment:
    """Read, check and resolve an experiment from a ``.toml`` path or the name of a built-in one.

    An experiment of more than ``max_runs`` runs is refused before anything is resolved (see
    :func:`design_size`)."""
    path = locate(ref, "experiment", builtin_dir())
    data = read_toml(path, "experiment")
    return _Loader(path, data, max_runs).experiment()


def experiment_from_definition(definition: Any, path: str | Path, max_runs: int = MAX_RUNS) -> Experiment:
    """Resolve an experiment from its definition as read (e.g. a results manifest's), as if read from ``path``
    (scenario paths in it are relative to that file's folder; the file itself need not exist). The definition
    is untrusted: its size is checked as a file's is."""
    if not isinstance(definition, dict):
        raise ConfigError(str(path), "definition", "an experiment definition (a table)", type(definition).__name__)
    return _Loader(Path(path), copy.deepcopy(definition), max_runs).experiment()


def design_size(data: dict[str, Any]) -> tuple[int, int]:
    """(design points, seeds) a definition asks for, counted from its text before anything is resolved or
    sampled; a part that is malformed counts 1 (its own check names it later)."""
    raw_seeds, raw_design = data.get("seeds"), data.get("design")
    seeds: dict[str, Any] = raw_seeds if isinstance(raw_seeds, dict) else {}
    count = seeds.get("count", 1)
    n_seeds = count if _is_int(count) and count > 0 else 1
    if isinstance(seeds.get("list"), list):
        n_seeds = max(1, len(seeds["list"]))
    design: dict[str, Any] = raw_design if isinstance(raw_design, dict) else {}
    kind, levers, asked = design.get("kind"), design.get("levers"), design.get("samples")
    samples: int = asked if _is_int(asked) and asked > 0 else 1
    if kind == "scenarios":
        n = max(1, len(design["scenarios"])) if isinstance(design.get("scenarios"), list) else 1
        doses = design.get("doses")
        points = 1 + (n - 1) * len(doses) if isinstance(doses, list) and doses else n
    elif kind == "grid":
        axes = _flatten(levers) if isinstance(levers, dict) else {}
        points = math.prod(max(1, len(v)) if isinstance(v, list) else 1 for v in axes.values())
    elif kind in ("sobol", "morris"):
        d = len(levers) if isinstance(levers, list) else 1
        points = samples * (2 * d + 2 if kind == "sobol" else d + 1)
    else:
        points = samples
    return points, n_seeds


# ---- reading --------------------------------------------------------------------------------------------------


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def definition_digest(definition: Any) -> str:
    """The digest of an experiment definition (:attr:`Experiment.digest`): sha256 of its canonical JSON."""
    return hashlib.sha256(_canonical(definition).encode()).hexdigest()


def run_id(params: Params, seed: int, steps: int) -> str:
    """The stable id of a run: a hash of its resolved parameters, seed and steps."""
    text = json.dumps({"params": identity(params.values), "seed": seed, "steps": steps}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dose_label(measure: str, dose: float) -> str:
    """The label of a measure at a dose: ``talent-incentives@0.5``; the plain name at dose 1."""
    return measure if dose == 1 else f"{measure}@{dose:g}"


def measure_change(reference: Params, measure: Params) -> dict[str, Any]:
    """The parameters ``measure`` sets differently from ``reference`` (``steps`` aside): name -> the measure's
    value, per-key parameters with only the sub-keys that differ."""
    out: dict[str, Any] = {}
    for name, v in measure.values.items():
        b = reference.values.get(name)
        if name == "steps" or v == b:
            continue
        out[name] = {k: x for k, x in v.items() if x != b[k]} if REGISTRY[name].per and isinstance(b, dict) else v
    return out


def _dosed(param: Param, ref: Any, value: Any, dose: float) -> Any:
    """One scalar at ``dose`` of its change from ``ref`` to ``value`` (the value itself at dose 1)."""
    if param.kind == "choice" or dose == 1:
        return value
    x = float(ref) + dose * (float(value) - float(ref))
    if not math.isfinite(x):  # a huge dose: the registry's check refuses it
        return x
    return int(math.floor(x + 0.5)) if param.kind == "int" else float(f"{x:.12g}")  # 0.45, not 0.44999999999999996


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _flatten(table: dict[str, Any]) -> dict[str, Any]:
    """``{a = {b = x}}`` (an unquoted dotted TOML key) as ``{"a.b": x}``."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, dict):
            out.update({f"{k}.{s}": w for s, w in v.items()})
        else:
            out[k] = v
    return out


def _lever_names() -> list[str]:
    return [*REGISTRY, *(f"{n}.{k}" for n, p in REGISTRY.items() for k in p.keys)]


def _keys(table: dict[str, Any]) -> set[str]:
    """``name`` and ``name.sub`` keys a (nested) override table sets."""
    return {f"{k}.{s}" for k, v in table.items() if isinstance(v, dict) for s in v} | {
        k for k, v in table.items() if not isinstance(v, dict)
    }


def _clash(a: str, b: str) -> bool:
    """Whether lever keys ``a`` and ``b`` set the same value (a bare per-key name sets all its sub-keys)."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


# ---- resolving ------------------------------------------------------------------------------------------------


@dataclass
class _Lever:
    name: str
    param: Param
    sub: str | None

    def overrides(self, value: Value) -> dict[str, Any]:
        return {self.param.name: {self.sub: value} if self.sub else value}

    def coerce(self, x: float, lo: float, hi: float) -> Value:
        if self.param.kind == "int":
            return int(min(max(math.floor(x + 0.5), math.ceil(lo)), math.floor(hi)))
        return float(x)


class _Loader:
    def __init__(self, path: Path, data: dict[str, Any], max_runs: int = MAX_RUNS) -> None:
        self.path, self.data, self.where, self.max_runs = path, data, str(path), max_runs

    def fail(self, key: str, expected: str, found: Any, hint: str = "") -> ConfigError:
        return ConfigError(self.where, key, expected, found, hint)

    def table(self, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "a table", value)
        for k in value:
            if k not in allowed:
                raise self.fail(f"{key}.{k}", f"one of {', '.join(allowed)}", k, did_you_mean(k, allowed))
        return value

    # -- top level

    def experiment(self) -> Experiment:
        d = self.data
        for k in d:
            if k not in TOP_LEVEL_KEYS:
                raise self.fail(k, f"one of {', '.join(TOP_LEVEL_KEYS)}", k, did_you_mean(k, TOP_LEVEL_KEYS))
        n_points, n_seeds = design_size(d)
        if n_points * n_seeds > self.max_runs:
            raise self.fail(
                "design",
                f"at most {self.max_runs:,} runs (design points x seeds)",
                f"{n_points:,} points x {n_seeds:,} seeds = {n_points * n_seeds:,} runs",
                "fewer points or seeds, or raise the limit on purpose with --max-runs",
            )
        name = d.get("name", self.path.stem)
        if not isinstance(name, str) or not name.strip():
            raise self.fail("name", "a non-empty name", name)
        description = d.get("description", "")
        if not isinstance(description, str):
            raise self.fail("description", "a paragraph of text", description)
        steps = d.get("steps")
        if steps is not None:
            steps = REGISTRY["steps"].validate(steps, self.where)  # its key is "steps" too
        seeds, entropy = self.seeds()
        keep = self.outputs()
        overrides = self.overrides()
        if "design" not in d:
            raise self.fail("design", f"a [design] table with kind = one of {', '.join(DESIGNS)}", "nothing")
        design = self.table("design", tuple({k for keys in DESIGN_KEYS.values() for k in keys}))
        kind = design.get("kind")
        if kind not in DESIGNS:
            raise self.fail("design.kind", f"one of {', '.join(DESIGNS)}", kind, did_you_mean(str(kind), DESIGNS))
        self.table("design", DESIGN_KEYS[kind])  # the keys this kind takes

        problem = None
        doses: dict[str, tuple[str, float]] = {}  # label -> (measure, dose)
        if kind == "scenarios":
            bases = self.scenarios(design)
            points: list[tuple[str, Scenario, dict[str, Value]]] = [(s.name, s, {}) for s in bases]
            if "doses" in design:
                points, doses = self.dosed(bases, self.doses(design))
        else:
            base = self.scenario(design.get("base", "baseline"), "design.base")
            bases = [base]
            if kind == "grid":
                values = self.grid(design, base.params)
            else:
                values, problem = self.sampled(kind, design, np.random.default_rng(np.random.SeedSequence(entropy)))
            width = max(4, len(str(len(values) - 1)))
            points = [(f"point-{i:0{width}d}", base, v) for i, v in enumerate(values)]
            clash = sorted(o for o in _keys(overrides) if any(_clash(o, lv) for lv in values[0]))
            if clash:
                raise self.fail(f"overrides.{clash[0]}", "no lever that the design varies", clash)

        if steps is None:
            found = {s.name: int(s.params.steps) for s in bases}
            if len(set(found.values())) > 1:
                raise self.fail("steps", "a top-level steps (the scenarios' own steps differ)", found)
            steps = next(iter(found.values()))

        runs = []
        for label, scenario, point in points:
            params = self.apply(scenario.params, overrides, steps, point)
            measure, dose = doses.get(label, ("", None))
            runs += [RunSpec(run_id(params, s, steps), label, s, params, steps, point, measure, dose) for s in seeds]
        return Experiment(
            name=name,
            description=" ".join(description.split()),
            path=self.where,
            definition=d,
            digest=definition_digest(d),
            seeds=seeds,
            steps=steps,
            keep=keep,
            runs=tuple(runs),
            design=kind,
            problem=problem,
        )

    def seeds(self) -> tuple[tuple[int, ...], Any]:
        if "seeds" not in self.data:
            raise self.fail("seeds", "a [seeds] table with count and root, or list", "nothing")
        t = self.table("seeds", SEED_KEYS)
        root = t.get("root")
        if root is not None and (not _is_int(root) or not 0 <= root <= MAX_SEED):
            raise self.fail("seeds.root", f"a whole number from 0 to {MAX_SEED}", root)
        if ("count" in t) == ("list" in t):
            raise self.fail("seeds", "either count (with root) or list", sorted(t))
        if "count" in t:
            count = t["count"]
            if not _is_int(count) or count <= 0:
                raise self.fail("seeds.count", "a whole number of seeds >= 1", count)
            if root is None:
                raise self.fail("seeds.root", "a root seed for the spawned seeds", "nothing")
            seeds = tuple(int(c.generate_state(1)[0]) for c in np.random.SeedSequence(root).spawn(count))
            key = "seeds.count"
        else:
            seeds = t["list"]
            if not isinstance(seeds, list) or not seeds or not all(_is_int(s) and 0 <= s <= MAX_SEED for s in seeds):
                raise self.fail("seeds.list", f"a non-empty list of whole numbers from 0 to {MAX_SEED}", seeds)
            seeds, key = tuple(seeds), "seeds.list"
        if len(set(seeds)) < len(seeds):
            dup = sorted(s for s, n in Counter(seeds).items() if n > 1)[:10]
            raise self.fail(key, "distinct seeds", f"duplicates {dup}")
        return seeds, (root if root is not None else list(seeds))

    def outputs(self) -> Keep:
        t = self.table("outputs", OUTPUT_KEYS)
        for k in ("series", "flows", "summary"):
            if k in t and not isinstance(t[k], bool):
                raise self.fail(f"outputs.{k}", "true or false", t[k])
        if t.get("summary") is False:
            raise self.fail("outputs.summary", "true (the final summary is always kept)", False)
        every = t.get("every", 1)
        if not _is_int(every) or every < 1:
            raise self.fail("outputs.every", "a whole number of steps >= 1", every)
        return Keep(series=t.get("series", True), flows=t.get("flows", False), every=every)

    def overrides(self) -> dict[str, Any]:
        raw = self.data.get("overrides", {})
        if not isinstance(raw, dict):
            raise self.fail("overrides", "a table of parameter overrides", raw)
        nested: dict[str, Any] = {}
        for k, v in raw.items():
            if "." in k:  # a quoted "name.sub" key
                name, sub = k.split(".", 1)
                nested.setdefault(name, {})
                if not isinstance(nested[name], dict):
                    raise self.fail(f"overrides.{k}", f"either {name} or its sub-keys", k)
                nested[name][sub] = v
            else:
                nested[k] = v
        if "steps" in nested:
            raise self.fail("overrides.steps", "no steps here (use the top-level steps)", nested["steps"])
        try:
            validate(nested, self.where)
        except ConfigError as err:
            raise self.fail(f"overrides.{err.key}", err.expected, err.found, err.hint) from None
        return nested

    def apply(self, params: Params, overrides: dict[str, Any], steps: int, point: dict[str, Value]) -> Params:
        params = params.replace(overrides, where=self.where).replace({"steps": steps}, where=self.where)
        merged: dict[str, Any] = {}
        for name, v in point.items():
            base, _, sub = name.partition(".")
            if sub:
                merged.setdefault(base, {})[sub] = v
            else:
                merged[base] = v
        try:
            return params.replace(merged, where=self.where)
        except ConfigError as err:
            raise self.fail(f"design.levers.{err.key}", err.expected, err.found, err.hint) from None

    # -- designs

    def scenario(self, ref: Any, key: str) -> Scenario:
        if not isinstance(ref, str) or not ref:
            raise self.fail(key, "a scenario name or a .toml path", ref)
        p = Path(ref)
        if (p.suffix == ".toml" or len(p.parts) > 1) and not p.is_absolute():
            ref = str(self.path.parent / p)
        try:
            return load_scenario(ref)
        except ConfigError as err:
            if err.where == "scenario":  # an unknown name
                raise self.fail(key, err.expected, err.found, err.hint) from None
            raise self.fail(key, "a valid scenario", ref, str(err)) from None

    def scenarios(self, design: dict[str, Any]) -> list[Scenario]:
        refs = design.get("scenarios")
        if not isinstance(refs, list) or not refs:
            raise self.fail("design.scenarios", f"a non-empty list of scenarios ({', '.join(builtin_names())})", refs)
        out = [self.scenario(r, "design.scenarios") for r in refs]
        names = [s.name for s in out]
        dup = sorted(n for n, k in Counter(names).items() if k > 1)
        if dup:
            raise self.fail("design.scenarios", "distinct scenarios", f"duplicates {dup}")
        return out

    def doses(self, design: dict[str, Any]) -> list[float]:
        doses = design["doses"]
        if not isinstance(doses, list) or not doses or not all(_is_number(d) and d > 0 for d in doses):
            raise self.fail("design.doses", "a non-empty list of doses > 0 (multiples of each measure's change)", doses)
        if len(set(doses)) < len(doses):
            raise self.fail("design.doses", "distinct doses", doses)
        if len(design.get("scenarios", ())) < 2:
            raise self.fail(
                "design.scenarios", "a reference scenario and at least one measure to dose", design["scenarios"]
            )
        return sorted(float(d) for d in doses)

    def dosed(
        self, scenarios: list[Scenario], doses: list[float]
    ) -> tuple[list[tuple[str, Scenario, dict[str, Value]]], dict[str, tuple[str, float]]]:
        """The reference (the first scenario) once, then each measure at each dose (a choice-only one at dose 1)."""
        ref = scenarios[0]
        points: list[tuple[str, Scenario, dict[str, Value]]] = [(ref.name, ref, {})]
        labels: dict[str, tuple[str, float]] = {}
        for s in scenarios[1:]:
            change = measure_change(ref.params, s.params)
            bad = [n for n in change if REGISTRY[n].role != "lever" or REGISTRY[n].kind == "timeline"]
            if bad or not change:
                found = f"{s.name} changes {', '.join(bad)}" if bad else f"{s.name} changes nothing"
                raise self.fail("design.scenarios", f"measures that change levers of {ref.name} only", found)
            numeric = any(REGISTRY[n].kind != "choice" for n in change)
            refused: list[str] = []
            tried = doses if numeric else [1.0]
            for d in tried:
                values = {}
                for n, v in change.items():
                    p, b = REGISTRY[n], ref.params.values[n]
                    values[n] = {k: _dosed(p, b[k], x, d) for k, x in v.items()} if p.per else _dosed(p, b, v, d)
                try:
                    params = ref.params.replace(values, where=self.where) if d != 1 else s.params
                except ConfigError as err:  # beyond the registry's bounds: this dose is not run for this measure
                    found = f"{err.found:.4g}" if isinstance(err.found, float) else err.found
                    refused.append(f"dose {d:g}: {err.key} would be {found}")
                    continue
                label = dose_label(s.name, d)
                if label == ref.name or label in labels:
                    raise self.fail("design.doses", "doses and scenarios that give distinct labels", label)
                points.append((label, replace(s, name=label, params=params), {}))
                labels[label] = (s.name, d)
            if len(refused) == len(tried):
                raise self.fail(
                    "design.doses",
                    f"at least one dose that keeps every lever of {s.name} within the registry's bounds",
                    doses,
                    "; ".join(refused),
                )
        return points, labels

    def lever(self, name: Any, key: str, numeric: bool) -> _Lever:
        if not isinstance(name, str):
            raise self.fail(key, "a lever name", name)
        base, _, sub = name.partition(".")
        if base not in REGISTRY or base == "steps":
            expected = "a lever or parameter name (see `jjjsim levers --all`; steps is the top-level key)"
            raise self.fail(key, expected, name, did_you_mean(name, _lever_names()))
        p = REGISTRY[base]
        if p.kind == "timeline":
            expected = "a lever or parameter with a value (timelines: [[timeline]] entries of a scenario file)"
            raise self.fail(key, expected, name)
        if sub and sub not in p.keys:
            expected = f"one of {', '.join(p.keys)} after {base}." if p.keys else f"{base} without a sub-key"
            raise self.fail(key, expected, name, did_you_mean(name, _lever_names()))
        if numeric and (p.kind == "choice" or p.bounds is None):
            raise self.fail(key, "a numeric lever with bounds (vary a choice in a grid)", name)
        return _Lever(name, p, sub or None)

    def levers(self, names: list[str], key: str, numeric: bool) -> list[_Lever]:
        out = [self.lever(n, key, numeric) for n in names]
        for a, b in itertools.combinations(out, 2):
            if a.param is b.param and (a.sub is None or b.sub is None or a.sub == b.sub):
                raise self.fail(key, "each lever (or sub-key) once", [a.name, b.name])
        return out

    def grid(self, design: dict[str, Any], base: Params) -> list[dict[str, Value]]:
        table = design.get("levers")
        if not isinstance(table, dict) or not table:
            raise self.fail("design.levers", "a table of lever = [values]", table)
        table = _flatten(table)
        levers = self.levers(list(table), "design.levers", numeric=False)
        axes: list[list[Value]] = []
        for lv in levers:
            key, values = f"design.levers.{lv.name}", table[lv.name]
            if not isinstance(values, list) or not values:
                raise self.fail(key, "a non-empty list of values", values)
            if lv.param.kind == "int":
                if not all(_is_number(v) for v in values):
                    raise self.fail(key, "a list of numbers", values)
                values = [int(math.floor(v + 0.5)) for v in values]
            for v in values:
                try:
                    base.replace(lv.overrides(v), where=self.where)
                except ConfigError as err:
                    raise self.fail(key, err.expected, err.found, err.hint) from None
            if lv.param.kind == "float":
                values = [float(v) for v in values]
            if len(set(values)) < len(values):
                raise self.fail(key, "distinct values (whole-number levers are rounded)", values)
            axes.append(values)
        return [dict(zip([lv.name for lv in levers], combo, strict=True)) for combo in itertools.product(*axes)]

    def bounds(self, design: dict[str, Any], levers: list[_Lever]) -> list[tuple[float, float]]:
        table = design.get("bounds", {})
        if not isinstance(table, dict):
            raise self.fail("design.bounds", "a table of lever = [low, high]", table)
        table = _flatten(table)
        names = [lv.name for lv in levers]
        for k in table:
            if k not in names:
                raise self.fail(
                    f"design.bounds.{k}", f"one of the design's levers ({', '.join(names)})", k, did_you_mean(k, names)
                )
        out = []
        for lv in levers:
            assert lv.param.bounds is not None
            rlo, rhi = (float(b) for b in lv.param.bounds)
            if lv.name not in table:
                out.append((rlo, rhi))
                continue
            key, b = f"design.bounds.{lv.name}", table[lv.name]
            if not (isinstance(b, list) and len(b) == 2 and all(_is_number(x) for x in b)):
                raise self.fail(key, "[low, high]", b)
            lo, hi = float(b[0]), float(b[1])
            if not lo < hi:
                raise self.fail(key, "low < high", b)
            if lo < rlo or hi > rhi:
                raise self.fail(key, f"bounds within the registry's [{rlo:g}, {rhi:g}] {lv.param.unit}", b)
            out.append((lo, hi))
        return out

    def sampled(
        self, kind: str, design: dict[str, Any], rng: np.random.Generator
    ) -> tuple[list[dict[str, Value]], dict[str, Any]]:
        names = design.get("levers")
        if not isinstance(names, list) or not names:
            raise self.fail("design.levers", "a non-empty list of lever names", names)
        levers = self.levers(names, "design.levers", numeric=True)
        bounds = self.bounds(design, levers)
        n = design.get("samples")
        if not _is_int(n) or n <= 0:
            raise self.fail("design.samples", "a whole number of samples >= 1", n)
        problem = {"num_vars": len(levers), "names": [lv.name for lv in levers], "bounds": [list(b) for b in bounds]}
        if kind == "lhs":
            from scipy.stats import qmc

            lo, hi = np.array(bounds).T
            x = qmc.scale(qmc.LatinHypercube(d=len(levers), rng=rng).random(n), lo, hi)
        elif kind == "sobol":
            if n & (n - 1):
                raise self.fail("design.samples", "a power of 2 for Sobol' sampling (e.g. 64, 128)", n)
            from SALib.sample import sobol

            x = sobol.sample(copy.deepcopy(problem), n, calc_second_order=True, seed=rng)
        else:
            levels = design.get("levels", 4)
            if not _is_int(levels) or levels < 2 or levels % 2:
                raise self.fail("design.levels", "an even number of grid levels >= 2", levels)
            from SALib.sample import morris

            x = morris.sample(copy.deepcopy(problem), n, num_levels=levels, seed=rng)
        return [
            {lv.name: lv.coerce(float(v), lo, hi) for lv, v, (lo, hi) in zip(levers, row, bounds, strict=True)}
            for row in x
        ], problem
