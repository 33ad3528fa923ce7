"""The numeric engine: the typed claim lowered to torch (float64 identities, batched
Monte Carlo, autograd gradients) on cuda when present, else the CPU.

Strategies, in order: almost-sure statements about E[X | Y], decided at draws of Y by the
others (derive/numeric/conditional.py); autograd gradient claims; identities, inequalities
and conditions on random instances; statistics of one scalar draw by deterministic
quadrature; Monte-Carlo statements (E, Var, Std, Cov, P).  A claim with moment-only draws
(``any(mean = …, var = …)``) is decided once per member of their family
(derive/numeric/family.py).
"""
from derive.engine import Engine
from derive.numeric.conditional import ConditionalStrategy
from derive.numeric.family import FamilyEngine
from derive.numeric.gradients import GradientStrategy
from derive.numeric.identity import IdentityStrategy
from derive.numeric.montecarlo import MonteCarloStrategy
from derive.numeric.quadrature import QuadratureStrategy

_PLAIN = [GradientStrategy(), IdentityStrategy(), QuadratureStrategy(), MonteCarloStrategy()]
ENGINE = FamilyEngine("numeric", [ConditionalStrategy(Engine("numeric", _PLAIN))] + _PLAIN)
