"""The numeric engine: the typed claim lowered to torch (float64 identities, batched
Monte Carlo, autograd gradients) on cuda when present, else the CPU.

Strategies, in order: autograd gradient claims, identities/inequalities/conditions on
random instances, statistics of one scalar draw by deterministic quadrature, Monte-Carlo
statements (E, Var, Std, Cov, P); almost-sure statements about E[X | Y] are decided at
draws of Y by the others (derive/numeric/conditional.py).
"""
from derive.engine import Engine
from derive.numeric.conditional import ConditionalStrategy
from derive.numeric.gradients import GradientStrategy
from derive.numeric.identity import IdentityStrategy
from derive.numeric.montecarlo import MonteCarloStrategy
from derive.numeric.quadrature import QuadratureStrategy

_PLAIN = [GradientStrategy(), IdentityStrategy(), QuadratureStrategy(), MonteCarloStrategy()]
ENGINE = Engine("numeric", [ConditionalStrategy(Engine("numeric", _PLAIN))] + _PLAIN)
