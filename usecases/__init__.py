"""Use cases: what a coordinator, analyst, reporter or dashboard does, written once for both front ends.

Each module is one family of use cases (ingest, forecasts, plans, evaluation, access, places, demo,
maintenance). A use case takes plain arguments (an engine, paths, dates, names), returns a result
(a frozen dataclass or a frame) and raises the domain's errors (:mod:`tryggplan.domain`); the CLI
(:mod:`tryggplan.cli`) and the HTTP routes (:mod:`tryggplan.service.routes`) only translate options
and requests into these calls and results into output. See docs/architecture.md.
"""
