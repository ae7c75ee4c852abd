"""The pooled count model: place level x pooled hour-of-week profile x calendar x near-repeat.

    mu[p, t] = level[p] * profile[p, how(t)] * day_effect[town(p), activity_day(t)] * near_repeat[p, t]

* ``profile`` is the place's hour-of-week share, shrunk towards the place's hour-of-day
  profile, which is itself shrunk towards its parent's: the municipality's, shrunk towards
  the police area's, shrunk towards the pooled profile of all places (levels that group the
  places no differently from the level next to them are skipped; without a places frame the
  parent is the pooled profile). The shrinkage strengths are empirical-Bayes estimates
  (Dirichlet-multinomial marginal likelihood) per level, so a place or town with little
  history borrows its neighbours' profile and a busy one keeps its own.
* ``day_effect`` is a Poisson GLM (statsmodels) on daily totals across places with a trend,
  yearly Fourier terms (when two years of history exist) and the Swedish calendar
  (:class:`tryggplan.calendar.SwedishCalendar`), lightly ridge-penalised so that rare days
  (Walpurgis, Midsummer Eve, New Year's Eve) are estimated but not over-fitted. Each police
  area and municipality then gets its own deviation of the season and calendar terms, shrunk
  by empirical Bayes (normal prior per coefficient, DerSimonian-Laird variance): a quiet town
  keeps the area's calendar, a busy one with its own keeps most of it.
* ``level`` is the place's recency-weighted rate given the other factors, shrunk towards its
  municipality's rate (shrunk towards the police area's, then the whole area's) by
  gamma-Poisson empirical-Bayes priors, so a small town stays at its own level while it
  borrows its neighbours' shape.
* ``near_repeat`` raises (or lowers) the forecast for a place whose recent counts ran above
  (or below) the model, decaying with lead time: the short-lived rise after incidents at a
  place (Johnson & Bowers 2004; Mohler et al. 2011).
* The predictive distribution is negative binomial with a dispersion estimated by maximum
  likelihood on the last weeks of training data.

Weighted counts (``hourly_count_matrix(..., weighted=True)``) are non-integer; the model fits
them unchanged. The Poisson and negative-binomial likelihoods are then quasi-likelihoods: the
estimating equations of the mean only need ``E[y] = mu``, so ``expected`` is the expected
*weighted* count [weighted incidents/h]; ``nb_alpha`` is fitted to the weighted counts' spread
as if one unit of weight were one incident, and ``p_any``/``lo_80``/``hi_80`` read in those units
(with all weights ``w`` the variance is ``w`` times the one assumed, so for ``w > 1`` the
dispersion absorbs part of it and for ``w < 1`` the intervals are too wide). The backtest metrics
that need integer counts (``log_score``, the PIT) are only meaningful on unweighted counts.

References
----------
Johnson, S. D. & Bowers, K. J. (2004). The burglary as clue to the future. European Journal of
Criminology 1(2).
Mohler, G. O. et al. (2011). Self-exciting point process modeling of crime. JASA 106(493).
Minka, T. (2000). Estimating a Dirichlet distribution (for the Dirichlet-multinomial evidence).
Gelman, A. & Hill, J. (2007). Data Analysis Using Regression and Multilevel/Hierarchical Models,
ch. 12-13 (partial pooling across nested groups).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, signal, sparse
from scipy.special import gammaln

from tryggplan.calendar import CALENDAR_FEATURES, activity_day
from tryggplan.counts import CountMatrix
from tryggplan.forecasting.base import Forecaster
from tryggplan.forecasting.peers import quiet_prophet
from tryggplan.timeutil import hour_of_week

_KAPPA_GRID = np.logspace(-0.5, 5, 45)
_LEADS_H = np.array([1.0, 24.0, 72.0, 168.0, 336.0])
_HOD_OF_HOW = np.arange(168) % 24
_DOW_OF_HOW = np.arange(168) // 24
#: a police area or municipality with fewer incidents than this keeps its parent's day effects
#: outright (its own GLM would be noise, and shrinkage would take it there anyway)
_MIN_GROUP_INCIDENTS = 10.0
#: ridge on a group's own season and calendar deviations: only against separation (a group without
#: any incident on its Midsummer Eves); the shrinkage itself is the empirical-Bayes step
_DEVIATION_RIDGE = 0.01


def _dm_best_kappa(counts: np.ndarray, target: np.ndarray) -> float:
    """Concentration κ maximising the Dirichlet-multinomial evidence of ``counts`` rows.

    counts, target : ``(n_places, n_cells)``; target rows are shares summing to one.
    """
    rows = counts.sum(axis=1) > 0
    if not rows.any():
        return float(_KAPPA_GRID[-1])
    n, q = counts[rows], np.maximum(target[rows], 1e-12)
    total = n.sum(axis=1)
    best, best_ll = _KAPPA_GRID[-1], -np.inf
    for kappa in _KAPPA_GRID:
        a = kappa * q
        ll = (gammaln(kappa) - gammaln(total + kappa)).sum() + (gammaln(n + a) - gammaln(a)).sum()
        if ll > best_ll:
            best, best_ll = kappa, ll
    return float(best)


def _shrink(counts: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """Posterior-mean shares of each row, shrunk towards ``target`` by the evidence-optimal κ."""
    kappa = _dm_best_kappa(counts, target)
    shares = (counts + kappa * target) / (counts.sum(axis=1, keepdims=True) + kappa)
    return shares, kappa


def _shrink_profile(counts: np.ndarray, parent: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Hour-of-week shares of each row of ``counts`` ``(rows, 168)``, shrunk towards ``parent``.

    First the row's hour-of-day shares are shrunk towards the parent's hour of day, then its
    hour-of-week shares towards the parent's hour-of-week shape rescaled to that hour of day;
    both strengths are evidence-optimal (:func:`_dm_best_kappa`). Returns the shares and the two κ.
    """
    rows = counts.shape[0]
    n_hod = np.zeros((rows, 24))
    np.add.at(n_hod.T, _HOD_OF_HOW, counts.T)
    parent_hod = np.zeros((rows, 24))
    np.add.at(parent_hod.T, _HOD_OF_HOW, parent.T)
    row_hod, kappa_hod = _shrink(n_hod, parent_hod)
    target = parent * (row_hod / parent_hod)[:, _HOD_OF_HOW]
    target /= target.sum(axis=1, keepdims=True)
    shares, kappa_how = _shrink(counts, target)
    return shares, kappa_hod, kappa_how


def _below(
    levels: list[tuple[str, np.ndarray]], n_places: int, keep_place_partition: bool
) -> list[tuple[str, np.ndarray]]:
    """The grouping levels (top down) that split the places differently from the levels next
    to them: one police area for the whole town, or areas that are single municipalities, add
    nothing (the lower level is kept). With ``keep_place_partition=False`` a level of one place
    per group is left out too: the place level itself does that step."""
    out: list[tuple[str, np.ndarray]] = []
    below = None if keep_place_partition else n_places
    for name, codes in reversed(levels):
        n_nodes = int(codes.max()) + 1 if len(codes) else 0
        if n_nodes <= 1 or n_nodes == below:
            continue
        out.append((name, codes))
        below = n_nodes
    return out[::-1]


def _first_of(codes: np.ndarray) -> np.ndarray:
    """Index of the first place of each group ``0 .. codes.max()``."""
    return np.unique(codes, return_index=True)[1]


def _gamma_poisson(num: np.ndarray, den: np.ndarray, prior_mean: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Posterior-mean rates ``num/den`` of groups shrunk towards their parent's rate ``prior_mean``.

    Gamma prior with mean ``prior_mean`` and squared coefficient of variation ``cv2`` estimated by
    moments across the groups that have siblings (an only child says nothing about the spread):
    ``cv2 = (sum den (raw - m)^2 / m^2 - sum 1/m) / sum den``, at least 0.05^2; with fewer than three
    such groups ``cv2 = 1`` (a prior worth one incident). With one parent this is the gamma-Poisson
    shrinkage of :meth:`PooledCountModel._shrink_levels`.
    """
    seen = den > 0
    siblings = np.bincount(parent)[parent] > 1
    use = seen & siblings
    raw = np.where(seen, num / np.maximum(den, 1e-12), 0.0)
    m = prior_mean
    if use.sum() >= 3:
        spread = (den[use] * (raw[use] - m[use]) ** 2 / m[use] ** 2).sum() - (1.0 / m[use]).sum()
        cv2 = max(spread / den[use].sum(), 0.05**2)
    else:
        cv2 = 1.0
    return (num + 1.0 / cv2) / (den + 1.0 / (cv2 * m))


def _shrink_level_tree(num: np.ndarray, den: np.ndarray, levels: list[np.ndarray]) -> np.ndarray:
    """Place rates [incidents/h] shrunk level by level: each group towards its parent's shrunk
    rate, the places towards their group's (:func:`_gamma_poisson`)."""
    seen = den > 0
    m = num[seen].sum() / max(den[seen].sum(), 1e-12)
    if m <= 0:  # no incident at all yet: half an incident over the whole exposure, not zero
        m = 0.5 / max(den.sum(), 1e-12)
    rate = np.full(len(num), m)
    above = np.zeros(len(num), dtype=np.int64)
    for codes in [*levels, np.arange(len(num))]:
        first = _first_of(codes)
        node_rate = _gamma_poisson(
            np.bincount(codes, weights=num), np.bincount(codes, weights=den), rate[first], above[first]
        )
        rate, above = node_rate[codes], codes
    return rate


def _ridge_poisson(
    X: np.ndarray, y: np.ndarray, offset: np.ndarray, ridge: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Penalised Poisson regression ``y ~ Poisson(exp(offset + X b))``, penalty ``sum(ridge * b^2) / 2``.

    The exact optimum (scipy's trust-region Newton with the analytic Hessian, a few iterations
    for the ~15 coefficients of a day-effect design) and the variances of ``b``: the diagonal of
    the inverse penalised information ``(X' W X + diag(ridge))^-1``. Used for the many small
    per-group fits, where statsmodels' coordinate descent would cost ~5x more.
    """

    def objective(b: np.ndarray) -> tuple[float, np.ndarray]:
        eta = np.clip(offset + X @ b, -30.0, 30.0)
        mu = np.exp(eta)
        return float((mu - y * eta).sum() + 0.5 * (ridge * b * b).sum()), X.T @ (mu - y) + ridge * b

    def hessian(b: np.ndarray) -> np.ndarray:
        mu = np.exp(np.clip(offset + X @ b, -30.0, 30.0))
        return X.T @ (X * mu[:, None]) + np.diag(ridge)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = optimize.minimize(objective, np.zeros(X.shape[1]), jac=True, hess=hessian, method="trust-exact")
    params = fit.x if np.isfinite(fit.x).all() else np.zeros(X.shape[1])
    variance = np.diag(np.linalg.pinv(hessian(params)))
    return params, np.maximum(variance, 0.0)


def _nb_alpha_mle(y: np.ndarray, mu: np.ndarray) -> float:
    """Maximum-likelihood NB2 dispersion for counts ``y`` with means ``mu`` (0 = Poisson)."""
    y, mu = y.ravel(), np.maximum(mu.ravel(), 1e-12)
    if y.sum() == 0:
        return 0.0

    def negll(log_alpha: float) -> float:
        alpha = np.exp(log_alpha)
        size = 1.0 / alpha
        return -float(
            (gammaln(y + size) - gammaln(size) + size * np.log(size / (size + mu)) + y * np.log(mu / (size + mu))).sum()
        )

    res = optimize.minimize_scalar(negll, bounds=(np.log(1e-4), np.log(20.0)), method="bounded")
    pois = float((y * np.log(mu) - mu - gammaln(y + 1)).sum())
    nb_ll = -res.fun - float(gammaln(y + 1).sum())
    return float(np.exp(res.x)) if nb_ll > pois + 1.0 else 0.0


def _decayed(values: np.ndarray, tau_h: float) -> np.ndarray:
    """Exponentially decayed sum of each row over the *previous* hours (time constant τ [h])."""
    decay = np.exp(-1.0 / tau_h)
    out = signal.lfilter([0.0, 1.0], [1.0, -decay], values, axis=1)
    return out


class PooledCountModel(Forecaster):
    """Level x pooled hour-of-week profile x calendar GLM x near-repeat, negative binomial.

    Parameters
    ----------
    level_half_life_days : half-life [days] of the recency weights of the place level
    near_repeat_tau_days : time constant [days] of the near-repeat excess
    season : include yearly Fourier terms when at least two years of history exist
    ridge : ridge penalty on the calendar and season coefficients of the day-effect GLM
    near_repeat, calendar_effects : switch those ingredients off (for ablation backtests)
    profile_half_life_days : recency half-life [days] of the hour-of-week profile; ``None``
        weighs all history equally (backtests on both real data sets found no gain from it)
    hierarchy : with ``places`` given to :meth:`fit`, pool municipality -> police area -> all
        (profile, season and calendar effects, levels); ``False`` pools all places flat as if
        they were one town (the model without places)
    """

    name = "pooled_glm"
    version = "1"

    def __init__(
        self,
        level_half_life_days: float = 120.0,
        near_repeat_tau_days: float = 7.0,
        season: bool = True,
        ridge: float = 1.0,
        near_repeat: bool = True,
        calendar_effects: bool = True,
        profile_half_life_days: float | None = None,
        hierarchy: bool = True,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.level_half_life_days = level_half_life_days
        self.near_repeat_tau_days = near_repeat_tau_days
        self.season = season
        self.ridge = ridge
        self.near_repeat = near_repeat
        self.calendar_effects = calendar_effects
        self.profile_half_life_days = profile_half_life_days
        self.hierarchy = hierarchy

    # -- fitting -----------------------------------------------------------------------------
    def _fit(self, counts: CountMatrix) -> None:
        y = counts.values
        slots = counts.slots
        n_places, n_slots = y.shape
        how = hour_of_week(slots).astype(np.int64)
        valid = self._valid_slots(y, slots)
        age_h = (n_slots - 1 - np.arange(n_slots)).astype(float)
        if self.profile_half_life_days:
            profile_w = 0.5 ** (age_h / (self.profile_half_life_days * 24.0)) * valid
        else:
            profile_w = valid
        # (n_slots, 168) weighted one-hot of the hour of week: sums over slots become one
        # sparse product, so no (places x slots) temporary is made
        how_onehot = sparse.csr_matrix((profile_w, (np.arange(n_slots), how)), shape=(n_slots, 168))
        levels = self._hierarchy(n_places)

        # 1. hour-of-week profile: all places -> police area -> municipality -> place (hour of
        # day first, then hour of week), each step shrunk towards the one above
        exposure_how = np.bincount(how, weights=profile_w, minlength=168).astype(float)
        n_how = np.asarray((how_onehot.T @ y.T).T)
        # the pooled profile is itself shrunk towards hour-of-day x day-of-week, each shrunk
        # towards flat: with few places or few incidents it is no better than one place's
        pooled_counts = n_how.sum(axis=0) / np.maximum(exposure_how, 1.0) * exposure_how.mean()
        hod_sm, _ = _shrink(
            np.bincount(_HOD_OF_HOW, weights=pooled_counts, minlength=24)[None, :], np.full((1, 24), 1 / 24)
        )
        dow_sm, _ = _shrink(
            np.bincount(_DOW_OF_HOW, weights=pooled_counts, minlength=7)[None, :], np.full((1, 7), 1 / 7)
        )
        smooth = (hod_sm[0][_HOD_OF_HOW] * dow_sm[0][_DOW_OF_HOW])[None, :]
        pooled, self.kappa_pooled_ = _shrink(pooled_counts[None, :], smooth / smooth.sum())
        parent = np.repeat(pooled, n_places, axis=0)
        self.kappa_levels_: dict[str, tuple[float, float]] = {}
        for name, codes in _below(levels, n_places, keep_place_partition=False):
            node_how = np.zeros((int(codes.max()) + 1, 168))
            np.add.at(node_how, codes, n_how)
            node_share, k_hod, k_how = _shrink_profile(node_how, parent[_first_of(codes)])
            self.kappa_levels_[name] = (k_hod, k_how)
            parent = node_share[codes]
        place_share, self.kappa_hod_, self.kappa_how_ = _shrink_profile(n_how, parent)
        # rate ratio of each hour of week to the place's mean hour
        self.profile_ = place_share * 168.0

        # 2. day effects: GLM on daily totals with the level and profile as offset; below the
        # whole town, each police area's and municipality's deviation from the level above
        days = activity_day(slots)
        day_codes, day_index = pd.factorize(days, sort=True)
        slot_totals = y.sum(axis=0) * valid
        base_rate = y @ valid / max(valid.sum(), 1.0)  # first-pass place levels [incidents/h]
        hourly_base = (base_rate @ self.profile_)[how]
        day_obs = np.bincount(day_codes, weights=slot_totals)
        day_exp = np.bincount(day_codes, weights=hourly_base * valid)
        day_ok = np.bincount(day_codes, weights=valid) >= 12  # at least half a day observed
        self.day_index_start_ = day_index[0]
        self.use_season_ = self.season and int(day_ok.sum()) >= 730
        design = self._design(day_index)
        self.day_params_ = self._fit_day_glm(design[day_ok], day_obs[day_ok], day_exp[day_ok])
        self._fit_day_deviations(y, valid, how, day_codes, day_ok, design, base_rate, levels)
        day_effect = self._day_effects(design)  # (groups, days)

        # 3. place level given profile and day effects, recency weighted, gamma-Poisson shrunk
        # towards its municipality's level (which is shrunk towards its police area's, ...)
        w = 0.5 ** (age_h / (self.level_half_life_days * 24.0)) * valid
        num = y @ w
        exposure = np.stack([np.bincount(how, weights=d[day_codes] * w, minlength=168) for d in day_effect])
        if len(day_effect) == 1:
            den = self.profile_ @ exposure[0]
        else:
            den = (self.profile_ * exposure[self.day_group_]).sum(axis=1)
        level_tree = [codes for _, codes in _below(levels, n_places, keep_place_partition=False)]
        self.level_ = self._shrink_levels(num, den) if not level_tree else _shrink_level_tree(num, den, level_tree)

        # 4. near-repeat and dispersion, estimated on the last weeks of the training data
        fit_hours = 26 * 168
        tail = slice(max(0, n_slots - fit_hours - 6 * 168), n_slots)  # six weeks to warm up the filters
        y_t, valid_t = y[:, tail], valid[tail]
        effect_t = day_effect[:, day_codes[tail]][self.day_group_]
        mu_t = self.level_[:, None] * self.profile_[:, how[tail]] * effect_t
        self.near_repeat_gamma_ = np.zeros(len(_LEADS_H))
        self.near_repeat_ratio_ = np.zeros(n_places)
        tau_h = self.near_repeat_tau_days * 24.0
        if self.near_repeat and n_slots > 8 * 168:
            obs_dec = _decayed(y_t * valid_t[None, :], tau_h)
            exp_dec = _decayed(mu_t * valid_t[None, :], tau_h)
            prior = max(1.0, float(np.median(exp_dec[:, -1])))  # pseudo-count of the ratio
            log_ratio = np.log((obs_dec + prior) / (exp_dec + prior))
            n_tail = y_t.shape[1]
            window = slice(max(n_tail - fit_hours, min(4 * 168, n_tail // 2)), n_tail)
            for i, lead in enumerate(_LEADS_H.astype(int)):
                z = np.zeros_like(log_ratio)
                z[:, lead:] = log_ratio[:, :-lead]
                self.near_repeat_gamma_[i] = self._fit_gamma(
                    y_t[:, window], mu_t[:, window], z[:, window], valid_t[window]
                )
            last_obs = obs_dec[:, -1] * np.exp(-1.0 / tau_h) + y_t[:, -1] * valid_t[-1]
            last_exp = exp_dec[:, -1] * np.exp(-1.0 / tau_h) + mu_t[:, -1] * valid_t[-1]
            self.near_repeat_ratio_ = np.log((last_obs + prior) / (last_exp + prior))
        recent = slice(max(0, y_t.shape[1] - fit_hours), y_t.shape[1])
        ok = valid_t[recent] > 0
        self.nb_alpha_ = _nb_alpha_mle(y_t[:, recent][:, ok], mu_t[:, recent][:, ok])

    def _hierarchy(self, n_places: int) -> list[tuple[str, np.ndarray]]:
        """The grouping levels between the whole town and the places, top down: (name, node of
        each place). Empty without places or with ``hierarchy=False`` (one flat pool)."""
        if self.place_groups_ is None or not self.hierarchy:
            return []
        return [
            (col, pd.factorize(self.place_groups_[col].to_numpy(dtype=object))[0].astype(np.int64))
            for col in ("police_area", "municipality")
        ]

    @staticmethod
    def _valid_slots(y: np.ndarray, slots: pd.DatetimeIndex) -> np.ndarray:
        """1.0 for hours to learn from, 0.0 for days that look like a data gap.

        A local day with no incidents at all while the four weeks around it average at least
        five a day is a gap in the feed (scrapes, export failures), not a quiet day.
        """
        dates = slots.tz_localize(None).normalize()
        codes, _ = pd.factorize(dates, sort=True)
        daily = np.bincount(codes, weights=y.sum(axis=0))
        around = pd.Series(daily).rolling(29, center=True, min_periods=7).mean().to_numpy()
        gap = (daily == 0) & (np.nan_to_num(around) >= 5.0)
        return (~gap[codes]).astype(float)

    def _design(self, days: pd.DatetimeIndex) -> np.ndarray:
        """Day-effect design matrix: trend, yearly Fourier terms, calendar features."""
        t_years = (days - self.day_index_start_).days.to_numpy() / 365.25
        cols = [np.ones(len(days)), t_years]
        if self.use_season_:
            doy = days.dayofyear.to_numpy() / 365.25 * 2 * np.pi
            for k in (1, 2):
                cols += [np.sin(k * doy), np.cos(k * doy)]
        if self.calendar_effects:
            feats = self.calendar_.features(days)
            cols += [feats[c].to_numpy() for c in CALENDAR_FEATURES]
        return np.column_stack(cols)

    def _fit_day_glm(self, X: np.ndarray, observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
        """Ridge-penalised Poisson GLM (statsmodels) of the town's daily counts with ``expected``
        [incidents/day] as offset: intercept and trend free, season and calendar terms penalised."""
        import statsmodels.api as sm

        offset = np.log(np.maximum(expected, 1e-9))
        penalty = np.full(X.shape[1], self.ridge / max(len(observed), 1))
        penalty[:2] = 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = sm.GLM(observed, X, family=sm.families.Poisson(), offset=offset)
            try:
                fit = model.fit_regularized(alpha=penalty, L1_wt=0.0, maxiter=200)
                params = np.asarray(fit.params)
            except (ValueError, np.linalg.LinAlgError):
                params = np.zeros(X.shape[1])
        if not np.isfinite(params).all():
            params = np.zeros(X.shape[1])
        return params

    def _fit_day_deviations(
        self,
        y: np.ndarray,
        valid: np.ndarray,
        how: np.ndarray,
        day_codes: np.ndarray,
        day_ok: np.ndarray,
        design: np.ndarray,
        base_rate: np.ndarray,
        levels: list[tuple[str, np.ndarray]],
    ) -> None:
        """Each police area's and municipality's own season and calendar effects, shrunk.

        Level by level (top down), every group's coefficients are fitted as a deviation ``d``
        from its parent's (whose effects enter the offset; a ridge of 0.01 only guards against
        separation), then shrunk by empirical Bayes: a normal prior ``d_k ~ N(0, tau_k^2)`` per
        coefficient, ``tau_k^2`` by the DerSimonian-Laird moment estimator across the groups of
        the level (weights ``1/se^2``), and each ``d_k`` multiplied by
        ``tau_k^2 / (tau_k^2 + se_k^2)``. A town with few incidents has a large ``se`` and keeps
        its parent's effects; a busy town with a distinct calendar keeps most of its own. Groups
        with fewer than 10 incidents keep their parent's effects outright. Sets ``day_group_``
        (the group of each place), ``day_params_groups_`` (one coefficient row per group) and
        ``day_shrinkage_`` (per level, the factor applied to each group's deviations).

        References
        ----------
        DerSimonian, R. & Laird, N. (1986). Meta-analysis in clinical trials. Controlled
        Clinical Trials 7(3).
        Efron, B. & Morris, C. (1975). Data analysis using Stein's estimator and its
        generalizations. JASA 70(350).
        """
        n_places = y.shape[0]
        n_days = len(day_ok)
        params = self.day_params_[None, :]
        codes_above = np.zeros(n_places, dtype=np.int64)
        self.day_shrinkage_: dict[str, np.ndarray] = {}
        levels_below = _below(levels, n_places, keep_place_partition=True)
        if levels_below:
            # valid hours per hour of week and day: a node's expected daily count is then one product
            per_how_day = sparse.csr_matrix((valid, (how, day_codes)), shape=(168, n_days))
            rate_profile = base_rate[:, None] * self.profile_  # (places, 168) [incidents/h]
            by_day = sparse.csr_matrix((valid, (np.arange(len(valid)), day_codes)), shape=(len(valid), n_days))
            place_obs = np.asarray((by_day.T @ y.T).T)  # (places, days)
        for name, codes in levels_below:
            n_nodes = int(codes.max()) + 1
            parent_params = params[codes_above[_first_of(codes)]]  # (nodes, k)
            node_obs = np.zeros((n_nodes, n_days))
            np.add.at(node_obs, codes, place_obs)
            node_rp = np.zeros((n_nodes, 168))
            np.add.at(node_rp, codes, rate_profile)
            node_exp = np.asarray((per_how_day.T @ node_rp.T).T)
            dev = np.zeros((n_nodes, design.shape[1]))
            var = np.full((n_nodes, design.shape[1]), np.inf)
            free = parent_params.copy()
            free[:, :2] = 0.0  # the parent's season and calendar enter the offset, its level does not
            ridge = np.full(design.shape[1], _DEVIATION_RIDGE)
            ridge[:2] = 0.0
            for node in range(n_nodes):
                if node_obs[node, day_ok].sum() < _MIN_GROUP_INCIDENTS:
                    continue
                offset = np.log(np.maximum(node_exp[node, day_ok], 1e-9)) + design[day_ok] @ free[node]
                dev[node], var[node] = _ridge_poisson(design[day_ok], node_obs[node, day_ok], offset, ridge)
            fitted = np.isfinite(var).all(axis=1)
            tau2 = np.zeros(design.shape[1])
            if fitted.sum() >= 2:
                # DerSimonian-Laird: weights 1/se^2, prior mean 0 (a deviation from the parent)
                weight = 1.0 / np.maximum(var[fitted], 1e-12)
                q = (weight * dev[fitted] ** 2).sum(axis=0)
                tau2 = np.maximum(0.0, (q - fitted.sum()) / weight.sum(axis=0))
            factor = np.where(np.isfinite(var), tau2 / np.maximum(tau2 + var, 1e-300), 0.0)
            factor[:, :2] = 0.0  # a group's own intercept and trend live in the place levels
            self.day_shrinkage_[name] = factor
            params = parent_params + factor * dev
            codes_above = codes
        self.day_group_ = codes_above
        self.day_params_groups_ = params

    def _day_effects(self, design: np.ndarray) -> np.ndarray:
        """Multiplicative day effects ``(groups, days)`` without intercept and trend (those live in the level)."""
        params = self.day_params_groups_.copy()
        params[:, :2] = 0.0
        return np.exp(np.clip(params @ design.T, -3.0, 3.0))

    @staticmethod
    def _shrink_levels(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        """Gamma-Poisson posterior mean of the place rates num/den (method-of-moments prior)."""
        seen = den > 0
        raw = np.where(seen, num / np.maximum(den, 1e-12), 0.0)
        m = num[seen].sum() / max(den[seen].sum(), 1e-12)
        if m <= 0:  # no incident at all yet: half an incident over the whole exposure, not zero
            m = 0.5 / max(den.sum(), 1e-12)
        if seen.sum() >= 3 and m > 0:
            between = np.average((raw[seen] - m) ** 2, weights=den[seen]) - m * seen.sum() / den[seen].sum()
            v = max(between, (0.05 * m) ** 2)
        else:
            v = m**2
        shape, rate = m * m / v, m / v
        return (num + shape) / (den + rate)

    @staticmethod
    def _fit_gamma(y: np.ndarray, mu: np.ndarray, z: np.ndarray, valid: np.ndarray) -> float:
        """Poisson MLE of γ in y ~ Poisson(mu * exp(γ z)) with γ in [0, 1]."""
        mask = valid[None, :] > 0
        y, mu, z = y[:, mask[0]], mu[:, mask[0]], z[:, mask[0]]

        def negll(g: float) -> float:
            return float((mu * np.exp(g * z) - y * g * z).sum())

        return float(optimize.minimize_scalar(negll, bounds=(0.0, 1.0), method="bounded").x)

    # -- prediction --------------------------------------------------------------------------
    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, float]:
        how = hour_of_week(slots)
        day_effect = self._day_effects(self._design(activity_day(slots)))
        mu = self.level_[:, None] * self.profile_[:, how] * day_effect[self.day_group_]
        if self.near_repeat and self.near_repeat_gamma_.any():
            lead_h = (slots.tz_convert("UTC") - self.trained_until_.tz_convert("UTC")) / pd.Timedelta(hours=1)
            lead_h = np.maximum(lead_h.to_numpy(dtype=float) + 1.0, 1.0)
            gamma = np.interp(np.log(lead_h), np.log(_LEADS_H), self.near_repeat_gamma_)
            mu = mu * np.exp(self.near_repeat_ratio_[:, None] * gamma[None, :])
        return mu, self.nb_alpha_


class ProphetPooledModel(Forecaster):
    """Prophet on the daily total of all places, spread over places and hours by the pooled model.

    Prophet (Taylor & Letham 2018) forecasts the town's daily total with its trend, weekly and
    yearly seasonality and the Swedish holidays *including the eves* (``holidays.SE`` keeps them
    under ``de_facto``, which ``add_country_holidays`` leaves out, so they are passed as a
    holidays frame). Each local day's total is then distributed over place-hours in the
    proportions of :class:`PooledCountModel`, whose dispersion is kept.

    References
    ----------
    Taylor, S. J. & Letham, B. (2018). Forecasting at scale. The American Statistician 72(1).
    """

    name = "prophet_pooled"
    version = "1"

    def _fit(self, counts: CountMatrix) -> None:
        self.shape_model_ = PooledCountModel(levels=self.levels).fit(counts, self.calendar_, self.place_groups_)
        valid = PooledCountModel._valid_slots(counts.values, counts.slots)
        days = counts.slots.tz_localize(None).normalize()
        codes, index = pd.factorize(days, sort=True)
        totals = np.bincount(codes, weights=counts.values.sum(axis=0))
        observed_hours = np.bincount(codes, weights=valid)
        keep = observed_hours >= 20
        history = pd.DataFrame({"ds": index[keep], "y": totals[keep]})
        years = list(range(index[0].year, index[-1].year + 2))
        prophet_cls = quiet_prophet()
        model = prophet_cls(
            growth="linear",
            weekly_seasonality=True,
            daily_seasonality=False,
            yearly_seasonality=len(history) >= 730,
            seasonality_mode="multiplicative",
            holidays=self.calendar_.holiday_frame(years),
            changepoint_prior_scale=0.05,
        )
        model.fit(history)
        self.prophet_ = model

    def _predict_matrix(self, slots: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray | float]:
        shape, alpha = self.shape_model_._predict_matrix(slots)
        days = slots.tz_localize(None).normalize()
        codes, index = pd.factorize(days, sort=True)
        shape_total = np.bincount(codes, weights=shape.sum(axis=0))
        yhat = self.prophet_.predict(pd.DataFrame({"ds": index}))["yhat"].to_numpy()
        # Prophet's additive noise model can go negative on quiet days: keep a floor
        total = np.maximum(yhat, 0.25 * shape_total)
        scale = np.where(shape_total > 0, total / np.maximum(shape_total, 1e-12), 1.0)
        return shape * scale[codes][None, :], alpha
