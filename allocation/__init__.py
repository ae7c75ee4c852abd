"""Optimal weekly and season plans for night walks and guard hours (docs/architecture.md, "Allocation").

A pure library: a risk grid (the forecast contract) and a resources spec in, a typed plan
out. No HTTP, no database, no printing.
"""

from tryggplan.allocation.errors import InfeasiblePlanError, SolverError
from tryggplan.allocation.spec import Resources, demo_resources, load_resources, parse_resources

__all__ = ["InfeasiblePlanError", "Resources", "SolverError", "demo_resources", "load_resources", "parse_resources"]
