"""One vocabulary: each distribution and each statistic defined once, for every engine.

An engine that meets a distribution asks its :class:`~derive.vocabulary.distributions.Law`
for its own meaning (moments, sampler, density, inverse CDF, quadrature window, …); a
meaning the law does not give is an explicit "not supported by this engine" — the engine
declines — never a silent substitute.  Importing this package imports neither torch nor
sympy (the language layer uses it); the per-engine parts import them when called.
"""
from derive.vocabulary.distributions import LAWS, Declined, Law, Param, law_of
from derive.vocabulary.statistics import COSTS, STATISTICS

__all__ = ["LAWS", "Declined", "Law", "Param", "law_of", "STATISTICS", "COSTS"]
