"""The statistic and cost names, written once.

``E[x]``, ``Var[x]``, … and ``time[e]``, … take square brackets; the parser turns them
into :class:`derive.model.Stat` / cost nodes, the semantic pass and the lexer know them as
reserved, and the formatter keeps their brackets tight (not indexing).  Every one of
those sets is derived from these tuples, so a new statistic cannot be half-added.
"""
from __future__ import annotations

STATISTICS: dict[str, str] = {
    "E": "expectation",
    "Var": "variance",
    "Std": "standard deviation",
    "Cov": "covariance",
    "P": "probability of a condition",
}

COSTS: dict[str, str] = {
    "time": "measured wall-clock time",
    "flops": "counted floating-point operations",
    "memory": "peak memory",
}
