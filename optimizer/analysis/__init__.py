"""Questions asked of a solved plan: what each rule is worth, why each parcel, alternatives, trade-offs.

Everything here sits above `optimizer.pipeline` and calls it (or the solver registry) rather than re-implementing
load → build → solve.
"""

from __future__ import annotations
