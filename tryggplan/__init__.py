"""tryggplan: crime-risk forecasts and optimal night-walk / guard plans for a municipality.

The core package holds what every layer shares: domain columns and errors
(:mod:`tryggplan.domain`), time rules (:mod:`tryggplan.timeutil`), the Swedish
calendar (:mod:`tryggplan.calendar`), readers and validation (:mod:`tryggplan.readers`),
hourly counts (:mod:`tryggplan.counts`) and the demo town (:mod:`tryggplan.demo`).
Data flows one way: readers -> counts -> ``forecasting`` -> ``allocation`` -> ``service``.
"""

__version__ = "0.1.0"
