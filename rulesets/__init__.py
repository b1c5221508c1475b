"""The shipped rule libraries, registered with ``register_shipped`` through the same public API users call.

``algebra`` (IEEE-exact identities, exp/log laws), ``stability`` (stable sigmoid / softplus /
logsumexp / softmax forms) and ``linalg`` (transposes, traces, dot products) are the default
selection and keep NumPy's nan, infinities and signed zeros. ``fast-math`` (cancellation,
distribution, log laws, matrix-chain reassociation: equal over the reals, not in IEEE floats)
and ``reassociate`` (commutativity, associativity, factoring, tagged ``expensive``) are opt-in.
"""

from functools import cache

from egraph_dsl.registry import Registry, default_registry
from egraph_dsl.rules import Rule

from .algebra import algebra, reassociate
from .fast_math import fast_math
from .linalg import linalg
from .stability import stability

SHIPPED = (algebra, reassociate, stability, linalg, fast_math)


def register_shipped(registry: Registry = default_registry) -> Registry:
    """Register the shipped libraries ``registry`` does not hold yet (by name), and return it.

    Importing this package registers nothing: the façade (``jit``, ``optimize``, ``Session``, the
    CLI) calls this for ``default_registry`` before it resolves names, and a user building their
    own registry calls it to start from the shipped libraries. The defaults are the rulesets
    tagged ``default``.
    """
    for ruleset in SHIPPED:
        if ruleset.name not in registry:
            registry.register(ruleset)
    return registry


@cache
def shipped_rules() -> frozenset[Rule]:
    """Every rule the library ships (first use checks only the others)."""
    return frozenset(rule for rs in SHIPPED for rule in rs.rules)


__all__ = ["SHIPPED", "algebra", "fast_math", "linalg", "reassociate", "register_shipped", "shipped_rules", "stability"]
