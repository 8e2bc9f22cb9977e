"""Labels and units of every output: the per-region series, the model-level series and the run summary.

The figures, the report and the app take their axis titles from here (and lever labels from the parameter
registry), so a name is spelled one way everywhere. 亿元 is 100 million CNY, the unit of the statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

from .regions import REGIONS


@dataclass(frozen=True)
class Indicator:
    """What an output measures: a short label for axes and legends, its unit, and higher-is-better or not."""

    name: str
    label: str
    unit: str
    better: int = 1
    """+1 if more is better, -1 if less is better, 0 if neither (a level, or a matter of judgement)."""


def _table(rows: list[tuple[str, str, str, int]]) -> dict[str, Indicator]:
    return {name: Indicator(name, label, unit, better) for name, label, unit, better in rows}


COST_LABELS: dict[str, str] = {  # the outlays of model/costs.py (cost.<key>; the test of labels keeps them in step)
    "incentives": "talent incentives",
    "public_funds": "public fund deals",
    "shared_labs": "shared key labs",
    "demo_bases": "demonstration bases",
    "service_platforms": "service platforms",
    "barrier": "barrier reduction",
    "standards_recognition": "standards recognition",
    "project_alignment": "project alignment",
    "instrument_sharing": "instrument-sharing subsidy",
    "chain_integration": "chain integration",
    "talent_network": "talent network",
    "autonomy": "autonomy (oversight given up, no money)",
    "evaluation_regime": "platform evaluation",
    "culture_learning_rate": "entrepreneurship programmes",
    "capital_function_relocation": "relocation of non-capital functions",
    "firm_cultivation": "firm cultivation",
}

# fmt: off
SERIES: dict[str, Indicator] = _table([  # per step and region (metrics.REGION_INDICATORS)
    ("talent", "Talent agents", "agents", 0),
    ("talent_fte", "R&D personnel", "FTE", 1),
    ("mean_skill", "Mean skill of talent", "index", 1),
    ("results", "New results", "per quarter", 1),
    ("results_quality", "Quality-weighted results", "per quarter", 1),
    ("duplicates", "Duplicated results", "per quarter", -1),
    ("transformation_rate", "Transformation rate", "share within 8 quarters", 1),
    ("contracts_sold", "Technology contracts sold", "per quarter", 1),
    ("contract_value_sold", "Contract value sold", "亿元 per quarter", 1),
    ("contract_value_bought", "Contract value bought", "亿元 per quarter", 1),
    ("firms", "Firms", "agents", 1),
    ("productivity", "Firm productivity", "TFP index", 1),
    ("value_added", "Value added", "亿元 per quarter", 1),
    ("branches", "Branches of firms from other regions", "branches", 1),
    ("branches_opened", "Branches opened", "per quarter", 1),
    ("relocations", "Firms relocated here from Beijing", "agents per quarter", 1),
    ("contracts_bought", "Technology contracts bought", "per quarter", 1),
    ("firm_entries", "Firm entries", "per quarter", 1),
    ("spinoffs", "Spin-offs", "per quarter", 1),
    ("firm_exits", "Firm exits", "per quarter", -1),
    ("platform_budget", "Platform budget", "亿元 per quarter", 0),
    ("evaluation_score", "Evaluation score", "index", 1),
    ("quality_effort", "Quality effort", "share", 1),
    ("instrument_hours_shared", "Instrument capacity shared", "platform-equivalents", 1),
    ("climate", "Entrepreneurial climate", "index", 1),
    ("wage", "Wage level", "relative to Beijing at start", 0),
    ("incentives_paid", "Talent incentives paid", "亿元 per quarter", 0),
    ("talent_in", "Talent moving in", "per quarter", 0),
    ("talent_out", "Talent moving out", "per quarter", 0),
])
MODEL: dict[str, Indicator] = _table([  # per step, whole model (metrics.MODEL_INDICATORS)
    ("theil_value_added", "Regional inequality of value added", "Theil index", -1),
    ("theil_results", "Regional inequality of results", "Theil index", -1),
    ("bj_to_tjhb_contract_value", "Contract value Beijing → Tianjin + Hebei", "亿元 per quarter", 1),
    ("cross_region_contract_value", "Cross-region contract value", "亿元 per quarter", 1),
    ("fund_capital", "Uninvested fund capital", "亿元", 0),
    ("fund_invested", "Invested by all funds", "亿元, cumulative", 1),
    ("collab_fund_invested", "Invested by the collaborative fund", "亿元, cumulative", 1),
    ("collab_fund_proceeds", "Collaborative fund exit proceeds", "亿元, cumulative", 1),
    ("collab_fund_expected_multiple", "Collaborative fund expected multiple", "×", 1),
    ("private_crowd_in", "Private co-investment drawn in", "亿元, cumulative", 1),
    ("fund_exits", "Successful fund exits", "per quarter", 1),
    ("public_cost", "Public cost", "亿元 per quarter", -1),
    ("efficiency_spread", "Spread of platform efficiency", "sd of log results per budget", -1),
    ("market_ready_stock", "Market-ready results awaiting a licensee", "results", 0),
    *((f"cost.{k}", f"Public cost: {label}", "亿元 per quarter", -1) for k, label in COST_LABELS.items()),
])
SUMMARY: dict[str, Indicator] = _table([  # one value per run (runner.summarise); ".Region" variants below
    ("results", "Results, Jing-Jin-Ji", "over the run", 1),
    ("results_quality", "Quality-weighted results", "over the run", 1),
    ("results_tianjin_hebei", "Results in Tianjin + Hebei", "over the run", 1),
    ("mean_result_quality", "Mean result quality", "index", 1),
    ("duplicates", "Duplicated results", "over the run", -1),
    ("transformation_rate", "Transformation rate", "share within 8 quarters", 1),
    ("contract_value", "Technology-contract value", "亿元 over the run", 1),
    ("bj_to_tjhb_contract_value", "Contract value Beijing → Tianjin + Hebei", "亿元 over the run", 1),
    ("bj_to_tjhb_share_of_bj_outflow", "Share of Beijing's outflow going to Tianjin + Hebei", "share", 1),
    ("cross_region_contract_value", "Cross-region contract value", "亿元 over the run", 1),
    ("value_added", "Value added, Jing-Jin-Ji", "亿元 over the run", 1),
    ("branches", "Branches of firms from other regions", "branches at the end", 1),
    ("theil_value_added", "Regional inequality of value added", "Theil index, last year", -1),
    ("theil_results", "Regional inequality of results", "Theil index, last year", -1),
    ("collab_fund_invested", "Invested by the collaborative fund", "亿元 over the run", 1),
    ("collab_fund_roi", "Collaborative fund return on closed deals", "share", 1),
    ("collab_fund_expected_multiple", "Collaborative fund expected multiple", "×", 1),
    ("private_crowd_in", "Private co-investment drawn in", "亿元 over the run", 1),
    ("public_cost", "Public cost", "亿元 over the run", -1),
    ("talent_moves", "Talent moves between regions", "talent agents over the run", 0),
    ("firm_entries", "Firm entries", "over the run", 1),
    ("spinoffs", "Spin-offs", "over the run", 1),
    ("efficiency_spread", "Spread of platform efficiency", "sd of log results per budget", -1),
    ("productivity", "Firm productivity", "TFP index at the end", 1),
    ("talent_fte", "R&D personnel", "FTE at the end", 1),
    ("talent_net_outflow", "Net talent outflow", "FTE over the run", -1),
    ("value_added_last_quarter", "Value added in the last quarter", "亿元", 1),
    *((f"cost.{k}", f"Public cost: {label}", "亿元 over the run", -1) for k, label in COST_LABELS.items()),
])
# fmt: on

KEY_METRICS: tuple[str, ...] = (
    "value_added",
    "results",
    "contract_value",
    "cross_region_contract_value",
    "bj_to_tjhb_contract_value",
    "results_tianjin_hebei",
    "theil_value_added",
    "public_cost",
)
"""The summary metrics a comparison leads with: the command line's comparison table, the report's table, forest
plot and cost-effectiveness chart, and the results explorer (each keeps those a folder has)."""
KEY_SERIES: tuple[str, ...] = ("value_added", "talent_fte", "results", "contract_value_sold")
"""The per-region indicators shown over time: the report's time charts, the live app's panels, the explorer."""

REGION_NAMES_ZH: dict[str, str] = {"Beijing": "北京", "Tianjin": "天津", "Hebei": "河北", "Outside": "其他地区"}
"""Chinese region names (the figures' ``lang="zh"`` option)."""


def indicator(name: str) -> Indicator:
    """The indicator of a summary, series or model-series name; ``name.Region`` gets the region in its label.

    Unknown names (a design point's column, say) get their own name as label and no unit.
    """
    for table in (SUMMARY, SERIES, MODEL):
        if name in table:  # a name with a dot of its own (cost.<measure>)
            return table[name]
    base, _, region = name.partition(".")
    for table in (SUMMARY, SERIES, MODEL):
        if base in table:
            ind = table[base]
            if region in REGIONS:
                return Indicator(name, f"{ind.label}, {region}", ind.unit, ind.better)
            if not region:
                return ind
    return Indicator(name, name, "", 0)
