"""The shipped rule libraries, registered on import with the same public API users call.

``algebra`` (identities, cancellation, distribution), ``reassociate`` (commutativity,
associativity, factoring: opt-in, tagged ``expensive``), ``stability``
(stable sigmoid / softplus / logsumexp / softmax forms) and ``linalg`` (matrix chains,
transposes, traces, dot products).
"""

from egraph_dsl.registry import default_registry

from .algebra import algebra, reassociate
from .linalg import linalg
from .stability import stability

for _ruleset in (algebra, reassociate, stability, linalg):
    if _ruleset.name not in default_registry:
        default_registry.register(_ruleset)

__all__ = ["algebra", "linalg", "reassociate", "stability"]
