"""Did it work? Incidents where walks (or guards) were, against the forecast and against comparable
place-hours without them, claiming nothing the data cannot carry.

Two comparisons of the place-hours the shifts covered (``T``: the treated place-hours):

1. **Against the forecast**: observed ``O_T`` against the forecast's expected ``E_T`` [incidents]:
   ``effect = 1 - O_T / E_T`` with the exact (Garwood) Poisson interval of ``O_T`` divided by ``E_T``
   (``level``). A measurement, not an update of the assumed effect: with no incident and little
   expected, the interval is wide and says so. The forecast was trained on a history that already
   had walks and may run high or low, so this alone is not evidence, and the result says how well
   the forecast itself was calibrated over the same months: ``calibration = E_C / O_C``, predicted
   over observed in the comparable unwalked place-hours (below), with its exact interval. A forecast
   running 30% high there makes walks that did nothing look 23% effective against the forecast.
2. **Against comparable uncovered place-hours** (``C``): the same places at the same local hours of
   the week, on nights when no shift of any kind covered that place. A difference in differences on
   the ratio scale: ``RR = (O_T / E_T) / (O_C / E_C)``, observed over expected in covered place-hours
   divided by the same in the comparison place-hours; the forecast's ``E`` adjusts for the places,
   hours and seasons mixing differently, and its calibration cancels. ``effect = 1 - RR``. The
   interval is the exact conditional one: given ``O_T + O_C``, ``O_T`` is binomial with
   ``p = RR E_T / (RR E_T + E_C)`` under Poisson counts, so the Clopper-Pearson interval of ``p``
   maps to one of ``RR`` (``level``, default 90%). When every incident fell in covered hours the
   interval has no lower end (``did_lo`` ``None``); ``prevented = E_T O_C / E_C - O_T`` [incidents]
   is the same estimate as a count.

The verdict is ``"fewer"`` only when both intervals lie above zero, ``"more"`` when both lie below,
else ``"cannot_tell"`` ("kan inte avgöra ännu": the data cannot tell yet), always with the number of
shifts and incidents behind it. Then :attr:`CoverageEvaluation.more_needed` says how many more shifts
would give 80% power to see an effect of ``detect_effect`` (default the assumed effect, 10%) with the
two-sided test at ``level``, assuming: every further shift covers as much expected risk as the shifts
so far did (``E_T / shifts`` [incidents]); the comparison place-hours grow in proportion (``E_C /
E_T`` stays); incidents are Poisson with the comparison hours' rate ``O_C / E_C`` times the forecast;
the Wald test of the log rate ratio (Zhu 2017, as in
``statsmodels.stats.rates.power_poisson_ratio_2indep``).

Every shift given is either evaluated or listed in :attr:`CoverageEvaluation.not_evaluated` with the
reason: ``after_data`` (it lies wholly after ``until``, where the incident data end),
``no_forecast`` (no grid covers its place-hours) or ``no_data`` (there are no incidents at all and
no ``until``: nothing says the data were ever complete).

Limits: incidents are counted as rows (weights are not Poisson counts); overdispersion (the grid's
``nb_alpha``) and incidents displaced to nearby places or hours are not modelled, so intervals are
somewhat too narrow and a displaced effect looks like a real one; walks are not placed at random
(they go where risk is high, and the forecast's expected count is what adjusts for that).

References
----------
Przyborowski, J. and Wilenski, H. (1940). Homogeneity of results in testing samples from Poisson
series. *Biometrika* 31, 313-323.
Garwood, F. (1936). Fiducial limits for the Poisson distribution. *Biometrika* 28, 437-442.
Zhu, H. (2017). Sample size calculation for comparing two Poisson or negative binomial rates in
noninferiority or equivalence trials. *Statistics in Biopharmaceutical Research* 9(1), 107-115.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.rates import power_poisson_ratio_2indep

from tryggplan.domain import DEFAULT_TZ, InvalidInputError
from tryggplan.i18n import Lang, check_lang, format_number, format_percent, message, register_messages
from tryggplan.reporting.coverage import grid_expected, incident_times, shift_cells
from tryggplan.timeutil import check_tz, hour_of_week, night_of

Verdict = Literal["fewer", "more", "cannot_tell"]
#: why a shift given was not evaluated
NotEvaluatedReason = Literal["after_data", "no_forecast", "no_data"]
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
            "sv": "Kan inte avgöra ännu: underlaget räcker inte.",
            "en": "The data cannot tell yet.",
        },
        "evaluation.covered": {
            "sv": "{shifts} {what} täckte {hours} platstimmar: {observed} händelser där prognosen väntade {expected}.",
            "en": "{shifts} {what} covered {hours} place-hours: {observed} incidents where the forecast expected "
            "{expected}.",
        },
        "evaluation.none_evaluated": {
            "sv": "Ingen av {given} {what} kunde jämföras, så det finns inga händelser att räkna.",
            "en": "None of {given} {what} could be compared, so there are no incidents to count.",
        },
        "evaluation.control": {
            "sv": "Samma platser och veckotimmar utan pass: {c_observed} händelser mot väntat {c_expected}.",
            "en": "The same places and hours of the week without a shift: {c_observed} incidents against "
            "{c_expected} expected.",
        },
        "evaluation.no_control": {
            "sv": "Det finns inga jämförbara timmar utan pass ännu.",
            "en": "There are no comparable hours without a shift yet.",
        },
        "evaluation.did": {
            "sv": "Skattad effekt {effect} ({level} intervall {lo} till {hi}).",
            "en": "Estimated effect {effect} ({level} interval {lo} to {hi}).",
        },
        "evaluation.did_no_incidents": {
            "sv": "Inga händelser alls, varken under passen eller i de jämförbara timmarna: ingen effekt kan skattas.",
            "en": "No incidents at all, neither during the shifts nor in the comparable hours: no effect can be "
            "estimated.",
        },
        "evaluation.did_all_covered": {
            "sv": "Alla {observed} händelser inträffade under passen och ingen i de jämförbara timmarna: effekten "
            "kan inte skattas (den är högst {hi}, {level} intervall).",
            "en": "All {observed} incidents happened during the shifts and none in the comparable hours: the effect "
            "cannot be estimated (it is at most {hi}, {level} interval).",
        },
        "evaluation.forecast": {
            "sv": "Mot prognosen {effect} ({level} intervall {lo} till {hi}).",
            "en": "Against the forecast {effect} ({level} interval {lo} to {hi}).",
        },
        "evaluation.calibration": {
            "sv": "Prognosen själv väntade {ratio} gånger så många händelser som inträffade samma månader i de "
            "jämförbara timmarna utan pass ({level} intervall {lo} till {hi}).",
            "en": "The forecast itself expected {ratio} times the incidents that happened in the same months in the "
            "comparable hours without a shift ({level} interval {lo} to {hi}).",
        },
        "evaluation.forecast_none": {
            "sv": "Mot prognosen: inga händelser där {expected} väntades ({level} intervall för effekten {lo} till "
            "{hi}).",
            "en": "Against the forecast: no incidents where {expected} were expected ({level} interval of the effect "
            "{lo} to {hi}).",
        },
        "evaluation.calibration_none": {
            "sv": "I de jämförbara timmarna utan pass väntade prognosen {c_expected} händelser samma månader, men "
            "inga inträffade (väntat ÷ inträffat minst {lo}, {level} intervall).",
            "en": "In the comparable hours without a shift the forecast expected {c_expected} incidents in the same "
            "months, but none happened (expected ÷ observed at least {lo}, {level} interval).",
        },
        "evaluation.calibration_off": {
            "sv": "Prognosen låg alltså fel för de här månaderna, så jämförelsen mot prognosen ensam säger lite.",
            "en": "So the forecast was off for these months, and the comparison with the forecast alone says little.",
        },
        "evaluation.open": {"sv": "obegränsat", "en": "unbounded"},
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
        "evaluation.left_out": {
            "sv": "{n} av {given} {what} kunde inte jämföras (se listan).",
            "en": "{n} of {given} {what} could not be compared (see the list).",
        },
    }
)


@dataclass(frozen=True)
class CoverageEvaluation:
    """The answer to "did it work?" for one kind of shift.

    ``shifts`` evaluated of ``shifts_given``; ``expected``/``observed`` [incidents] in the covered
    place-hours, ``control_*`` in the comparable uncovered ones; ``forecast_*`` the effect against the
    forecast (``1 - O/E``, exact Poisson interval at ``level``); ``calibration*`` the forecast's
    predicted over observed in the comparison place-hours; ``did_*`` the difference-in-differences
    effect ``1 - RR`` with its exact ``level`` interval (``did_lo`` ``None``: no lower end) and p-value;
    ``prevented`` [incidents]; ``more_needed`` further shifts for 80% power to see ``detect_effect``
    (0 when the data already tell, ``None`` when no reasonable number would or nothing was evaluated);
    ``assumed_effect`` the planning assumption (only the default of ``detect_effect``: never a result);
    ``not_evaluated`` the shifts left out, ``{"shift": index into the shifts given, "reason"}``.
    """

    kind: str
    shifts: int
    shifts_given: int
    place_hours: int
    expected: float
    observed: int
    control_place_hours: int
    control_expected: float
    control_observed: int
    forecast_effect: float | None
    forecast_lo: float | None
    forecast_hi: float | None
    calibration: float | None
    calibration_lo: float | None
    calibration_hi: float | None
    did_effect: float | None
    did_lo: float | None
    did_hi: float | None
    did_p_value: float | None
    prevented: float | None
    level: float
    verdict: Verdict
    detect_effect: float
    more_needed: int | None
    assumed_effect: float
    not_evaluated: list[dict[str, Any]] = field(default_factory=list)

    def text(self, lang: Lang = "sv") -> str:
        """The verdict and the figures behind it in Swedish (default) or English."""
        lang = check_lang(lang)
        what = message(f"evaluation.what.{self.kind}", lang)
        level = format_percent(100 * self.level, lang, 0, sign=False)
        open_end = message("evaluation.open", lang)

        def pct(x: float | None) -> str:
            return open_end if x is None or not math.isfinite(x) else format_percent(100 * x, lang, 0)

        def ratio(x: float | None) -> str:
            return open_end if x is None or not math.isfinite(x) else format_number(x, 2, lang)

        parts = [message(f"evaluation.{self.verdict}", lang, what=what)]
        if self.shifts == 0:
            parts.append(message("evaluation.none_evaluated", lang, given=self.shifts_given, what=what))
            return " ".join(parts)
        parts.append(
            message(
                "evaluation.covered",
                lang,
                shifts=self.shifts,
                what=what,
                hours=format_number(self.place_hours, 0, lang),
                observed=format_number(self.observed, 0, lang),
                expected=format_number(self.expected, 1, lang),
            )
        )
        if self.control_place_hours == 0:
            parts.append(message("evaluation.no_control", lang))
        else:
            parts.append(
                message(
                    "evaluation.control",
                    lang,
                    c_observed=format_number(self.control_observed, 0, lang),
                    c_expected=format_number(self.control_expected, 1, lang),
                )
            )
            if self.observed + self.control_observed == 0:
                parts.append(message("evaluation.did_no_incidents", lang))
            elif self.control_observed == 0:
                parts.append(
                    message(
                        "evaluation.did_all_covered",
                        lang,
                        observed=format_number(self.observed, 0, lang),
                        hi=pct(self.did_hi),
                        level=level,
                    )
                )
            elif self.did_effect is not None:
                parts.append(
                    message(
                        "evaluation.did",
                        lang,
                        effect=pct(self.did_effect),
                        lo=pct(self.did_lo),
                        hi=pct(self.did_hi),
                        level=level,
                    )
                )
        if self.forecast_effect is not None and self.observed == 0:
            parts.append(
                message(
                    "evaluation.forecast_none",
                    lang,
                    expected=format_number(self.expected, 1, lang),
                    lo=pct(self.forecast_lo),
                    hi=pct(self.forecast_hi),
                    level=level,
                )
            )
        elif self.forecast_effect is not None:
            parts.append(
                message(
                    "evaluation.forecast",
                    lang,
                    effect=pct(self.forecast_effect),
                    lo=pct(self.forecast_lo),
                    hi=pct(self.forecast_hi),
                    level=level,
                )
            )
        if self.calibration_lo is not None and self.control_observed == 0:
            parts.append(
                message(
                    "evaluation.calibration_none",
                    lang,
                    c_expected=format_number(self.control_expected, 1, lang),
                    lo=ratio(self.calibration_lo),
                    level=level,
                )
            )
        elif self.calibration_lo is not None:
            parts.append(
                message(
                    "evaluation.calibration",
                    lang,
                    ratio=ratio(self.calibration),
                    lo=ratio(self.calibration_lo),
                    hi=ratio(self.calibration_hi),
                    level=level,
                )
            )
        if self.calibration_lo is not None and (
            self.calibration_lo > 1 or (self.calibration_hi is not None and self.calibration_hi < 1)
        ):
            parts.append(message("evaluation.calibration_off", lang))
        if self.verdict == "cannot_tell":
            effect = format_percent(100 * self.detect_effect, lang, 0, sign=False)
            if self.more_needed is None:
                parts.append(message("evaluation.too_many", lang, effect=effect, what=what))
            elif self.more_needed == 0:
                parts.append(message("evaluation.smaller", lang, effect=effect, what=what))
            else:
                parts.append(message("evaluation.more_needed", lang, effect=effect, n=self.more_needed, what=what))
        if self.not_evaluated:
            parts.append(
                message("evaluation.left_out", lang, n=len(self.not_evaluated), given=self.shifts_given, what=what)
            )
        return " ".join(parts)

    def to_dict(self, lang: Lang = "sv") -> dict[str, Any]:
        """JSON-ready: every field plus ``text`` in ``lang``."""
        return {**asdict(self), "text": self.text(lang)}


def poisson_interval(observed: int, level: float) -> tuple[float, float]:
    """The exact (Garwood) central ``level`` interval of a Poisson mean from one ``observed`` count
    [incidents]: ``(chi2(a/2; 2O) / 2, chi2(1 - a/2; 2O + 2) / 2)``, the lower end 0 when ``O`` is 0."""
    tail = (1 - level) / 2
    lo = 0.0 if observed == 0 else float(stats.chi2.ppf(tail, 2 * observed)) / 2
    hi = float(stats.chi2.ppf(1 - tail, 2 * observed + 2)) / 2
    return lo, hi


def evaluate_coverage(
    shifts: Sequence[Mapping[str, Any]],
    incidents: pd.DataFrame,
    grids: pd.DataFrame | Sequence[pd.DataFrame],
    *,
    kind: Literal["night_walk", "guard"] = "night_walk",
    tz: str = DEFAULT_TZ,
    until: pd.Timestamp | str | None = None,
    level: float = 0.90,
    assumed_effect: float = 0.10,
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
        place-hours; where they overlap the first one given is used. None given: no shift can be
        compared (each is listed as ``no_forecast``).
    tz : local zone for hours of the week and nights.
    until : the end of the incident data (for data from a feed: the feed's end, not the last
        incident at these places); place-hours from it on are left out (incidents not yet imported
        must not look like an effect). Default: the hour after the last incident; with no incident
        and no ``until`` nothing is evaluated.
    level : the confidence level of the intervals and of the test the power calculation assumes.
    assumed_effect : the planning assumption [0-1]; only the default of ``detect_effect``.
    detect_effect : the effect the "how many more" calculation asks to see (default: ``assumed_effect``).
    """
    tz = check_tz(tz)
    if kind not in ("night_walk", "guard"):
        raise InvalidInputError(f"kind {kind!r} is not one of ['night_walk', 'guard']")
    if not 0.5 <= level < 1:
        raise InvalidInputError(f"level must lie in [0.5, 1), e.g. 0.9, got {level}")
    detect = assumed_effect if detect_effect is None else float(detect_effect)
    if not 0 < detect < 1:
        raise InvalidInputError(f"detect_effect must lie in (0, 1), e.g. 0.1, got {detect}")
    cells = shift_cells(shifts, "shifts")
    given = sorted({k for k, s in enumerate(shifts) if str(s.get("kind", "night_walk")) == kind})
    if not given:
        raise InvalidInputError(f"no {kind} shifts given: pass the shifts that were done (plan.json shifts)")
    own = cells[cells["kind"] == kind]
    frames = [grids] if isinstance(grids, pd.DataFrame) else list(grids)
    expected = grid_expected(frames) if frames else pd.Series(dtype=float, index=_empty_index())
    occurred = incident_times(incidents)
    if until is None:
        end = occurred.max().floor("h") + pd.Timedelta(hours=1) if len(occurred) else None
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

    # treated: the kind's covered place-hours that the forecast covers and the data reach
    cell_index = pd.MultiIndex.from_frame(own[["place_id", "hour"]])
    in_grid = cell_index.isin(expected.index)
    in_data = np.zeros(len(own), dtype=bool) if end is None else np.asarray(own["hour"] < end, dtype=bool)
    kept = in_grid & in_data
    treated = cell_index[kept].unique()
    not_evaluated = []
    for k in given:
        mine = np.asarray(own["shift"] == k, dtype=bool)
        if (kept & mine).any():
            continue
        reason: NotEvaluatedReason
        if end is None:
            reason = "no_data"
        elif not (in_data & mine).any():
            reason = "after_data"  # wholly after the end of the data
        else:
            reason = "no_forecast"  # the data reach it, no forecast covers those place-hours
        not_evaluated.append({"shift": k, "reason": reason})
    # comparison: same places and local hours of the week, nights with no shift of any kind there
    cand = expected if end is None else expected[(expected.index.get_level_values(1) < end)]
    if end is None or len(treated) == 0:
        cand = cand.iloc[:0]
    cand_places = cand.index.get_level_values(0).to_numpy()
    cand_hours = pd.DatetimeIndex(cand.index.get_level_values(1))
    cand_how = hour_of_week(cand_hours.tz_convert(tz)) if len(cand) else np.array([], dtype=int)
    cand_night = np.asarray(night_of(cand_hours, tz)) if len(cand) else np.array([], dtype=object)
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

    e_t = float(expected.reindex(treated).sum()) if len(treated) else 0.0
    o_t = int(hits.reindex(treated, fill_value=0).sum()) if len(treated) else 0
    e_c = float(expected.reindex(control).sum()) if len(control) else 0.0
    o_c = int(hits.reindex(control, fill_value=0).sum()) if len(control) else 0

    f_effect = f_lo = f_hi = None
    if e_t > 0:
        lo, hi = poisson_interval(o_t, level)
        f_effect, f_lo, f_hi = 1 - o_t / e_t, 1 - hi / e_t, 1 - lo / e_t
    cal = cal_lo = cal_hi = None
    if e_c > 0:
        lo, hi = poisson_interval(o_c, level)
        cal = e_c / o_c if o_c > 0 else None
        cal_lo, cal_hi = e_c / hi, (e_c / lo if lo > 0 else None)

    did_effect = did_lo = did_hi = did_p = prevented = None
    if e_c > 0 and e_t > 0 and o_t + o_c > 0:
        share = e_t / (e_t + e_c)  # P(an incident falls in T) when RR = 1
        test = stats.binomtest(o_t, o_t + o_c, share)
        ci = test.proportion_ci(confidence_level=level, method="exact")
        did_p = float(test.pvalue)
        # p = 1 (every incident in covered hours) leaves RR without an upper end: no lower end of the effect
        did_lo = None if ci.high >= 1 else 1 - ci.high / (1 - ci.high) * e_c / e_t
        did_hi = 1 - ci.low / (1 - ci.low) * e_c / e_t
        if o_c > 0:
            did_effect = 1 - (o_t / e_t) / (o_c / e_c)
            prevented = e_t * o_c / e_c - o_t
    n_shifts = int(own.loc[kept, "shift"].nunique())
    if did_lo is not None and did_lo > 0 and f_lo is not None and f_lo > 0:
        verdict: Verdict = "fewer"
    elif did_hi is not None and did_hi < 0 and f_hi is not None and f_hi < 0:
        verdict = "more"
    else:
        verdict = "cannot_tell"
    more = 0 if verdict != "cannot_tell" else _more_needed(n_shifts, e_t, e_c, o_c, detect, level)
    return CoverageEvaluation(
        kind=kind,
        shifts=n_shifts,
        shifts_given=len(given),
        place_hours=len(treated),
        expected=e_t,
        observed=o_t,
        control_place_hours=len(control),
        control_expected=e_c,
        control_observed=o_c,
        forecast_effect=f_effect,
        forecast_lo=f_lo,
        forecast_hi=f_hi,
        calibration=cal,
        calibration_lo=cal_lo,
        calibration_hi=cal_hi,
        did_effect=did_effect,
        did_lo=did_lo,
        did_hi=did_hi,
        did_p_value=did_p,
        prevented=prevented,
        level=level,
        verdict=verdict,
        detect_effect=detect,
        more_needed=more,
        assumed_effect=assumed_effect,
        not_evaluated=not_evaluated,
    )


def nothing_evaluated(
    kind: Literal["night_walk", "guard"], shifts_given: int, *, assumed_effect: float = 0.10, level: float = 0.90
) -> CoverageEvaluation:
    """The answer when none of ``shifts_given`` shifts could be compared (none completed, or none with
    known place-hours): "cannot tell", with no figure that was not measured."""
    return CoverageEvaluation(
        kind=kind, shifts=0, shifts_given=shifts_given, place_hours=0, expected=0.0, observed=0,
        control_place_hours=0, control_expected=0.0, control_observed=0, forecast_effect=None, forecast_lo=None,
        forecast_hi=None, calibration=None, calibration_lo=None, calibration_hi=None, did_effect=None, did_lo=None,
        did_hi=None, did_p_value=None, prevented=None, level=level, verdict="cannot_tell",
        detect_effect=assumed_effect, more_needed=None, assumed_effect=assumed_effect,
    )  # fmt: skip


def _empty_index() -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [pd.Index([], dtype=object), pd.DatetimeIndex([], tz="UTC")], names=["place_id", "hour"]
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
    if n_shifts == 0 or e_t <= 0:
        return None  # nothing evaluated: no shift to scale from
    # with no comparison yet, assume as much comparison as covered risk and the forecast's own rate
    ratio = e_c / e_t if e_c > 0 else 1.0
    rate = o_c / e_c if e_c > 0 and o_c > 0 else 1.0
    total = shifts_needed(effect, e_t / n_shifts, ratio, rate, level)
    return None if total is None else max(0, total - n_shifts)
