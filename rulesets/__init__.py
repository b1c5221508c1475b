"""The shipped rule libraries, registered on import with the same public API users call.

``algebra`` (IEEE-exact identities, exp/log laws), ``stability`` (stable sigmoid / softplus /
logsumexp / softmax forms) and ``linalg`` (transposes, traces, dot products) are the default
selection and keep NumPy's nan, infinities and signed zeros. ``fast-math`` (cancellation,
distribution, log laws, matrix-chain reassociation: equal over the reals, not in IEEE floats)
and ``reassociate`` (commutativity, associativity, factoring, tagged ``expensive``) are opt-in.
"""

from functools import cache

from egraph_dsl.registry import default_registry
from egraph_dsl.rules import Rule

from .algebra import algebra, reassociate
from .fast_math import fast_math
from .linalg import linalg
from .stability import stability

SHIPPED = (algebra, reassociate, stability, linalg, fast_math)

for _ruleset in SHIPPED:
    if _ruleset.name not in default_registry:
        default_registry.register(_ruleset)



@cache
def shipped_rules() -> frozenset[Rule]:
    """Every rule the library ships (first use checks only the others)."""
    return frozenset(rule for rs in SHIPPED for rule in rs.rules)


__all__ = ["SHIPPED", "algebra", "fast_math", "linalg", "reassociate", "shipped_rules", "stability"]
