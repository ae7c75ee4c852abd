"""Did it work? Incidents where walks (or guards) were, against the forecast and against comparable
place-hours without them.

Two comparisons of the place-hours the shifts covered (``T``: the treated place-hours):

1. **Against the forecast**: observed ``O_T`` vs the forecast's expected ``E_T`` [incidents], as the
   gamma-Poisson update of the assumed effect (:func:`tryggplan.reporting.effects.gamma_poisson_effect`,
   80% credible interval). The forecast was trained on a history that already had walks and may be
   biased, so this alone is not evidence.
2. **Against comparable uncovered place-hours** (``C``): the same places at the same local hours of
   the week, on nights when no shift of any kind covered that place. A difference in differences on
   the ratio scale: ``RR = (O_T / E_T) / (O_C / E_C)``, observed over expected in covered place-hours
   divided by the same in the comparison place-hours; the forecast's ``E`` adjusts for the places,
   hours and seasons mixing differently. ``effect = 1 - RR``. The interval is the exact conditional
   one: given ``O_T + O_C``, ``O_T`` is binomial with ``p = RR E_T / (RR E_T + E_C)`` under Poisson
   counts, so the Clopper-Pearson interval of ``p`` maps to one of ``RR`` (``level``, default 90%).
   ``prevented = E_T O_C / E_C - O_T`` [incidents] is the same estimate as a count.

The verdict is ``"fewer"`` only when both intervals lie above zero, ``"more"`` when both lie below,
else ``"cannot_tell"`` ("the data cannot tell yet"). Then :attr:`CoverageEvaluation.more_needed` says
how many more shifts would give 80% power to see an effect of ``detect_effect`` (default the assumed
effect, 10%) with the two-sided test at ``level``, assuming: every further shift covers as much
expected risk as the shifts so far did (``E_T / shifts`` [incidents]); the comparison place-hours
grow in proportion (``E_C / E_T`` stays); incidents are Poisson with the comparison hours' rate
``O_C / E_C`` times the forecast; the Wald test of the log rate ratio (Zhu 2017, as in
``statsmodels.stats.rates.power_poisson_ratio_2indep``).

Limits: incidents are counted as rows (weights are not Poisson counts); overdispersion (the grid's
``nb_alpha``) and incidents displaced to nearby places or hours are not modelled, so intervals are
somewhat too narrow and a displaced effect looks like a real one; walks are not placed at random
(they go where risk is high, and the forecast's expected count is what adjusts for that).

References
----------
Przyborowski, J. and Wilenski, H. (1940). Homogeneity of results in testing samples from Poisson
series. *Biometrika* 31, 313-323.
Zhu, H. (2017). Sample size calculation for comparing two Poisson or negative binomial rates in
noninferiority or equivalence trials. *Statistics in Biopharmaceutical Research* 9(1), 107-115.
Gelman, A. et al. (2013). *Bayesian Data Analysis*, 3rd ed., section 2.6.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.rates import power_poisson_ratio_2indep

from tryggplan.domain import DEFAULT_TZ, InvalidInputError
from tryggplan.i18n import Lang, check_lang, format_number, format_percent, message, register_messages
from tryggplan.reporting.coverage import grid_expected, incident_times, shift_cells
from tryggplan.reporting.effects import gamma_poisson_effect
from tryggplan.timeutil import check_tz, hour_of_week, night_of

Verdict = Literal["fewer", "more", "cannot_tell"]
#: power the "how many more" calculation asks for
POWER = 0.80
#: never propose more shifts than this (beyond it the answer is "not with walks of this size")
MAX_SHIFTS = 100_000

register_messages(
    {
        "evaluation.what.night_walk": {"sv": "nattvandringar", "en": "night walks"},
        "evaluation.what.guard": {"sv": "väktarpass", "en": "guard shifts"},
        "evaluation.fewer": {
            "sv": "Färre händelser än väntat där {what} fanns.",
            "en": "Fewer incidents than expected where {what} were.",
        },
        "evaluation.more": {
            "sv": "Fler händelser än väntat där {what} fanns.",
            "en": "More incidents than expected where {what} were.",
        },
        "evaluation.cannot_tell": {
            "sv": "Underlaget räcker inte för att avgöra det än.",
            "en": "The data cannot tell yet.",
        },
        "evaluation.detail": {
            "sv": "{shifts} {what} täckte {hours} platstimmar: {observed} händelser där prognosen väntade {expected}. "
            "Samma platser och veckotimmar utan pass: {c_observed} händelser mot väntat {c_expected}. "
            "Skattad effekt {effect} ({level} intervall {lo} till {hi}); mot prognosen {f_effect} "
            "(80 % intervall {f_lo} till {f_hi}).",
            "en": "{shifts} {what} covered {hours} place-hours: {observed} incidents where the forecast expected "
            "{expected}. The same places and hours of the week without a shift: {c_observed} incidents against "
            "{c_expected} expected. Estimated effect {effect} ({level} interval {lo} to {hi}); against the "
            "forecast {f_effect} (80% interval {f_lo} to {f_hi}).",
        },
        "evaluation.no_control": {
            "sv": "{shifts} {what} täckte {hours} platstimmar: {observed} händelser där prognosen väntade {expected}. "
            "Det finns inga jämförbara timmar utan pass ännu.",
            "en": "{shifts} {what} covered {hours} place-hours: {observed} incidents where the forecast expected "
            "{expected}. There are no comparable hours without a shift yet.",
        },
        "evaluation.more_needed": {
            "sv": "Om effekten är {effect} behövs ungefär {n} {what} till för att se den (80 % styrka).",
            "en": "If the effect is {effect}, about {n} more {what} are needed to see it (80% power).",
        },
        "evaluation.smaller": {
            "sv": "Så många {what} räcker för att se en effekt på {effect} om den fanns; effekten är troligen mindre.",
            "en": "This many {what} would show an effect of {effect} if there were one; "
            "the effect is probably smaller.",
        },
        "evaluation.too_many": {
            "sv": "En effekt på {effect} går inte att se med rimligt många fler {what} av den här storleken.",
            "en": "An effect of {effect} cannot be seen with any reasonable number of further {what} of this size.",
        },
    }
)


@dataclass(frozen=True)
class CoverageEvaluation:
    """The answer to "did it work?" for one kind of shift.

    ``expected``/``observed`` [incidents] in the covered place-hours, ``control_*`` in the comparable
    uncovered ones; ``forecast_*`` the gamma-Poisson effect against the forecast (80% credible);
    ``did_*`` the difference-in-differences effect ``1 - RR`` with its exact ``level`` interval and
    p-value; ``prevented`` [incidents]; ``more_needed`` further shifts for 80% power to see
    ``detect_effect`` (0 when the data already tell, ``None`` when no reasonable number would).
    """

    kind: str
    shifts: int
    place_hours: int
    expected: float
    observed: int
    control_place_hours: int
    control_expected: float
    control_observed: int
    forecast_effect: float
    forecast_lo: float
    forecast_hi: float
    did_effect: float | None
    did_lo: float | None
    did_hi: float | None
    did_p_value: float | None
    prevented: float | None
    level: float
    verdict: Verdict
    detect_effect: float
    more_needed: int | None
    prior: float
    strength: float

    def text(self, lang: Lang = "sv") -> str:
        """The verdict and its figures in Swedish (default) or English."""
        lang = check_lang(lang)
        what = message(f"evaluation.what.{self.kind}", lang)

        def pct(x: float | None) -> str:
            return "–" if x is None else format_percent(100 * x, lang, 0)

        parts = [message(f"evaluation.{self.verdict}", lang, what=what)]
        common = {
            "shifts": self.shifts,
            "what": what,
            "hours": format_number(self.place_hours, 0, lang),
            "observed": format_number(self.observed, 0, lang),
            "expected": format_number(self.expected, 1, lang),
        }
        if self.did_effect is None and self.control_place_hours == 0:
            parts.append(message("evaluation.no_control", lang, **common))
        else:
            parts.append(
                message(
                    "evaluation.detail",
                    lang,
                    **common,
                    c_observed=format_number(self.control_observed, 0, lang),
                    c_expected=format_number(self.control_expected, 1, lang),
                    effect=pct(self.did_effect),
                    level=format_percent(100 * self.level, lang, 0, sign=False),
                    lo=pct(self.did_lo),
                    hi=pct(self.did_hi),
                    f_effect=pct(self.forecast_effect),
                    f_lo=pct(self.forecast_lo),
                    f_hi=pct(self.forecast_hi),
                )
            )
        if self.verdict == "cannot_tell":
            effect = format_percent(100 * self.detect_effect, lang, 0, sign=False)
            if self.more_needed is None:
                parts.append(message("evaluation.too_many", lang, effect=effect, what=what))
            elif self.more_needed == 0:
                parts.append(message("evaluation.smaller", lang, effect=effect, what=what))
            else:
                parts.append(message("evaluation.more_needed", lang, effect=effect, n=self.more_needed, what=what))
        return " ".join(parts)

    def to_dict(self, lang: Lang = "sv") -> dict[str, Any]:
        """JSON-ready: every field plus ``text`` in ``lang``."""
        return {**asdict(self), "text": self.text(lang)}


def evaluate_coverage(
    shifts: Sequence[Mapping[str, Any]],
    incidents: pd.DataFrame,
    grids: pd.DataFrame | Sequence[pd.DataFrame],
    *,
    kind: Literal["night_walk", "guard"] = "night_walk",
    tz: str = DEFAULT_TZ,
    until: pd.Timestamp | str | None = None,
    level: float = 0.90,
    prior: float = 0.10,
    strength: float = 20.0,
    detect_effect: float | None = None,
) -> CoverageEvaluation:
    """Evaluate the shifts of ``kind`` that were done.

    Parameters
    ----------
    shifts : every shift done, both kinds, as in plan.json (``kind``, ``place_ids``, ``start``,
        ``end`` or ``hours``, with offsets): completed walks and the guard blocks worked. Shifts of
        the other kind are not evaluated but their place-hours never serve as comparison.
    incidents : the canonical frame (``occurred_at``, ``place_id``); rows are counted.
    grids : the risk grids (forecasts) used to plan, covering the covered and the comparison
        place-hours; where they overlap the first one given is used.
    tz : local zone for hours of the week and nights.
    until : the end of the incident data; place-hours from it on are left out (incidents not yet
        imported must not look like an effect). Default: the hour after the last incident.
    level : the confidence level of the difference-in-differences interval and of the test the
        power calculation assumes.
    prior, strength : the assumed effect and its weight [pseudo-incidents] of the forecast comparison.
    detect_effect : the effect the "how many more" calculation asks to see (default: ``prior``).
    """
    tz = check_tz(tz)
    if kind not in ("night_walk", "guard"):
        raise InvalidInputError(f"kind {kind!r} is not one of ['night_walk', 'guard']")
    if not 0.5 <= level < 1:
        raise InvalidInputError(f"level must lie in [0.5, 1), e.g. 0.9, got {level}")
    detect = prior if detect_effect is None else float(detect_effect)
    if not 0 < detect < 1:
        raise InvalidInputError(f"detect_effect must lie in (0, 1), e.g. 0.1, got {detect}")
    cells = shift_cells(shifts, "shifts")
    own = cells[cells["kind"] == kind]
    if own.empty:
        raise InvalidInputError(f"no {kind} shifts given: pass the shifts that were done (plan.json shifts)")
    expected = grid_expected(grids)
    occurred = incident_times(incidents)
    if until is None:
        if occurred.empty:
            raise InvalidInputError("no incidents and no until: say until when the incident data is complete")
        end = occurred.max().floor("h") + pd.Timedelta(hours=1)
    else:
        end = pd.Timestamp(until)
        if end.tzinfo is None:
            raise InvalidInputError(f"until {until!r} needs an offset, e.g. 2026-12-01T00:00:00+01:00")
        end = end.tz_convert("UTC")
    hits = (
        pd.Series(1, index=pd.MultiIndex.from_arrays([incidents["place_id"].astype(str), occurred.dt.floor("h")]))
        .groupby(level=[0, 1])
        .sum()
    )

    # treated: the kind's covered place-hours that the forecast covers and the data reaches
    treated = pd.MultiIndex.from_frame(own[["place_id", "hour"]]).unique()
    treated = treated[(treated.get_level_values(1) < end) & treated.isin(expected.index)]
    if len(treated) == 0:
        raise InvalidInputError(
            f"none of the {kind} place-hours lies in the forecast grids before {end.isoformat()}: give the "
            "forecasts that covered the walked weeks and incidents up to after them"
        )
    # comparison: same places and local hours of the week, nights with no shift of any kind there
    cand = expected[(expected.index.get_level_values(1) < end)]
    cand_places = cand.index.get_level_values(0).to_numpy()
    cand_hours = pd.DatetimeIndex(cand.index.get_level_values(1))
    cand_how = hour_of_week(cand_hours.tz_convert(tz))
    cand_night = np.asarray(night_of(cand_hours, tz))
    t_hours = pd.DatetimeIndex(treated.get_level_values(1))
    wanted = set(zip(treated.get_level_values(0), hour_of_week(t_hours.tz_convert(tz)).tolist(), strict=True))
    all_hours = pd.DatetimeIndex(cells["hour"])
    busy_nights = set(zip(cells["place_id"], np.asarray(night_of(all_hours, tz)), strict=True))
    keep = np.fromiter(
        (
            (p, int(h)) in wanted and (p, n) not in busy_nights
            for p, h, n in zip(cand_places, cand_how, cand_night, strict=True)
        ),
        dtype=np.bool_,
        count=len(cand),
    )
    control = cand.index[keep]

    e_t = float(expected.reindex(treated).sum())
    o_t = int(hits.reindex(treated, fill_value=0).sum())
    e_c = float(expected.reindex(control).sum()) if len(control) else 0.0
    o_c = int(hits.reindex(control, fill_value=0).sum()) if len(control) else 0
    f_effect, f_lo, f_hi = gamma_poisson_effect(e_t, o_t, prior, strength)

    did_effect = did_lo = did_hi = did_p = prevented = None
    if e_c > 0 and e_t > 0 and o_t + o_c > 0:
        share = e_t / (e_t + e_c)  # P(an incident falls in T) when RR = 1
        test = stats.binomtest(o_t, o_t + o_c, share)
        ci = test.proportion_ci(confidence_level=level, method="exact")
        rr = lambda p: math.inf if p >= 1 else p / (1 - p) * e_c / e_t  # noqa: E731
        did_p = float(test.pvalue)
        did_lo, did_hi = 1 - rr(ci.high), 1 - rr(ci.low)
        if o_c > 0:
            did_effect = 1 - (o_t / e_t) / (o_c / e_c)
            prevented = e_t * o_c / e_c - o_t
    # shifts with at least one evaluated place-hour (a walk after `until` or outside the grids has none)
    kept = pd.MultiIndex.from_frame(own[["place_id", "hour"]]).isin(treated)
    n_shifts = int(own.loc[kept, "shift"].nunique())
    if did_lo is not None and did_lo > 0 and f_lo > 0:
        verdict: Verdict = "fewer"
    elif did_hi is not None and did_hi < 0 and f_hi < 0:
        verdict = "more"
    else:
        verdict = "cannot_tell"
    more = 0 if verdict != "cannot_tell" else _more_needed(n_shifts, e_t, e_c, o_c, detect, level)
    return CoverageEvaluation(
        kind=kind,
        shifts=n_shifts,
        place_hours=len(treated),
        expected=e_t,
        observed=o_t,
        control_place_hours=len(control),
        control_expected=e_c,
        control_observed=o_c,
        forecast_effect=float(f_effect),
        forecast_lo=f_lo,
        forecast_hi=f_hi,
        did_effect=did_effect,
        did_lo=did_lo,
        did_hi=None if did_hi is None or math.isinf(did_hi) else did_hi,
        did_p_value=did_p,
        prevented=prevented,
        level=level,
        verdict=verdict,
        detect_effect=detect,
        more_needed=more,
        prior=prior,
        strength=strength,
    )


def shifts_needed(
    effect: float, expected_per_shift: float, control_ratio: float, rate: float = 1.0, level: float = 0.90
) -> int | None:
    """Shifts in all for 80% power to see ``effect`` with the two-sided Wald test of the log rate
    ratio at ``level`` (Zhu 2017; ``statsmodels.stats.rates.power_poisson_ratio_2indep``).

    ``expected_per_shift`` [incidents] the forecast's expected count in one shift's place-hours,
    ``control_ratio`` comparison over covered expected counts, ``rate`` observed over expected in
    the comparison place-hours. ``None`` when more than :data:`MAX_SHIFTS` would be needed.
    """
    if expected_per_shift <= 0 or control_ratio <= 0 or rate <= 0:
        return None

    def gap(n: float) -> float:
        power = power_poisson_ratio_2indep(
            rate * (1 - effect),
            rate,
            n,
            nobs_ratio=control_ratio,
            exposure=expected_per_shift,
            value=1.0,
            alpha=1 - level,
            alternative="two-sided",
            return_results=False,
        )
        return float(power) - POWER

    if gap(MAX_SHIFTS) < 0:
        return None
    if gap(1.0) >= 0:
        return 1
    return int(math.ceil(optimize.brentq(gap, 1.0, MAX_SHIFTS, xtol=1e-6)))


def _more_needed(n_shifts: int, e_t: float, e_c: float, o_c: int, effect: float, level: float) -> int | None:
    # with no comparison yet, assume as much comparison as covered risk and the forecast's own rate
    ratio = e_c / e_t if e_c > 0 else 1.0
    rate = o_c / e_c if e_c > 0 and o_c > 0 else 1.0
    total = shifts_needed(effect, e_t / n_shifts, ratio, rate, level)
    return None if total is None else max(0, total - n_shifts)
