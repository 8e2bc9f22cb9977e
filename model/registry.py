"""The registry of policy levers and behavioural parameters: every number the model uses, with its source.

:class:`Param` is one entry (meaning, unit, bounds, default, role, source, and the check of a user's value); one
``_P(name, label, unit, default, bounds, role, source, ...)`` below declares each, ``A`` marks an assumption, and
:data:`REGISTRY` holds them all by name (:data:`LEVERS` the policy levers). Read them with ``jjjsim levers --all``;
:mod:`.params` combines and checks values into a :class:`~.params.Params` set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import ConfigError, did_you_mean
from .regions import FIELDS, JJJ, REGION_PAIRS, REGIONS

Role = Literal["lever", "uncertainty", "structural"]
Per = Literal["region", "region4", "region_pair", "field"] | None
Kind = Literal["float", "int", "choice", "timeline"]

_PER_KEYS: dict[str, tuple[str, ...]] = {
    "region": JJJ,
    "region4": REGIONS,
    "region_pair": REGION_PAIRS,
    "field": FIELDS,
}


@dataclass(frozen=True)
class Param:
    """One lever or parameter: its meaning, unit, bounds, default, role and source."""

    name: str
    label: str
    unit: str
    default: Any
    bounds: tuple[float, float] | None
    role: Role
    source: str
    per: Per = None
    kind: Kind = "float"
    choices: tuple[str, ...] = ()
    measure: str = ""
    causal_path: str = ""
    group: str = "general"
    outcome: str = ""
    """Levers: the summary indicator (``RunResult.summary`` key; ``<region>`` for per-region levers) the
    lever moves first."""
    effect: int = 0
    """Levers: sign of d(outcome)/d(lever), +1 or -1 (for a choice: moving to its last option)."""

    @property
    def keys(self) -> tuple[str, ...]:
        """Sub-keys of a per-region, per-pair or per-field parameter (empty for a scalar)."""
        return _PER_KEYS[self.per] if self.per else ()

    def validate(self, value: Any, where: str) -> Any:
        """Check one user value (a scalar, or a table of sub-keys) and return it in canonical form."""
        if self.kind == "timeline":  # dated changes of other entries: params.validate checks them (model/timeline.py)
            raise TypeError(f"{self.name}: a timeline is checked by params.validate, with the registry it refers to")
        if self.per is None:
            return self._scalar(value, where, self.name)
        if not isinstance(value, dict):
            value = {k: value for k in self.keys}  # one number for every region / pair / field
        out = dict(self.default)
        for sub, v in value.items():
            if sub not in self.keys:
                raise ConfigError(
                    where,
                    f"{self.name}.{sub}",
                    f"one of {', '.join(self.keys)}",
                    sub,
                    did_you_mean(str(sub), self.keys),
                )
            out[sub] = self._scalar(v, where, f"{self.name}.{sub}")
        return out

    def _scalar(self, value: Any, where: str, key: str) -> Any:
        if self.kind == "choice":
            if value not in self.choices:
                raise ConfigError(
                    where, key, f"one of {', '.join(self.choices)}", value, did_you_mean(str(value), self.choices)
                )
            return value
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ConfigError(where, key, f"a number ({self.unit})", value)
        if isinstance(value, int | np.integer) and abs(int(value)) > 2**53:  # float() would lose it or overflow
            lo, hi = self.bounds if self.bounds else (-np.inf, np.inf)
            raise ConfigError(where, key, f"a value in [{lo:g}, {hi:g}] {self.unit}", value)
        if not math.isfinite(value):
            raise ConfigError(where, key, f"a finite number ({self.unit})", value)
        if self.kind == "int":
            if float(value) != int(value):
                raise ConfigError(where, key, "a whole number", value)
            value = int(value)
        else:
            value = float(value)
        lo, hi = self.bounds if self.bounds else (-np.inf, np.inf)
        if not lo <= value <= hi:
            raise ConfigError(where, key, f"a value in [{lo:g}, {hi:g}] {self.unit}", value)
        return value


A = "assumption"
CALIBRATION_ID = "E5-msm-20261204-f9052ad4"
"""The MSM calibration whose fitted values are the defaults of the parameters that cite it (experiment E5;
its fit is kept in experiments/E5-calibration/published/, and ``jjjsim reproduce E5`` reruns it)."""


def _cal(std_error: float, before: str) -> str:
    """Source of a calibrated default: the calibration run, the standard error and the value before it."""
    return (
        f"calibrated: MSM {CALIBRATION_ID} on 2014-2020 moments of jjj_statistics.csv (docs/validation.md), on"
        f" model v2 (issue 10); s.e. {std_error:.3g}; before calibration {before}"
    )


def _P(
    name: str,
    label: str,
    unit: str,
    default: Any,
    bounds: tuple[float, float] | None,
    role: Role,
    source: str,
    **kw: Any,
) -> Param:
    return Param(name, label, unit, default, bounds, role, source, **kw)


def _reg(**kw: float) -> dict[str, float]:
    return dict(kw)


# fmt: off
LEVER_LIST: list[Param] = [
    # ---- Policy levers: one per measure of the brief (model-spec §5) -----------------------------------------
    _P("barrier", "Institutional barrier between regions", "0-1",
       {"Beijing-Tianjin": 0.6, "Beijing-Hebei": 0.7, "Tianjin-Hebei": 0.6}, (0, 1), "lever",
       A + " (hand-calibrated toward Beijing -> Tianjin+Hebei contract value of ~200 (100m CNY) a year, 1,410 in"
       " 2014-2020, jjj_statistics.csv)",
       per="region_pair", measure="Break down institutional barriers (group 1)",
       causal_path="scales spillover weights w_rs, adoption, piloting, fund and talent frictions across regions",
       outcome="cross_region_contract_value", effect=-1, group="regions"),
    _P("standards_recognition", "Mutual recognition of standards", "0-1", 0.2, (0, 1), "lever", A,
       measure="Mutual recognition of standards (group 1)",
       causal_path="lowers effective barrier b_rs and the re-certification cost of cross-region contracts",
       outcome="cross_region_contract_value", effect=1, group="regions"),
    _P("project_alignment", "Alignment of major research projects and platform layouts", "0-1", 0.2, (0, 1), "lever",
       A, measure="Align major research projects and platform layouts (group 1)",
       causal_path="reduces duplicated achievements across regions in the same field (novelty discount)",
       outcome="duplicates", effect=-1, group="research"),
    _P("shared_key_labs", "Shared multi-region key laboratories", "labs", 0, (0, 40), "lever",
       "0 in 2023: no jointly run national key lab is recorded in the statistics (assumption)", kind="int",
       measure="Build and share major infrastructure such as national key labs (group 1)",
       causal_path="key labs with nodes in all three regions: staff hired and output credited across regions",
       outcome="results_tianjin_hebei", effect=1, group="research"),
    _P("instrument_sharing", "Openness of large instruments (share of hours offered)", "0-1", 0.16, (0, 1), "lever",
       "observed mean 0.16 (model-spec §5)", measure="Open large research instruments and data (group 1)",
       causal_path="outsiders' instrument access raises H_eff elsewhere; the owner loses some own hours",
       outcome="results", effect=1, group="research"),
    _P("chain_integration", "Integration of innovation and industrial chains", "0-1", 0.2, (0, 1), "lever", A,
       measure="Integrate innovation chains with industrial chains (group 2)",
       causal_path="raises the sector-fit weight in matching results to firms and the productivity gain of a fitting"
       " result", outcome="productivity",
       effect=1, group="transfer"),
    _P("service_platforms", "Cross-regional full-chain industrial service platforms", "platforms",
       {f: 0 for f in FIELDS}, (0, 20), "lever", "0 before the measure (assumption)", per="field", kind="int",
       measure="Full-chain industrial service platforms, e.g. NEV and biomedicine (group 2)",
       causal_path="raises cross-region match rate and lowers search cost in that sector",
       outcome="cross_region_contract_value", effect=1, group="transfer"),
    _P("demo_base_capacity", "Demonstration-base pilot capacity", "concurrent pilots at scale 1",
       _reg(Beijing=20, Tianjin=30, Hebei=30), (0, 1000), "lever", A, per="region", kind="int",
       measure="Demonstration bases that test and iterate Beijing/Tianjin results (group 2)",
       causal_path="pilots fresh results of any region, bringing them to market sooner at a higher TRL, and anchors"
       " adoption locally",
       outcome="transformation_rate", effect=1, group="piloting"),
    _P("talent_network", "Cross-region talent development network", "0-1", 0.1, (0, 1), "lever", A,
       measure="A talent development network across the three regions (group 3)",
       causal_path="more cross-region ties and dual appointments (phi); lower moving and home-region cost",
       outcome="talent_moves", effect=1, group="talent"),
    _P("talent_incentive", "Talent attraction subsidy", "10k CNY/yr per talent",
       _reg(Beijing=1.0, Tianjin=2.0, Hebei=2.0), (0, 30), "lever", A, per="region",
       measure="Optimised policies for attracting and retaining talent (group 3)",
       causal_path="I_r in the talent utility; paid to every talent resident in r (or to arrivals only, see"
       " talent_incentive_target), charged to r's budget",
       outcome="talent_net_outflow.<region>", effect=-1, group="talent"),
    _P("talent_incentive_target", "Who receives the talent subsidy", "choice", "residents", None, "lever",
       "residents = every resident, the model's form before issue 10 (assumption); movers = talents who moved into"
       " the region (or entered it) within incentive_years, the form of Tianjin's 'Haihe Talent' plan of 2018 (hukou"
       " and subsidies for arrivals; China Daily 2018-09-19)", kind="choice", choices=("residents", "movers"),
       measure="Optimised policies for attracting and retaining talent (group 3)",
       causal_path="who is paid I_r: every resident, or only arrivals of the last incentive_years (a mover still"
       " counts I_r in the utility of a destination; a long-time resident loses it from staying)",
       outcome="public_cost", effect=-1, group="talent"),
    _P("fund_size", "Collaborative innovation investment fund", "100m CNY", 100.0, (0, 2000), "lever",
       "100 = the JJJ collaborative innovation investment fund set up 2015-09 (jjj_statistics.csv)",
       measure="A collaborative innovation investment fund (group 3)",
       causal_path="capital for technology-transfer projects, cross-region ones among them; crowds in private"
       " money", outcome="collab_fund_invested",
       effect=1, group="funds"),
    _P("fund_cross_region_share", "Cross-region mandate of the collaborative fund", "0-1", 0.3, (0, 1), "lever", A,
       measure="A collaborative innovation investment fund (group 3)",
       causal_path="share of the collaborative fund's technology-transfer projects reserved for firms buying from"
       " another JJJ region: their money buys cross-region contracts, at a lower chance of exit",
       outcome="cross_region_contract_value", effect=1, group="funds"),
    _P("autonomy", "Platform autonomy (personnel and finance)", "0-1", 0.3, (0, 1), "lever", A,
       measure="Market-oriented governance and autonomy of platforms (group 4)",
       causal_path="lower overhead, faster hiring and wage flexibility; more spread of efficiency", outcome="results",
       effect=1, group="research"),
    _P("evaluation_regime", "Platform evaluation regime", "choice", "uniform_quantity", None, "lever",
       "uniform_quantity = the count-based regime before the reform (assumption)", kind="choice",
       choices=('uniform_quantity', 'differentiated'),
       measure="A differentiated evaluation system based on quality and aggregation (group 4)",
       causal_path="budget reallocation and effort split toward quality and transformation",
       outcome="mean_result_quality", effect=1, group="evaluation"),
    _P("capital_function_relocation", "Orderly relocation of Beijing's non-capital functions", "0-1", 0.3, (0, 1),
       "lever", A + " (the relocation policy of the 2015 Outline for Coordinated Development, in force since; 0 ="
       " none, 1 = the strongest push the registry allows)",
       measure="Relocate non-capital functions from Beijing, the Outline's first task; beside the brief (group 1)",
       causal_path="Beijing firms move their headquarters and staff to Tianjin or Hebei and keep buying from Beijing"
       " through their group channel", outcome="bj_to_tjhb_contract_value", effect=1, group="regions"),
    _P("firm_cultivation", "Cultivation of high-tech firms (certification drive)", "x the start-year niche",
       _reg(Beijing=0.0, Tianjin=0.0, Hebei=0.0), (0, 1), "lever",
       "0 = no drive beyond what the start year's firms embody (assumption); the historical timeline gives Hebei 1"
       " from its double-doubling plan of 2017-2020 (high-tech enterprises and S&T SMEs twice their 2016 numbers by"
       " 2020; Hebei Daily 2018-02-06); at most 1, a doubled niche (the plan's own target): at 2 the all-maxima"
       " corner grew its firms 20.1x in 36 quarters, past the 20x of tests/model/test_corners.py", per="region",
       measure="Cultivate and certify high-tech firms in a region, e.g. Hebei's doubling plan; beside the brief"
       " (group 2)",
       causal_path="raises the region's carrying capacity for its own high-tech firms by the factor 1 + c: more"
       " firms enter and produce; what they buy depends on the R&D staff they hire (absorptive capacity)",
       outcome="value_added_last_quarter.<region>", effect=1, group="firms"),
    _P("culture_learning_rate", "Talent-capital-culture feedback strength", "per quarter", 0.1, (0, 1), "lever", A,
       measure="A virtuous cycle of talent, capital and culture (group 3)",
       causal_path="how fast commercial successes raise the entrepreneurial climate (step 8)", outcome="spinoffs",
       effect=1, group="culture"),
]

BEHAVIOUR_LIST: list[Param] = [
    # ---- 1. Research -----------------------------------------------------------------------------------------
    _P("budget_elasticity", "Elasticity of output in effective budget (beta)", "-", 0.395, (0.1, 0.5), "uncertainty",
       _cal(0.0441, "0.375 (MSM E5-msm-20261203-6136b028, before the reach net of the pipeline's"
           " composition of issue 10); "
           "0.372 (MSM E5-msm-20261203-cc683537, before the TFP frontier of issue 10); "
           "0.455 (MSM E5-msm-20261202-43ed3b30, before the buyer-sized contracts, start-up budgets and"
           " regional demand convergence of issue 10); "
           "0.454 (MSM E5-msm-20261201-542721ff, before the subsidiaries' own-region demand of issue"
           " 10); 0.469 (MSM E5-msm-20261201-3ff0e413, before the Hebei revision of issue 10); 0.491 (MSM on "
                    "model v1); 0.4")
       + "; searched within [0.3, 0.5] so that beta + alpha stays in Bottazzi & Peri 2003's"
       " 0.8-1 (own R&D elasticity in total); at most 0.5, so that with staff_elasticity <= 0.5 returns to budget"
       " (staff follow budget) stay <= 1 everywhere in the bounds (issue 10)", group="research"),
    _P("staff_elasticity", "Elasticity of output in effective staff (alpha)", "-", 0.5, (0.1, 0.5), "uncertainty",
       "Bottazzi & Peri 2003 (with beta, sums to ~0.9); at most 0.5, so that beta + alpha <= 1: staff follow"
       " budget, and returns to budget above 1 made the evaluation tournament run away (issue 10)",
       group="research"),
    _P("spillover_strength", "Spillover elasticity (eta) of (1 + S_r)", "-", 0.3, (0, 0.5), "uncertainty",
       "form: Jones 1995, diminishing returns to the knowledge stock (elasticity eta S / (1 + S) < eta <= 0.5; at"
       " eta = 1 the loop is Romer's knife edge phi = 1, which Jones rejects, and it amplified exogenous growth"
       " 4.5-fold in 40 quarters at a corner, issue 10); value"
       " assumption (Bottazzi & Peri 2003: doubling R&D within 300 km raises a region's patents by only 2-3 %)",
       group="research"),
    _P("spillover_decay_km", "Spillover distance decay (delta)", "km", 150.0, (50, 500), "uncertainty",
       "Bottazzi & Peri 2003: spillovers small beyond ~300 km (exp(-300/150) = 0.14)", group="research"),
    _P("overhead_base", "Administrative overhead share at zero autonomy", "share of budget", 0.3, (0, 0.6),
       "uncertainty", A, group="research"),
    _P("autonomy_overhead_cut", "Share of overhead removed by full autonomy", "-", 0.5, (0, 1), "uncertainty", A,
       group="research"),
    _P("autonomy_efficiency_sd", "Spread of platform efficiency at full autonomy", "log sd", 0.6, (0, 1.5),
       "uncertainty", A, group="research"),
    _P("dual_effort_share", "Effort share of a dual appointment (phi)", "-", 0.2, (0, 0.5), "uncertainty", A,
       group="research"),
    _P("instrument_weight", "Staff-equivalents of one platform's full instrument capacity", "skill units", 4.0,
       (0, 20), "uncertainty", A, group="research"),
    _P("instrument_owner_loss", "Own hours lost per hour shared", "-", 0.5, (0, 1), "uncertainty",
       A + " (sharing costs the owner some of its own hours, model-spec §5)", group="research"),
    _P("duplication_base", "Share of duplicated results with no alignment", "-", 0.3, (0, 0.8), "uncertainty", A,
       group="research"),
    _P("quality_effort_cost", "Output lost per unit of quality effort", "-", 0.4, (0, 0.9), "uncertainty", A,
       group="research"),
    _P("quality_effort_gain", "Quality gained per unit of quality effort", "-", 0.8, (0, 2), "uncertainty", A,
       group="research"),
    _P("quality_sd", "Dispersion of result quality", "log sd", 0.5, (0.1, 1.5), "uncertainty", A, group="research"),
    _P("platform_budget_share", "Share of regional R&D expenditure run by the modelled platforms", "-", 0.3,
       (0.05, 0.8), "structural", A, group="research"),
    _P("budget_growth", "Exogenous growth of platform budgets (JJJ trend)", "per quarter", 0.0222, (0, 0.04),
       "uncertainty",
       "derived: OLS log-linear trend of JJJ R&D expenditure 2014-2020 (2046.6 -> 3446.0 100m CNY,"
       " jjj_statistics.csv), 8.9%/yr; each region adds its own deviation from that trend, derived the same way at"
       " set-up (Beijing +1.9, Tianjin -9.4, Hebei +3.1 points a year). Upper bound 0.04 (17.4%/yr; assumption):"
       " 1.9x the fitted JJJ rate and 1.4x the fastest regional trend (Hebei, 12.0%/yr); at the earlier 0.06"
       " (27%/yr for ten years) the exogenous budgets alone grew 11x in 40 quarters, and results and knowledge at"
       " two corners of the bounds over 20x with them", group="research"),
    # ---- 2. Piloting -----------------------------------------------------------------------------------------
    _P("expertise_gain", "Field expertise gained per piloted TRL step (origin platform and demo base)", "-", 0.02,
       (0, 0.2), "uncertainty", A, group="piloting"),
    _P("pilot_intake_half_life", "Age of a result at which a demo base's preference for it has halved", "quarters",
       1.0, (0.25, 80), "uncertainty",
       A + " (bases take the results labs have just completed: the weight of a candidate halves with each quarter"
       " since its birth, so a result left on the shelf for a year is rarely piloted; 80 = hardly any preference)",
       group="piloting"),
    _P("pilot_hazard", "Piloting hazard scale (zeta_d)", "-", 0.6, (0, 3), "uncertainty",
       "Dosi, Fagiolo & Roventini 2010 functional form 1 - exp(-zeta x); value assumption", group="piloting"),
    _P("self_development_hazard", "TRL advance per quarter without a demo base", "per quarter", 0.15, (0, 0.5),
       "uncertainty", A, group="piloting"),
    _P("market_ready_trl", "TRL at which a result is market-ready", "TRL", 6, (4, 8), "structural",
       A + " (TRL 6: prototype demonstrated in a relevant environment)", kind="int", group="piloting"),
    _P("result_life", "Quarters a result stays available before it expires", "quarters", 24, (4, 80), "uncertainty",
       A, kind="int", group="piloting"),
    # ---- 3. Transfer -----------------------------------------------------------------------------------------
    _P("search_candidates", "Offers a firm examines per quarter", "offers", 8, (1, 50), "uncertainty",
       A + " (with the adoption intercept it sets how many contracts a firm signs: a firm agent of 10 enterprises"
       " signs ~3 a quarter at the start, as JJJ's ~25,000 contracts a year bought by ~1,500 firm agents in 2014"
       " require)", kind="int", group="transfer"),
    _P("search_decay_km", "Distance decay of technology search: a region's results are met in proportion to their"
       " number times exp(-km / this)", "km", 700.725, (50, 5000), "uncertainty",
       _cal(408, "844.725 (MSM E5-msm-20261203-6136b028, before the reach net of the pipeline's"
           " composition of issue 10); "
           "1173.373 (MSM E5-msm-20261203-cc683537, before the TFP frontier of issue 10); "
           "883.767 (MSM E5-msm-20261202-43ed3b30, before the buyer-sized contracts, start-up budgets and"
           " regional demand convergence of issue 10); "
           "150 (assumption: the spillover decay of knowledge flows, spillover_decay_km; search is local,"
           " as patent citations are"
       " (Jaffe, Trajtenberg & Henderson 1993); 5000: nearly uniform over JJJ's results, the rule before)"),
       group="transfer"),
    _P("outside_supply_share", "Share of the offers a JJJ firm examines that come from the rest of China",
       "share", 0.305, (0, 0.95), "uncertainty",
       _cal(0.0619, "0.22 (MSM E5-msm-20261203-6136b028, before the reach net of the pipeline's"
           " composition of issue 10); "
           "0.315 (MSM E5-msm-20261203-cc683537, before the TFP frontier of issue 10); "
           "0.265 (MSM E5-msm-20261202-43ed3b30, before the buyer-sized contracts, start-up budgets and"
           " regional demand convergence of issue 10); "
           "0.682 (MSM E5-msm-20261201-542721ff, before the subsidiaries' own-region demand of issue"
           " 10); 0.357 (MSM E5-msm-20261201-3ff0e413, before the Hebei revision of issue 10); 0.5 (assumption: "
                    "Outside holds ~80% of China's technology-contract market, JJJ"
            " ~20%, NBS 2024 row of jjj_statistics.csv; distance and quality then decide how many are taken)"),
       group="transfer"),
    _P("tech_market_growth", "Growth of the technology-market index M(t)", "per quarter", 0.029, (0, 0.05),
       "uncertainty",
       "derived: China's technology-contract turnover per GDP, 1.33% in 2014 to 2.78% in 2020 (MOST annual"
       " technology-market statistics 8,577 and 28,252 亿元; NBS GDP 643,563 and 1,015,986 亿元), 12.3%/yr;"
       " bounds 0 to 22%/yr, 1.7 times the observed rate (at the former upper bound 0.08 the exogenous index alone"
       " grew 24.5x in 40 quarters, so contract value ran past 20x at 43 corners of the box, issue 10)",
       group="transfer"),
    _P("demand_absorptive_elasticity", "Elasticity of a firm's technology budget in its absorptive capacity",
       "-", 2.39, (0, 3), "uncertainty",
       _cal(0.759, "2.69 (MSM E5-msm-20261203-6136b028, before the reach net of the pipeline's"
           " composition of issue 10); "
           "2.536 (MSM E5-msm-20261203-cc683537, before the TFP frontier of issue 10); "
           "1.915 (MSM E5-msm-20261202-43ed3b30, before the buyer-sized contracts, start-up budgets and"
           " regional demand convergence of issue 10); "
           "3 (MSM E5-msm-20261201-542721ff, before the subsidiaries' own-region demand of issue 10);"
           " 0.671 (MSM E5-msm-20261201-3ff0e413, before the Hebei revision of issue 10); 1 (assumption: "
                   "Cohen & Levinthal 1990, absorptive capacity raises the"
            " demand for external knowledge; unit elasticity)")
       + "; searched within [0, 3] (the fit E5-msm-20261201-542721ff ended at its upper bound 3)", group="transfer"),
    _P("contract_size_market_share", "Share of the technology market's deepening that comes as larger contracts",
       "-", 0.82, (0, 1), "uncertainty",
       "derived: China 2014-2020, mean contract value 0.0289 -> 0.0514 亿元 (+10.1%/yr; MOST technology-market"
       " statistics: 297,037 contracts for 8,577 亿元 and 549,353 for 28,252 亿元) against turnover per GDP"
       " +12.3%/yr", group="transfer"),
    _P("contract_size_convergence", "Speed at which a seller region's mean contract size closes its gap to"
       " Beijing's", "per year", 0.309, (0, 2), "uncertainty",
       "estimated: non-linear least squares of ln s_r,t = ln s_r,2014 exp(-kappa (t - 2014)), s the region's"
       " mean contract value (tech_contract_turnover_output / tech_contract_count_output) over Beijing's,"
       " Tianjin and Hebei 2014-2020 (jjj_statistics.csv; Hebei 0.19 -> 0.99, Tianjin 0.56 -> 1.50), s.e. 0.054;"
       " 2021-2023 not used", group="transfer"),
    _P("demand_convergence", "Speed at which a buyer region's technology-purchase intensity closes its gap to"
       " Beijing's", "per year", _reg(Beijing=0.0, Tianjin=0.0, Hebei=0.069), (0, 0.5), "uncertainty",
       "estimated region by region: non-linear least squares of ln i_r,t = ln i_r,2014 exp(-lambda_r (t - 2014)),"
       " i the region's absorbed contract turnover per unit of GDP (tech_contract_turnover_absorbed /"
       " gdp_implied_by_rd_bulletin) over Beijing's, 2014-2020 (jjj_statistics.csv; Hebei -2.42 -> -1.49 in logs,"
       " 0.069 s.e. 0.011; Tianjin -0.98 -> -0.68 with no trend before 2020, -0.007 s.e. 0.023, at the bound 0;"
       " one rate for both, 0.056 s.e. 0.013, held Hebei's 2020 purchases 31 % below the statistics and raised"
       " Tianjin's growth 5 points a year above them); Beijing has no gap; 2021-2023 not used",
       per="region", group="transfer"),
    _P("reach_convergence", "Speed at which a seller region's technology-market reach (contracts per result on"
       " offer) closes its gap to Beijing's", "per year", _reg(Beijing=0.0, Tianjin=0.099, Hebei=0.096), (0, 0.5),
       "uncertainty", "estimated (experiments/calibration/gaps.py): non-linear least squares of ln a_r,t = ln a_r,2014"
       " exp(-rate (t - 2014)), a the region's contracts by seller per granted invention patent over Beijing's"
       " (tech_contract_count_output / patents_granted_invention, 2014-2020, jjj_statistics.csv) divided by the"
       " model's results on offer per result made over Beijing's (platform.offer_share: 1.42x Tianjin, 1.43x"
       " Hebei); Hebei -1.08 -> -0.49 in logs, 0.096 s.e. 0.031; Tianjin's net gap, 0.11 -> -0.03, is within its"
       " noise (own rate at the bound 0.5, s.e. 1.25), so it takes the joint rate of both, 0.099 s.e. 0.031;"
       " before: contract_size_convergence (0.309) for both; 2021-2023 not used", per="region", group="transfer"),
    _P("initial_budget_quarters", "Mean technology budget a firm present at the start holds, in quarters of its"
       " accrual", "quarters", 4.0, (0, 12), "uncertainty",
       "derived: the model's own stationary stock (unspent budget over quarterly accrual, historical run at"
       " the end of 2020, contract values following the buyer's size: 3.7-4.6 by region), so that the run starts"
       " where the market"
       " settles instead of spending its first year building budgets up; drawn uniform on [0, 2x this]",
       group="transfer"),
    _P("contract_buyer_elasticity", "Elasticity of a contract's value in the buyer's value added (relative to its"
       " region's firms)", "-", 1.0, (0, 1), "uncertainty",
       "assumption: royalty pricing, a licence's payments are a share of the licensee's sales of the product (the"
       " royalty base; Arora, Fosfuri & Gambardella 2001, Markets for Technology, ch. 6), so a contract's value is"
       " proportional to the buyer's size (elasticity 1); 0 is a value independent of the buyer", group="transfer"),
    _P("contract_size_sd", "Dispersion of technology-contract values", "log sd", 1.2, (0, 2.5), "uncertainty",
       A + " (many small contracts and a few large: the mean is exp(sd^2/2) = 2 x the median)",
       group="transfer"),
    _P("adopt_intercept", "Adoption logit intercept", "logit", 0.224, (-8, 2), "uncertainty",
       _cal(0.494, "0.425 (MSM E5-msm-20261203-cc683537, before the TFP frontier of issue 10); "
           "1.352 (MSM E5-msm-20261202-43ed3b30, before the buyer-sized contracts, start-up budgets and"
           " regional demand convergence of issue 10); "
           "2 (MSM E5-msm-20261201-542721ff, before the subsidiaries' own-region demand of issue 10);"
           " 1.377 (MSM E5-msm-20261201-3ff0e413, before the Hebei revision of issue 10); -1 (assumption); "
                   "weakly identified; at the upper bound 2 of the fit E5-msm-20261201-542721ff firms signed"
            " most offers they examined, before contracts were sized by their buyer")
       + "; searched within [-4, 2]",
       group="transfer"),
    _P("adopt_quality", "Adoption logit weight of ln(quality)", "logit", 1.0, (0, 4), "uncertainty", A,
       group="transfer"),
    _P("adopt_trl", "Adoption logit weight per TRL above market-ready", "logit", 0.4, (0, 2), "uncertainty", A,
       group="transfer"),
    _P("adopt_absorptive", "Adoption logit weight of absorptive capacity", "logit", 1.5, (0, 5), "uncertainty",
       "Cohen & Levinthal 1990 (sign); value assumption", group="transfer"),
    _P("adopt_novelty", "Learning value of cognitive distance (inverted U scale)", "logit", 2.0, (0, 6),
       "uncertainty", "Nooteboom et al. 2007 (inverted U); value assumption", group="transfer"),
    _P("adopt_fit", "Adoption logit weight of sector fit, times chain integration", "logit", 3.0, (0, 8),
       "uncertainty", A, group="transfer"),
    _P("adopt_distance", "Adoption logit weight of ln(1 + km)", "logit", 0.25, (0, 2), "uncertainty", A,
       group="transfer"),
    _P("adopt_barrier", "Adoption logit weight of the barrier", "logit", 5.313, (0, 10), "uncertainty",
       _cal(0.822, "5.604 (MSM E5-msm-20261203-cc683537, before the TFP frontier of issue 10); "
           "5.687 (MSM E5-msm-20261202-43ed3b30, before the buyer-sized contracts, start-up budgets and"
           " regional demand convergence of issue 10); "
           "1.972 (MSM E5-msm-20261201-542721ff, before the subsidiaries' own-region demand of issue"
           " 10); 5.029 (MSM E5-msm-20261201-3ff0e413, before the Hebei revision of issue 10); 1.322 (MSM "
                  "E5-msm-20261127-00c66744 on model v1; 4 before that, an assumption);"
            " weakly identified"), group="transfer"),
    _P("service_platform_effect", "Cross-region match boost of a sector's service platforms", "logit", 1.0, (0, 4),
       "uncertainty", A, group="transfer"),
    _P("service_platform_half", "Service platforms for half the full effect", "platforms", 2.0, (0.1, 10),
       "uncertainty", A, group="transfer"),
    _P("demo_anchor", "Adoption boost in the region of the demo base that piloted a result", "logit", 1.0, (0, 4),
       "uncertainty", A, group="transfer"),
    # ---- 4. Investment ---------------------------------------------------------------------------------------
    _P("funding_boost", "Adoption boost when a fund backs the deal", "logit", 1.0, (0, 4), "uncertainty", A,
       group="funds"),
    # ---- 3. Transfer -----------------------------------------------------------------------------------------
    _P("contract_value_unit", "Mean value of one technology contract on a result of quality 1 at market-ready TRL,"
       " Beijing 2014", "100m CNY at scale 1", 0.0466, (0.005, 1), "uncertainty",
       "derived: Beijing 2014, 3,137.2 亿元 over 67,284 contracts (jjj_statistics.csv). A run starting later begins"
       " at this times Beijing's observed mean contract value of its start year over 2014's; M(t)^s then carries"
       " the growth. (The earlier 0.07, a 2014-2020 mean, counted that growth twice from a 2014 start: Beijing's"
       " mean contract in the model's 2020 was 0.12 against 0.075 observed.)", group="transfer"),
    _P("recertification_cost", "Re-certification cost of a cross-region contract", "share of value", 0.15, (0, 0.5),
       "uncertainty", A, group="transfer"),
    # ---- Regions ---------------------------------------------------------------------------------------------
    _P("recognition_barrier_cut", "Barrier removed by full mutual recognition", "-", 0.5, (0, 1), "uncertainty", A,
       group="regions"),
    # ---- 3. Transfer -----------------------------------------------------------------------------------------
    _P("outside_adoption", "Chance an expiring market-ready result is licensed Outside", "-", 0.3, (0, 1),
       "uncertainty", A, group="transfer"),
    _P("outside_demand", "Contracts per quarter the rest of China signs on a JJJ result on offer", "contracts",
       11.839, (0, 50), "uncertainty",
       _cal(0.784, "10.478 (MSM E5-msm-20261203-cc683537, before the TFP frontier of issue 10); "
           "11.972 (MSM E5-msm-20261202-43ed3b30, before the buyer-sized contracts, start-up budgets and"
           " regional demand convergence of issue 10); "
           "15.576 (MSM E5-msm-20261201-542721ff, before the subsidiaries' own-region demand of issue"
           " 10); 11.12 (MSM E5-msm-20261201-3ff0e413, before the Hebei revision of issue 10); 8 (assumption: "
                  "Poisson mean at the start, times min(quality, 1) and M(t); Beijing sold"
            " ~3,100 亿元 in 2014, most of it beyond JJJ: 4.6% went to Tianjin+Hebei in 2014-2020)"), group="transfer"),
    _P("productivity_gain", "TFP gain per unit of log(1 + technology bought / value added)", "-", 0.1, (0, 1),
       "uncertainty", A + " (times quality, absorptive capacity, chain fit and the firm's distance to the TFP"
       " frontier, frontier_gap)", group="transfer"),
    _P("frontier_gap", "Best-practice TFP the firms can reach by buying technology, over the start-year mean",
       "x", 2.5, (1.2, 5), "uncertainty",
       A + " (catch-up to a frontier: the gain of bought technology shrinks with the firm's TFP over the"
       " frontier's, 1 - A/F, Nelson & Phelps 1966, Griffith, Redding & Van Reenen 2004; 2.5 times the start-year"
       " mean, about the spread of firm TFP within narrow industries, Syverson 2011: the 90th-percentile plant"
       " makes about twice the output of the 10th with the same inputs in the US, more in China, Hsieh & Klenow"
       " 2009; bounds 1.2 to 5, assumption. Without the frontier TFP compounded without bound: all firms' mean"
       " TFP 2.2x in 40 quarters at the defaults, 11,000x at a corner of the box, issue 10)", group="transfer"),
    _P("frontier_growth", "Growth of the TFP frontier", "per year", 0.01, (0, 0.03), "uncertainty",
       A + " (the pace at which best-practice technology moves on, about the long-run TFP growth of frontier"
       " economies, ~1%/yr)", group="transfer"),
    _P("relocation_rate", "Relocation hazard of a Beijing firm at full relocation push", "per quarter", 0.005,
       (0, 0.05), "uncertainty",
       A + " (at the default push 0.3, 0.6% of Beijing's high-tech firm agents a year; Beijing moved out ~3,000"
       " general manufacturing firms in 2014-2020, mostly not high-tech)", group="firms"),
    _P("partner_search_share", "Share of a firm's JJJ offers it takes from its partner platforms", "share", 0.3,
       (0, 1), "uncertainty", A + " (partners are looked at first: SKIN, Gilbert, Ahrweiler & Pyka 2001)",
       group="transfer"),
    _P("partner_trust", "Adoption logit weight of ln(1 + tie strength) with the seller's platform", "logit", 0.5,
       (0, 3), "uncertainty", A + " (embedded ties lower the cost of a deal: Uzzi 1996)", group="transfer"),
    _P("partner_decay", "Decay of firm-platform ties", "per quarter", 0.1, (0, 0.5), "uncertainty",
       A + " (a tie not renewed fades to half in about 7 quarters)", group="transfer"),
    _P("partner_network_rate", "Firm-platform ties formed per collaborator of the firm's staff in another region",
       "per quarter", 0.02, (0, 0.5), "uncertainty",
       A + " (the talent network's ties bring firms in touch with that region's platforms)", group="transfer"),
    _P("subsidiary_size", "Size of a subsidiary relative to its parent", "share", 0.2, (0.01, 1), "structural",
       A + " (a branch or subsidiary in another region is a smaller unit than its headquarters)",
       group="firms"),
    _P("subsidiary_barrier_cut", "Share of the barrier a subsidiary does not face buying from its parent's region",
       "-", 0.5, (0, 1), "uncertainty", A + " (the group's own channel: parent firms source for their branches)",
       group="firms"),
    _P("labour_elasticity", "Elasticity of firm output in R&D staff at the staffing norm", "-", 0.15, (0, 0.5),
       "uncertainty", "Hall, Mairesse & Mohnen 2010 (Handbook of the Economics of Innovation): output"
       " elasticity of R&D 0.1-0.2", group="firms"),
    # ---- 4. Investment ---------------------------------------------------------------------------------------
    _P("fund_deploy_rate", "Share of uninvested capital a fund may deploy per quarter", "per quarter", 0.05, (0, 0.3),
       "uncertainty", A, group="funds"),
    _P("collab_fund_deploy_rate", "Share of the collaborative fund's uninvested capital it deploys per quarter",
       "per quarter", 0.2, (0, 1), "uncertainty",
       "derived: the Guotou JJJ technology-transfer VC fund (MOST + Beijing, Tianjin, Hebei), paid in by 2018, had"
       " invested 9.43 of its 10 (100m CNY) by end-2020 (jjj_statistics.csv): 94% in 12 quarters, 1 - 0.057^(1/12)"
       " = 0.21 a quarter", group="funds"),
    _P("fund_ticket", "Fund investment per backed technology-transfer project", "100m CNY at scale 1", 0.41,
       (0.01, 10), "uncertainty",
       "derived: the Guotou JJJ technology-transfer VC fund invested 9.43 (100m CNY) in 23 projects by end-2020"
       " (jjj_statistics.csv): 0.41 a project", group="funds"),
    _P("crowd_in", "Private money drawn in per public yuan", "CNY per CNY",
       _reg(Beijing=0.88, Tianjin=0.9, Hebei=0.93), (0, 3), "uncertainty",
       "SSRN 3221997: crowd-in 0.88-0.93, higher in less-developed regions", per="region", group="funds"),
    _P("holding_period", "Quarters from investment to exit", "quarters", 20, (4, 60), "uncertainty",
       A + " (5-year VC holding period)", kind="int", group="funds"),
    _P("exit_success", "Base chance that a backed deal exits successfully", "-", 0.35, (0, 1), "uncertainty", A,
       group="funds"),
    _P("exit_multiple", "Proceeds per yuan invested in a successful exit", "x", 3.0, (1, 10), "uncertainty", A,
       group="funds"),
    _P("cross_region_success_penalty", "Loss of success chance per unit barrier for cross-region deals", "-", 0.8,
       (0, 2), "uncertainty", A, group="funds"),
    _P("management_fee", "Management fee", "share of capital per quarter", 0.005, (0, 0.02), "uncertainty",
       "2% a year, the usual VC fee (assumption)", group="funds"),
    _P("guidance_fund_capital", "Regional guidance fund capital", "100m CNY",
       _reg(Beijing=200.0, Tianjin=80.0, Hebei=100.0), (0, 5000), "structural",
       "Hebei 100 = Hebei PPP JJJ coordinated-development fund (2017, jjj_statistics.csv); others assumption",
       per="region", group="funds"),
    _P("private_vc_capital", "Private VC capital", "100m CNY", _reg(Beijing=400.0, Tianjin=60.0, Hebei=30.0),
       (0, 5000), "structural", A, per="region", group="funds"),
    # ---- 5. Firms --------------------------------------------------------------------------------------------
    _P("firm_rd_share", "Share of value added spent on R&D", "-", 0.05, (0, 0.3), "uncertainty", A, group="firms"),
    _P("firm_margin", "Cash margin on value added", "-", 0.12, (0, 0.5), "uncertainty", A, group="firms"),
    _P("firm_entry_rate", "Market entry per firm per quarter at low density (founding rate rho)", "per quarter",
       0.08, (0, 0.1), "uncertainty",
       A + " (tuned by hand on the historical run to the JJJ high-tech enterprise stock of 2020, 47,383 in"
       " jjj_statistics.csv: about 44,400 firms, as before; 0.02 before density dependence, issue 10)", group="firms"),
    _P("firm_shock_sd", "Quarterly productivity shock", "log sd", 0.1, (0, 0.5), "uncertainty", A, group="firms"),
    _P("spinoff_rate", "Spin-offs per adopted result, times (1 + climate)", "-", 0.05, (0, 0.5), "uncertainty", A,
       group="firms"),
    _P("firm_capacity", "Carrying capacity of a region for its own firms at the start, relative to them",
       "x", 2.2, (1.5, 2.5), "uncertainty",
       A + " (room for about as many firms again as the start year's; the upper bound keeps every corner of the box"
       " within the 20x of tests/model/test_corners.py in 40 quarters)", group="firms"),
    _P("firm_capacity_elasticity", "Elasticity of the carrying capacity in the technology-market index M(t)", "-",
       0.21, (0.0, 0.3), "uncertainty",
       "derived: China 2014-2020, technology contracts per unit of GDP grew as M(t)^0.21 (MOST technology-market"
       " statistics: 297,037 and 549,353 contracts; NBS GDP 643,563 and 1,015,986 100m CNY; M: turnover per GDP"
       " 1.33% to 2.78%), the part of the market's deepening that comes as more deals rather than larger ones"
       " (1 - contract_size_market_share); that a region's room for firms grows with its deals is an assumption",
       group="firms"),
    _P("branch_intercept", "Branch-opening logit intercept (per quarter)", "logit", -4.466, (-12, 0), "uncertainty",
       _cal(0.198, "-4.387 (MSM E5-msm-20261203-cc683537, before the TFP frontier of issue 10); "
           "-4.215 (MSM E5-msm-20261202-43ed3b30, before the buyer-sized contracts, start-up budgets and"
           " regional demand convergence of issue 10); "
           "-4.686 (MSM E5-msm-20261201-542721ff, before the subsidiaries' own-region demand of issue"
           " 10); -3.883 (MSM E5-msm-20261201-3ff0e413, before the Hebei revision of issue 10); -3.977 (MSM on "
                  "model v1); -4.5 (assumption, set by hand to the growth of ZGC branches in TJ/HB,"
            " 6,149 in 2017 to 8,816 in"
            " 2020)"), group="firms"),
    _P("branch_cost_gap", "Branch logit weight of the cost-of-living gap", "logit", 2.0, (0, 6), "uncertainty", A,
       group="firms"),
    _P("branch_demo_access", "Branch logit weight of demo-base pilot slots per local firm", "logit", 5.0, (0, 20),
       "uncertainty", A, group="firms"),
    # ---- 6. Talent -------------------------------------------------------------------------------------------
    _P("decide_share", "Share of talents who re-decide each quarter", "per quarter", 0.25, (0, 1), "structural",
       "model-spec §4.6: an annual decision", group="talent"),
    _P("beta_wage", "Utility weight of ln(wage x skill)", "utils", 2.0, (0, 8), "uncertainty",
       A + " (scale of the logit)", group="talent"),
    _P("beta_distance", "Utility weight of ln(1 + km/100 moved)", "utils", 3.0, (0, 12), "uncertainty",
       "Zhang & Zhao 2013, IZA DP 7160: beta_d / beta_w ~ 1.5", group="talent"),
    _P("beta_incentive", "Utility per 10k CNY/yr of incentive", "utils", 0.1, (0, 1), "uncertainty",
       "derived: beta_wage / W0, the marginal utility of income at an R&D wage W0 = 20 (10k CNY/yr, "
       "assumption)",
       group="talent"),
    _P("incentive_pull", "Regional pull of talent policy (kappa)", "-", _reg(Beijing=0.3, Tianjin=1.0, Hebei=1.0),
       (0, 2), "uncertainty", "Chen & Li 2022: talent policies pull weakly in first-tier cities", per="region",
       group="talent"),
    _P("beta_cost", "Utility weight of ln(cost of living)", "utils", 0.5, (0, 3), "uncertainty", A, group="talent"),
    _P("beta_amenity", "Utility weight of amenity", "utils", 1.0, (0, 3), "uncertainty", A, group="talent"),
    _P("beta_home", "Utility cost of living away from the hukou region", "utils", 0.8, (0, 3), "uncertainty", A,
       group="talent"),
    _P("beta_ties", "Utility weight of ln(1 + ties in region)", "utils", 0.4, (0, 2), "uncertainty",
       "Agrawal et al. 2006 (ties persist after a move); value assumption", group="talent"),
    _P("stay_bonus", "Alternative-specific constant for staying", "utils", 1.0, (0, 8), "uncertainty",
       A + " (hand-set: ~0.5% of talents change region a year, a third of them leaving JJJ)", group="talent"),
    _P("network_moving_cut", "Moving cost removed by a full talent network", "-", 0.5, (0, 1), "uncertainty", A,
       group="talent"),
    _P("tie_formation", "Cross-region ties formed per talent per quarter with a full network", "ties", 0.2, (0, 2),
       "uncertainty", A, group="talent"),
    _P("dual_appointment_rate", "Chance per quarter of a dual appointment with a full network", "-", 0.05, (0, 0.5),
       "uncertainty", A, group="talent"),
    _P("wage", "Wage level", "relative to Beijing", {"Beijing": 1.0, "Tianjin": 0.8, "Hebei": 0.62, "Outside": 0.75},
       (0.1, 3), "uncertainty", A, per="region4", group="talent"),
    _P("cost_of_living", "Cost of living", "relative to Beijing",
       {"Beijing": 1.0, "Tianjin": 0.6, "Hebei": 0.45, "Outside": 0.6}, (0.1, 3), "uncertainty", A, per="region4",
       group="talent"),
    _P("amenity", "Amenity", "utils", {"Beijing": 0.6, "Tianjin": 0.2, "Hebei": 0.0, "Outside": 0.4}, (-2, 2),
       "uncertainty", A, per="region4", group="talent"),
    _P("outside_alternatives", "Provinces the Outside alternative stands for", "regions", 28, (1, 40), "structural",
       "31 mainland provincial units less Beijing, Tianjin, Hebei", kind="int", group="talent"),
    _P("wage_productivity_elasticity", "Wage response to regional productivity", "-", 0.5, (0, 1), "uncertainty", A,
       group="talent"),
    _P("retirement_rate", "Talent exits per quarter", "per quarter", 0.007, (0, 0.05), "uncertainty",
       A + " (35-year career)", group="talent"),
    _P("talent_growth", "Net growth of the R&D workforce (entries above exits)", "per quarter", 0.0061, (-0.02, 0.05),
       "uncertainty", "derived: OLS log-linear trend of JJJ R&D personnel FTE 2014-2020 (459,665 -> 551,978,"
       " jjj_statistics.csv), 2.45%/yr; each region adds its own deviation from that trend, derived the same way at"
       " set-up (Beijing +2.9, Tianjin -7.6, Hebei -0.1 points a year)", group="talent"),
    _P("autonomy_hiring", "Hiring priority of full autonomy (wage flexibility)", "-", 1.0, (0, 5), "uncertainty", A,
       group="talent"),
    _P("tie_decay", "Decay of collaboration ties", "per quarter", 0.02, (0, 0.2), "uncertainty", A, group="talent"),
    _P("dual_end_rate", "Chance per quarter that a dual appointment ends", "per quarter", 0.1, (0, 1), "uncertainty",
       A, group="talent"),
    # ---- 5. Firms --------------------------------------------------------------------------------------------
    _P("firm_fixed_cost", "Fixed cost per quarter as a share of entry value added", "-", 0.07, (0, 0.2),
       "uncertainty", A, group="firms"),
    _P("branch_barrier", "Branch logit weight of the barrier", "logit", 3.0, (0, 10), "uncertainty", A,
       group="firms"),
    # ---- 7. Evaluation ---------------------------------------------------------------------------------------
    _P("evaluation_budget_change", "Budget change for top / bottom platforms (g)", "share", 0.1, (0, 0.5),
       "uncertainty", A, group="evaluation"),
    _P("evaluation_top_share", "Share of platforms rewarded", "-", 0.3, (0, 0.5), "structural", "model-spec §4.7",
       group="evaluation"),
    _P("evaluation_bottom_share", "Share of platforms sent to rectification", "-", 0.1, (0, 0.5), "structural",
       "6 of 64 labs in the 2018 round (model-spec §4.7)", group="evaluation"),
    _P("evaluation_quality_weight", "Weight on quality and transformation, differentiated regime", "-", 0.7, (0, 1),
       "uncertainty", A, group="evaluation"),
    _P("effort_adjustment", "Speed of effort adjustment toward what evaluation rewards", "per round", 0.3, (0, 1),
       "uncertainty", A, group="evaluation"),
    # ---- 8. Culture ------------------------------------------------------------------------------------------
    _P("culture_decay", "Decay of the entrepreneurial climate", "per quarter", 0.05, (0, 0.5), "uncertainty", A,
       group="culture"),
    _P("culture_risk_appetite", "Fund deployment gained per unit of climate", "-", 0.5, (0, 3), "uncertainty", A,
       group="culture"),
    # ---- Public cost of measures (issue 10) ------------------------------------------------------------------
    # Each index-like lever is reached through an outlay (model/costs.py); a measure is charged for its dose
    # above the lever's registry default (the baseline), so the baseline's public cost is that of before.
    _P("barrier_cut_cost", "Administrative cost of cutting a barrier below its default", "100m CNY/yr per unit cut"
       " per region pair", 20.0, (0, 500), "uncertainty",
       A + " (joint offices, one-window services and data exchange between two governments: 2 (100m CNY) a year"
       " per 0.1 of barrier removed)", group="cost"),
    _P("recognition_cost", "Cost of standards-recognition agreements above the default", "100m CNY/yr per unit",
       20.0, (0, 500), "uncertainty",
       A + " (drafting and keeping joint JJJ regional standards and mutual certification: about 2 (100m CNY) a year"
       " per 0.1 of recognition)", group="cost"),
    _P("alignment_office_cost", "Coordination office for aligning projects above the default", "100m CNY/yr per"
       " unit", 10.0, (0, 500), "uncertainty", A + " (a joint planning office and joint project calls)",
       group="cost"),
    _P("instrument_subsidy", "Subsidy per platform-equivalent of instrument capacity shared above the default",
       "100m CNY/yr per platform-equivalent", 0.2, (0, 5), "uncertainty",
       A + " (instrument vouchers of the kind of Beijing's innovation vouchers, recognised across JJJ: about"
       " 75,000 instrument-hours a year of a key lab at 250 CNY an hour)", group="cost"),
    _P("chain_programme_cost", "Chain-integration programme cost above the default", "100m CNY/yr per unit", 25.0,
       (0, 500), "uncertainty",
       A + " (chain-leader programmes, matching events and pilot-application support for the key chains)",
       group="cost"),
    _P("tie_cost", "Cost per cross-region tie formed above the default network", "10k CNY per FTE tie", 0.2, (0, 20),
       "uncertainty", A + " (an exchange, training or joint workshop place)", group="cost"),
    _P("dual_appointment_cost", "Salary supplement per dual appointment above the default network",
       "10k CNY/yr per FTE", 5.0, (0, 100), "uncertainty",
       A + " (a quarter of a 20 (10k CNY/yr) R&D wage for the phi = 0.2 share of effort given to the other region)",
       group="cost"),
    _P("evaluation_review_cost", "Extra cost of a differentiated (peer-review) evaluation per platform",
       "100m CNY per platform evaluated", 0.02, (0, 1), "uncertainty",
       A + " (expert panels and site visits, about 2 million CNY per platform and round, over a count-based"
       " review)", group="cost"),
    _P("culture_programme_cost", "Entrepreneurship-programme spending per unit of learning rate above the default",
       "100m CNY/yr per unit (JJJ)", 50.0, (0, 1000), "uncertainty",
       A + " (incubators, entrepreneurship contests and training in the three regions)", group="cost"),
    _P("relocation_programme_cost", "Relocation programme for Beijing's non-capital functions above the default",
       "100m CNY/yr per unit", 100.0, (0, 2000), "uncertainty",
       A + " (relocation subsidies, land, housing and schools for moved headquarters and staff)", group="cost"),
    _P("cultivation_cost", "Firm-cultivation drive above the default, per region", "100m CNY/yr per unit", 20.0,
       (0, 500), "uncertainty",
       A + " (rewards for newly certified high-tech firms, of the order of 0.1-0.3 million CNY each at city and"
       " province level, plus incubation and certification services: about 2 (100m CNY) a year per 0.1 of the"
       " niche)", group="cost"),
    _P("incentive_years", "Years a mover-targeted talent subsidy is paid after arrival", "years", 3.0, (0.25, 10),
       "structural",
       A + " (three years, the usual length of the rent and living subsidies of city talent schemes for arrivals;"
       " a design choice of the policy, used only when talent_incentive_target = movers)", group="talent"),
    _P("vacancy_expansion", "Extra vacancies a profitable firm posts per quarter when talent is unemployed",
       "share of its staff", 0.05, (0, 0.5), "uncertainty",
       A + " (firms whose productivity exceeds the wage cost take on part of an unemployed pool, JJJModel.vacancies)",
       group="talent"),
    # ---- Bounded dynamics (issue 10) -------------------------------------------------------------------------
    # Constants of ODD §5.4 moved here, and the parameters of the rules that keep every loop bounded (ODD §7.1,
    # §7.2, §7.7, §7.8).
    _P("knowledge_decay", "Depreciation of regional knowledge stocks", "per quarter", 0.05, (0.025, 0.1),
       "uncertainty",
       A + " (a 5-year memory; was setup.KNOWLEDGE_DECAY). Hall, Jaffe & Trajtenberg 2005 depreciate patent stocks"
       " by 15 %/yr (0.04 a quarter); bounds 10-34 %/yr", group="research"),
    _P("knowledge_reference_adjustment", "Speed at which the spillover reference follows the JJJ knowledge stock",
       "per quarter", 0.05, (0.025, 0.25), "uncertainty",
       A + " (the reference K_ref of S_r moves with the stock's own trend, so knowledge raises output through the"
       " regions' relative stocks rather than compounding; 0.05: the 5-year memory of knowledge_decay)",
       group="research"),
    _P("efficiency_persistence", "Quarterly persistence of a platform's efficiency draw (AR(1) rho)", "per quarter",
       0.95, (0, 0.99), "uncertainty",
       "Foster, Haltiwanger & Syverson 2008: annual persistence of plant productivity ~0.8 (0.8^(1/4) = 0.95 a"
       " quarter); value for platforms assumption", group="research"),
    _P("duplication_overlap_scale", "Same-field platforms elsewhere at which duplication reaches 63 % of its"
       " maximum", "platforms", 5.0, (1, 20), "uncertainty",
       A + " (overlap 1 - exp(-n_other / scale); was the constant 5 in platform.duplication)", group="research"),
    _P("expertise_max", "Ceiling of field expertise (E_max)", "-", 1.0, (0.25, 3), "uncertainty",
       A + " (expertise at most doubles a base's piloting resources and a platform's result quality at the default;"
       " learning curves flatten: Argote, Beckman & Epple 1990)", group="piloting"),
    _P("expertise_decay", "Depreciation of field expertise", "per quarter", 0.025, (0, 0.2), "uncertainty",
       "Argote, Beckman & Epple 1990: organisational knowledge from learning by doing depreciates; value"
       " assumption (half-life about 7 years)", group="piloting"),
    _P("evaluation_reversion", "Share of a budget's deviation from its exogenous path undone at each evaluation",
       "per round", 0.5, (0.1, 1), "uncertainty",
       A + " (rewards and cuts of one round are halved by the next: no permanent winners; 1 = each round starts"
       " from the exogenous path)", group="evaluation"),
]

STRUCTURE_LIST: list[Param] = [
    # ---- Run set-up and scale --------------------------------------------------------------------------------
    _P("start_year", "Start year", "year", 2023, (2014, 2023), "structural", "years covered by jjj_statistics.csv",
       kind="int", group="run"),
    _P("steps", "Run length", "quarters", 40, (1, 400), "structural", "model-spec §2: 10 years", kind="int",
       group="run"),
    _P("scale", "Agent-count multiplier", "x", 1.0, (0.01, 50), "structural",
       A + " (1.0 gives ~19,000 agents in 2023; 50 about a million, bench/bench_scaling.py)", group="run"),
    _P("talent_unit", "R&D FTE per talent agent at scale 1", "FTE", 50, (1, 10000), "structural", A, kind="int",
       group="run"),
    _P("firm_unit", "High-tech enterprises per firm agent at scale 1", "firms", 10, (1, 1000), "structural", A,
       kind="int", group="run"),
    _P("patent_propensity_growth", "Growth of invention patents granted per invention (result)", "per year",
       0.0614, (0, 0.15), "uncertainty",
       "derived: China's domestic invention patents granted per 100m CNY of R&D expenditure, 12.50 in 2014 (162,680"
       " grants, CNIPA annual report; 13,015.6 100m CNY, NBS S&T expenditure communique) to 18.07 in 2020 (440,691;"
       " 24,393.1), 6.1%/yr: the rising propensity to patent of Chinese inventors (Hu & Jefferson 2009, J. Dev."
       " Econ. 90: pro-patent policy and ownership reform). A measurement equation: it converts results into"
       " granted patents in the outputs compared with the statistics (experiments/calibration/moments.py) and"
       " changes nothing in the dynamics", group="run"),
    _P("result_unit", "Invention patents per result record at scale 1", "patents", 50, (1, 10000), "structural", A,
       kind="int", group="run"),
    _P("eng_centers", "Engineering and technology centres", "platforms", _reg(Beijing=120, Tianjin=75, Hebei=60),
       (0, 1000), "structural",
       "Tianjin 75 = 12 national engineering research centres + 63 national enterprise technology centres "
       "(Tianjin 2019 bulletin, jjj_statistics.csv); Beijing and Hebei assumption",
       per="region", kind="int", group="research"),
    _P("timeline", "Policy timeline: dated lever changes", "dated changes", [], None, "structural",
       "scenario files: dated lever changes (docs/ODD.md §7.0)", kind="timeline", group="run"),
]
# fmt: on


REGISTRY: dict[str, Param] = {p.name: p for p in (*LEVER_LIST, *BEHAVIOUR_LIST, *STRUCTURE_LIST)}
"""Every lever and parameter, by name."""
LEVERS: dict[str, Param] = {n: p for n, p in REGISTRY.items() if p.role == "lever"}
"""The policy levers, by name."""
