"""The work and memory budget of one run: a run's cost is bounded whatever its parameters.

Inside the registry's bounds some parameter sets grow without limit (budgets compounding for 100 years, or the
research-knowledge loop at joint extremes: ODD L13), and a run could otherwise take hours and all the memory. A
:class:`Budget` caps two things, both computed from the model's own state, so a run stops at the same quarter on
every machine (the guard is as reproducible as the run):

- **agent-steps**: the living agents (talent, platforms, firms, funds) plus the result records the model holds,
  summed over the quarters run. It is what a step's work is proportional to (≈ 0.2–1.5 µs each).
- **memory**: the bytes of the model's tables (agents, results, investments), checked before a table grows.

A run whose first quarter alone would exceed the agent-step budget (agents at the start × quarters) is refused
before it steps; a run that grows past either cap stops with :class:`BudgetExceeded`, which names the cap, what
the run reached and how to raise the cap on purpose (``--max-agent-steps``, ``--max-memory``; in Python, ``run(...,
budget=Budget(...))``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError

DEFAULT_AGENT_STEPS = 100_000_000
"""Default cap on agent-steps per run (assumption: about two minutes of one core; the largest default run,
scale 4 for 40 quarters, uses about 10 M)."""
DEFAULT_MEMORY_MB = 2048
"""Default cap on the model's tables, MiB (assumption: a laptop's share for one run; a default run at scale 1
holds about 15 MiB)."""
MAX_AGENT_STEPS = 10**12
MAX_MEMORY_MB = 1 << 20


class BudgetExceeded(ConfigError):
    """A run would exceed, or has exceeded, its work or memory budget (one line, like every ConfigError)."""


@dataclass(frozen=True)
class Budget:
    """Caps on one run's work (agent-steps) and memory (MiB of model tables)."""

    agent_steps: int = DEFAULT_AGENT_STEPS
    memory_mb: int = DEFAULT_MEMORY_MB

    def __post_init__(self) -> None:
        for key, value, hi in (
            ("agent_steps", self.agent_steps, MAX_AGENT_STEPS),
            ("memory_mb", self.memory_mb, MAX_MEMORY_MB),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= hi:
                raise ConfigError("run budget", key, f"a whole number in [1, {hi:,}]", value)

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb << 20

    # ---- the checks the model makes --------------------------------------------------------------------
    def check_start(self, agents: int, steps: int, flag: str = "--max-agent-steps") -> None:
        """Refuse up front a run whose agents at the start times its quarters already exceed the budget."""
        need = agents * steps
        if need > self.agent_steps:
            raise BudgetExceeded(
                "run budget",
                "agent-steps",
                f"at most {self.agent_steps:,} (living agents and result records, summed over quarters)",
                f"at least {need:,} ({agents:,} at the start x {steps} quarters)",
                f"a smaller scale or fewer quarters, or raise the cap on purpose with {flag}",
            )

    def check_work(self, used: int, quarter: int, holding: int, flag: str = "--max-agent-steps") -> None:
        """Stop a run whose agent-steps so far exceed the budget."""
        if used > self.agent_steps:
            raise BudgetExceeded(
                "run budget",
                "agent-steps",
                f"at most {self.agent_steps:,} (living agents and result records, summed over quarters)",
                f"{used:,} by quarter {quarter} (the model held {holding:,} agents and records then)",
                f"fewer quarters or a smaller scale, or raise the cap on purpose with {flag}",
            )

    def check_memory(self, held: int, extra: int, table: str, flag: str = "--max-memory") -> None:
        """Refuse to grow a table past the memory budget (``held`` bytes now, ``extra`` bytes more)."""
        if held + extra > self.memory_bytes:
            raise BudgetExceeded(
                "run budget",
                "memory",
                f"model tables of at most {self.memory_mb:,} MiB",
                f"{(held + extra) / 2**20:,.0f} MiB needed to grow the {table} table",
                f"fewer quarters or a smaller scale, or raise the cap on purpose with {flag}",
            )
