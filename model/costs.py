"""Public cost of the measures: every lever is reached through something a government pays for (issue 10).

:func:`public_outlays` gives the outlay of each measure in the current quarter, 亿元 (100m CNY). The Recorder
writes each as the model-level series ``cost.<key>`` and their sum as ``public_cost``; the run summary sums them
over the run, so that measures can be compared at equal public cost (docs/ODD.md §7.0, "Instrument and public
cost of each measure").

Five outlays are budgets the model already spends: talent incentives, public funds' deals, shared key-lab nodes,
demo bases and service platforms. The other levers are indices; each is charged for its dose above its
registry default (the baseline, the reference level), at a rate from the registry (group ``cost``), so the
baseline's public cost stays what it was and a measure's cost grows with its dose. Autonomy is the exception:
its instrument is oversight the government gives up, which costs no money (its outlay is 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .agents import fund
from .agents.platform import DEMO_BASE, SERVICE_PLATFORM
from .params import LEVERS
from .regions import REGION_PAIRS

if TYPE_CHECKING:
    from .model import JJJModel

OUTLAYS: dict[str, str] = {
    "incentives": "talent incentives paid to eligible FTE (talent_incentive, talent_incentive_target)",
    "public_funds": "deals of the public (guidance and collaborative) funds this quarter (fund_size)",
    "shared_labs": "budgets of the shared key-lab nodes (shared_key_labs)",
    "demo_bases": "budgets of the demo bases (demo_base_capacity)",
    "service_platforms": "budgets of the service platforms (service_platforms)",
    "barrier": "administrative cost of barriers cut below their defaults, per region pair",
    "standards_recognition": "standards-recognition agreements above the default",
    "project_alignment": "coordination office for project alignment above the default",
    "instrument_sharing": "subsidy for instrument capacity shared above the default share",
    "chain_integration": "chain-integration programme above the default",
    "talent_network": "ties formed and dual appointments held, share above the default network",
    "autonomy": "none: the instrument is oversight given up (no money)",
    "evaluation_regime": "peer review of platforms (differentiated regime) plus the net budget the evaluation moves",
    "culture_learning_rate": "entrepreneurship programmes above the default learning rate",
    "capital_function_relocation": "relocation programme for Beijing's non-capital functions above the default",
    "firm_cultivation": "firm-cultivation drive (rewards and certification services) above the default, per region",
}
"""Key of each outlay (``cost.<key>`` in the model series and the summary) and what it pays for."""

LEVER_OUTLAY: dict[str, str] = {
    "barrier": "barrier",
    "standards_recognition": "standards_recognition",
    "project_alignment": "project_alignment",
    "shared_key_labs": "shared_labs",
    "instrument_sharing": "instrument_sharing",
    "chain_integration": "chain_integration",
    "service_platforms": "service_platforms",
    "demo_base_capacity": "demo_bases",
    "talent_network": "talent_network",
    "talent_incentive": "incentives",
    "talent_incentive_target": "incentives",
    "fund_size": "public_funds",
    "fund_cross_region_share": "public_funds",
    "autonomy": "autonomy",
    "evaluation_regime": "evaluation_regime",
    "culture_learning_rate": "culture_learning_rate",
    "capital_function_relocation": "capital_function_relocation",
    "firm_cultivation": "firm_cultivation",
}
"""The outlay through which each lever costs money (a choice of how an outlay is spent shares its key)."""

FTE_COST = 1e-4
"""亿元 per 10k CNY (the unit of the per-FTE rates)."""


def _above(name: str, value: float) -> float:
    """Dose of a scalar lever above its registry default (0 at or below it)."""
    return max(float(value) - float(LEVERS[name].default), 0.0)


def _dose(m: JJJModel, name: str) -> float:
    """:func:`_above` for a lever that a parameter set may lack (0 then)."""
    return _above(name, m.p.values[name]) if name in LEVERS and name in m.p.values else 0.0


def _regional_dose(m: JJJModel, name: str) -> float:
    """The doses of a per-region lever above its registry defaults, summed over the regions (0 if absent)."""
    if name not in LEVERS or name not in m.p.values:
        return 0.0
    default = LEVERS[name].default
    return float(sum(max(float(v) - float(default[r]), 0.0) for r, v in m.p.values[name].items()))


def public_outlays(m: JJJModel) -> dict[str, float]:
    """Public outlay of each measure this quarter, 亿元 (keys of :data:`OUTLAYS`)."""
    p, pl, t = m.p, m.platform, m.talent
    inv, fd = m.investments, m.fund
    public_deal = (fd.kind[inv.fund] != fund.PRIVATE) & (inv.made == m.steps)
    research = pl.research & pl.alive
    capacity = pl.instruments[research].sum() / p.scale  # platform-equivalents of real instrument capacity
    ref_barrier = LEVERS["barrier"].default
    barrier_cut = sum(max(ref_barrier[k] - v, 0.0) for k, v in zip(REGION_PAIRS, p.barrier, strict=True))
    network = float(p.talent_network)
    network_share = _above("talent_network", network) / network if network > 0 else 0.0
    duals = np.count_nonzero(t.alive & (t.dual >= 0))
    evaluated = np.count_nonzero(research) / p.scale if m.steps > 0 and m.steps % 4 == 0 else 0.0
    differentiated = p.evaluation_regime != LEVERS["evaluation_regime"].default
    # the net change of research budgets the evaluation causes (the tournament's gross transfer,
    # tally.evaluation_transfer, is taken from other platforms and costs nothing); 0 where the model has no such
    # tally, and zero by construction once the tournament is budget-neutral
    transfer = float(np.sum(getattr(m.tally, "evaluation_net", 0.0)))
    return {
        "incentives": float(m.tally.incentives_paid.sum()),
        "public_funds": float(inv.amount[public_deal].sum()),
        "shared_labs": float(pl.budget[m.shared_lab].sum()),
        "demo_bases": float(pl.budget[pl.kind == DEMO_BASE].sum()),
        "service_platforms": float(pl.budget[pl.kind == SERVICE_PLATFORM].sum()),
        "barrier": p.barrier_cut_cost * barrier_cut / 4.0,
        "standards_recognition": p.recognition_cost * _above("standards_recognition", p.standards_recognition) / 4.0,
        "project_alignment": p.alignment_office_cost * _above("project_alignment", p.project_alignment) / 4.0,
        "instrument_sharing": p.instrument_subsidy
        * capacity
        * _above("instrument_sharing", p.instrument_sharing)
        / 4.0,
        "chain_integration": p.chain_programme_cost * _above("chain_integration", p.chain_integration) / 4.0,
        "talent_network": network_share
        * m.fte_per_agent
        * FTE_COST
        * (p.tie_cost * getattr(m, "ties_formed", 0.0) + p.dual_appointment_cost / 4.0 * duals),
        "autonomy": 0.0,
        "evaluation_regime": p.evaluation_review_cost * evaluated * differentiated + transfer,
        "culture_learning_rate": p.culture_programme_cost
        * _above("culture_learning_rate", p.culture_learning_rate)
        / 4.0,
        "capital_function_relocation": p.relocation_programme_cost * _dose(m, "capital_function_relocation") / 4.0,
        "firm_cultivation": p.cultivation_cost * _regional_dose(m, "firm_cultivation") / 4.0,
    }
