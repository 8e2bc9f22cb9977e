"""The switch and the decorator of the compiled loops (:mod:`.agents.market_kernel`, :mod:`.partnerships`).

A kernel makes the same IEEE operations in the same order as the numpy form it stands for, so a run gives the same
numbers to the bit with or without it (``tests/model/test_fast_paths.py``). Kernels are compiled by numba where it
is installed (the ``fast`` extra), once per machine (cached next to their module, or in ``NUMBA_CACHE_DIR``);
without numba, or with ``JJJSIM_NUMBA=0`` in the environment, the numpy forms run.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

HAVE_NUMBA = importlib.util.find_spec("numba") is not None
"""Whether numba is installed (found without importing it: numba and LLVM cost ~100 MB, paid only on first use)."""
ENABLED = HAVE_NUMBA and os.environ.get("JJJSIM_NUMBA", "1") != "0"
"""Whether the model runs the compiled loops (numba installed, not switched off by ``JJJSIM_NUMBA=0``)."""

_compiled: dict[str, Callable[..., Any]] = {}


def jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled by numba on its first call (numba imported then), the plain function where numba is absent."""

    name = f"{fn.__module__}.{fn.__name__}"

    def call(*args: Any) -> Any:
        kernel = _compiled.get(name)
        if kernel is None:
            if not HAVE_NUMBA:
                kernel = fn
            else:
                import numba

                kernel = numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
            _compiled[name] = kernel
        return kernel(*args)

    call.__doc__, call.__name__, call.__wrapped__ = fn.__doc__, fn.__name__, fn  # type: ignore[attr-defined]
    return call
