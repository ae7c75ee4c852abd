"""Plan and season warnings in the reader's language.

The planner writes its warnings in English (``Plan.warnings``, ``SeasonPlan.warnings``,
``SeasonStatus.warnings``: the API's and the CLI's texts, stored with every plan). A coordinator
reads them in Swedish on the dashboard: :func:`warning_text` gives each warning the planner writes
in Swedish, with Swedish dates (``fre 4 dec 20:00``), decimal commas and ``kr``, the way
:func:`tryggplan.i18n.problem_text` does for the readers' problems. It works on the stored text, so
plans stored before it existed read in Swedish too. A text it does not know is returned as it is
(``tests/test_allocation_warning_text.py`` makes the planner write its pacing, mid-week and re-plan
warnings and checks that each one is known).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from tryggplan.i18n import Lang, check_lang, format_date, format_number, weekday_name

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|mon|tue|wed|thu|fri|sat|sun)"
#: ``Fri 2026-12-04 20:00`` / ``fri 2026-12-04`` / ``Fri 20:00`` as the planner writes moments and nights
_MOMENT = re.compile(rf"\b({_DAY}) (\d{{4}}-\d\d-\d\d)(?: (\d\d:\d\d))?|\b({_DAY}) (\d\d:\d\d)\b")
_DATE = re.compile(r"(?<![\d-])(\d{4}-\d\d-\d\d)(?![\d-])")
_DECIMAL = re.compile(r"(?<![\d-])(\d+)\.(\d+)(?![\d-])")
_SOURCE_SV = {"forecast": "prognosen", "profile": "nattprofilen", "forecast+profile": "prognosen och nattprofilen"}
_FEATURE_SV = {
    "walpurgis": "valborg",
    "end_of_school": "skolavslutning",
    "midsummer_eve": "midsommarafton",
    "christmas_eve": "julafton",
    "new_years_eve": "nyårsafton",
    "public_holiday_eve": "helgdagsafton",
    "payday_weekend": "lönehelg",
    "school_holiday": "skollov",
    "summer_break": "sommarlov",
}


def _moment_sv(m: re.Match[str]) -> str:
    if m.group(2) is not None:
        day = dt.date.fromisoformat(m.group(2))
        text = format_date(day, "sv", "weekday")
        return f"{text} {m.group(3)}" if m.group(3) else text
    return f"{weekday_name(dt.date(2024, 1, 1 + _DAYS.index(m.group(4).lower())), 'sv', short=True)} {m.group(5)}"


def _sv(text: str) -> str:
    """Dates, moments and decimals of a captured value as Swedes write them."""
    text = _MOMENT.sub(_moment_sv, text)
    text = _DATE.sub(lambda m: format_date(dt.date.fromisoformat(m.group(1)), "sv", "short"), text)
    return _DECIMAL.sub(lambda m: f"{m.group(1)},{m.group(2)}", text)


def _weeks(text: str) -> str:
    """``2026-W50, 2026-W51 and 3 more`` -> ``v. 50 2026, v. 51 2026 och 3 till``."""
    text = re.sub(r"(\d{4})-W(\d\d)", lambda m: f"v.\u00a0{int(m.group(2))} {m.group(1)}", text)
    return re.sub(r" and (\d+) more$", r" och \1 till", text)


def _notable(text: str) -> str:
    """``fri 2026-06-19: midsummer_eve, payday_weekend; ...`` in Swedish."""
    parts = []
    for night in text.split("; "):
        when, _, features = night.partition(": ")
        names = ", ".join(_FEATURE_SV.get(f, f.replace("_", " ")) for f in features.split(", "))
        parts.append(f"{_sv(when)}: {names}")
    return "; ".join(parts)


def _pins(text: str) -> str:
    """``'Förening 3' in Centrum Wed 20:00-00:00; guard at P01 Wed 21:00 (3 h)`` in Swedish."""
    parts = []
    for pin in text.split("; "):
        walk = re.fullmatch(r"'(.+)' in (.+) (\S+ \d\d:\d\d)-(\d\d:\d\d)", pin)
        guard = re.fullmatch(r"guard at (.+) (\S+ \d\d:\d\d) \((\d+) h\)", pin)
        if walk is not None:
            parts.append(f"”{walk[1]}” i {walk[2]} {_sv(walk[3])}–{walk[4]}")
        elif guard is not None:
            parts.append(f"väktare vid {guard[1]} {_sv(guard[2])} ({guard[3]} h)")
        else:
            parts.append(_sv(pin))
    return "; ".join(parts)


def _pacing(m: re.Match[str]) -> str:
    extra = f"; särskilda nätter: {_notable(m['notable'])}" if m["notable"] else ""
    return (
        f"säsongens fördelning: {m['w']} av de {m['r']} återstående passen denna vecka ({m['n']} veckor till "
        f"{_weeks(m['last'])}, veckans risk {_sv(m['x'])} enligt {_SOURCE_SV.get(m['src'], m['src'])}){extra}"
    )


_Render = Callable[[re.Match[str]], str]
#: (the planner's English, its Swedish); each pattern matches one whole warning
_RULES: tuple[tuple[str, _Render], ...] = (
    (
        r"season pacing: (?P<w>\d+) of the (?P<r>\d+) remaining walks this week \((?P<n>\d+) weeks to "
        r"(?P<last>\S+), week risk (?P<x>[\d.]+) from the (?P<src>\S+)\)(?:; notable nights: (?P<notable>.+))?",
        _pacing,
    ),
    (r"(?P<w>\S+) is outside the season: 0 walks", lambda m: f"{_weeks(m['w'])} ligger utanför säsongen: 0 pass"),
    (
        r"the nights (?P<d>.+) are outside the season \((?P<a>\S+) to (?P<b>\S+)\): no walks there",
        lambda m: f"nätterna {_sv(m['d'])} ligger utanför säsongen ({_sv(m['a'])} till {_sv(m['b'])}): inga pass då",
    ),
    (
        r"season\.used \((?P<u>\d+)\) in the resources is ignored: the season ledger's walks left "
        r"\((?P<n>-?\d+)\) count",
        lambda m: (
            f"season.used ({m['u']}) i resursfilen används inte: säsongsliggarens återstående pass ({m['n']}) gäller"
        ),
    ),
    (
        r"walks left (?P<n>-?\d+) = season\.walks (?P<w>\d+) - season\.used (?P<u>\d+) from the resources "
        r"\(deprecated: record walks in the season ledger, whose walks left every plan takes\)",
        lambda m: (
            f"återstående pass {m['n']} = season.walks {m['w']} − season.used {m['u']} ur resursfilen (föråldrat: "
            "registrera passen i säsongsliggaren, vars återstående pass varje plan utgår från)"
        ),
    ),
    (
        r"walks_done in the resources is ignored: the season ledger's walks done per association count",
        lambda m: "walks_done i resursfilen används inte: säsongsliggarens genomförda pass per förening gäller",
    ),
    (
        r"walks done per association taken from walks_done in the resources \(deprecated: record walks in the "
        r"season ledger\)",
        lambda m: (
            "genomförda pass per förening är hämtade ur walks_done i resursfilen (föråldrat: registrera passen "
            "i säsongsliggaren)"
        ),
    ),
    (
        r"weeks before (?P<w>\S+) are over at (?P<t>.+): the pacing starts at (?P<w2>\S+)",
        lambda m: f"veckorna före {_weeks(m['w'])} är över {_sv(m['t'])}: fördelningen börjar {_weeks(m['w2'])}",
    ),
    (
        r"the season's walks are overspent by (?P<n>\d+): no walks to place",
        lambda m: f"säsongens pass är överförbrukade med {m['n']}: inga pass att lägga",
    ),
    (
        r"week (?P<w>\S+) is after the season's end \((?P<d>\S+)\): no walks to place",
        lambda m: f"{_weeks(m['w'])} ligger efter säsongens slut ({_sv(m['d'])}): inga pass att lägga",
    ),
    (
        r"accepted walk of (?P<a>.+) on (?P<d>\S+) started before (?P<t>.+): not paced \(record it in the "
        r"season ledger\)",
        lambda m: (
            f"det accepterade passet för {m['a']} natten {_sv(m['d'])} började före {_sv(m['t'])}: fördelas inte "
            "(registrera det i säsongsliggaren)"
        ),
    ),
    (
        r"accepted walk of (?P<a>.+) on (?P<d>\S+) is outside the season \((?P<w1>\S+)\.\.(?P<w2>\S+)\): not paced",
        lambda m: (
            f"det accepterade passet för {m['a']} natten {_sv(m['d'])} ligger utanför säsongen "
            f"({_weeks(m['w1'])}–{_weeks(m['w2'])}): fördelas inte"
        ),
    ),
    (
        r"the associations' season maxima allow only (?P<n>\d+) more walks: (?P<k>\d+) of the (?P<r>\d+) walks "
        r"left cannot be placed; raise max_walks_per_season",
        lambda m: (
            f"föreningarnas säsongstak tillåter bara {m['n']} pass till: {m['k']} av de {m['r']} återstående "
            "passen kan inte läggas; höj max_walks_per_season"
        ),
    ),
    (
        r"(?P<w>\S+) is paced from (?P<t>.+) on: the (?P<n>\d+) nights over by then get no walks",
        lambda m: f"{_weeks(m['w'])} fördelas från {_sv(m['t'])}: de {m['n']} nätter som redan är över får inga pass",
    ),
    (
        r"(?P<ws>.+): the associations can walk fewer walks than the weekly minimum of (?P<m>\d+) \(their nights, "
        r"unavailable dates and weekly maxima, the season's start and end, the nights already over\): those weeks "
        r"get what they can take",
        lambda m: (
            f"{_weeks(m['ws'])}: föreningarna kan gå färre pass än veckominimum {m['m']} (deras nätter, upptagna "
            "datum och veckotak, säsongens start och slut, nätter som redan är över): de veckorna får det de kan ta"
        ),
    ),
    (
        r"(?P<n>\d+) accepted walks exceed the (?P<k>\d+) walks left: no further walks are paced",
        lambda m: f"{m['n']} accepterade pass är fler än de {m['k']} som återstår: inga fler pass fördelas",
    ),
    (
        r"(?P<k>\d+) walks left cannot give every one of the (?P<n>\d+) weeks its minimum of (?P<m>\d+): the "
        r"riskiest weeks get walks first; (?P<x>\d+) weeks get fewer \((?P<ws>.+)\)",
        lambda m: (
            f"{m['k']} återstående pass räcker inte till minimum {m['m']} för var och en av de {m['n']} veckorna: "
            f"veckorna med högst risk får pass först; {m['x']} veckor får färre ({_weeks(m['ws'])})"
        ),
    ),
    (
        r"the associations can walk only (?P<a>\d+) of the (?P<r>\d+) remaining walks in the season: add nights "
        r"or raise max_walks_per_week",
        lambda m: (
            f"föreningarna kan bara gå {m['a']} av säsongens {m['r']} återstående pass: lägg till nätter eller "
            "höj max_walks_per_week"
        ),
    ),
    (
        r"(?P<w>\S+) is full at (?P<c>\d+) walks? \(the associations' nights and weekly maxima\): its risk would "
        r"draw (?P<r>\d+), so (?P<d>\d+) go to other weeks",
        lambda m: (
            f"{_weeks(m['w'])} är full med {m['c']} pass (föreningarnas nätter och veckotak): dess risk skulle ge "
            f"{m['r']}, så {m['d']} går till andra veckor"
        ),
    ),
    (
        r"(?P<w>\S+) holds (?P<p>\d+) accepted walks, (?P<d>\d+) more than its share by risk \((?P<r>\d+)\): "
        r"the other weeks get that many fewer",
        lambda m: (
            f"{_weeks(m['w'])} har {m['p']} accepterade pass, {m['d']} fler än dess andel efter risk ({m['r']}): "
            "de andra veckorna får lika många färre"
        ),
    ),
    (
        r"(?P<w>\S+): only (?P<n>\d+) of the (?P<k>\d+) paced walks could be placed by the night profile \(the "
        r"associations' nights, weekly and season maxima, fairness\): add nights or raise the maxima",
        lambda m: (
            f"{_weeks(m['w'])}: bara {m['n']} av de {m['k']} fördelade passen kunde läggas efter nattprofilen "
            "(föreningarnas nätter, vecko- och säsongstak, rättvisa): lägg till nätter eller höj taken"
        ),
    ),
    (
        r"(?P<w>\S+): no weekly plan satisfies every constraint \((?P<c>.+)\): its walks are placed by the night "
        r"profile instead",
        lambda m: (
            f"{_weeks(m['w'])}: ingen veckoplan uppfyller alla villkor ({m['c']}): veckans pass läggs efter "
            "nattprofilen i stället"
        ),
    ),
    (
        r"re-planned at (?P<t>.+?): (?P<n>\d+) shift\(s\) of the earlier plan started before then \((?P<w>\d+) "
        r"walk\(s\), (?P<c>\d+) SEK\): kept as history, not placed again",
        lambda m: (
            f"omplanerad {_sv(m['t'])}: {m['n']} pass i den tidigare planen började före dess ({m['w']} "
            f"föreningspass, {format_number(float(m['c']), 0, 'sv')} kr): de står kvar som historik och läggs "
            "inte igen"
        ),
    ),
    (
        r"no association can take (?P<walks>.+) \((?P<c>.+)\): the week has (?P<k>\d+) walks instead of (?P<n>\d+)",
        lambda m: (
            "ingen förening kan ta "
            + re.sub(
                r"the walk of '(.+?)' on the night of (\S+)",
                lambda w: f"passet för ”{w.group(1)}” natten {_sv(w.group(2))}",
                m["walks"],
            )
            + f" ({m['c']}): veckan får {m['k']} pass i stället för {m['n']}"
        ),
    ),
    (
        r"the forecast covers (?P<n>\d+) of the week's (?P<m>\d+) hours; the rest count as zero risk",
        lambda m: f"prognosen täcker {m['n']} av veckans {m['m']} timmar; resten räknas som noll risk",
    ),
    (
        r"the solver stopped at the time limit: the plan is within (?P<g>[\d.]+)% of the optimum",
        lambda m: f"lösaren stoppade vid tidsgränsen: planen ligger inom {_sv(m['g'])}\u00a0% från optimum",
    ),
    (
        r"planned at (?P<t>.+?): nothing that starts before then is placed \((?P<n>\d+) of the week's (?P<k>\d+) "
        r"walk options are past\)",
        lambda m: (
            f"planerad {_sv(m['t'])}: inget som börjar före dess läggs ut ({m['n']} av veckans {m['k']} möjliga "
            "pass har redan passerat)"
        ),
    ),
    (
        r"(?P<n>\d+) pinned shift\(s\) started before (?P<t>\S+ \d\d:\d\d) and are left out of this plan \(count "
        r"their cost in spent_sek\): (?P<list>.+)",
        lambda m: (
            f"{m['n']} låsta pass började före {_sv(m['t'])} och ingår inte i denna plan (räkna deras kostnad i "
            f"spent_sek): {_pins(m['list'])}"
        ),
    ),
    (
        r"budget: (?P<b>\d+) SEK for the week - (?P<s>\d+) SEK already spent on shifts that started before the "
        r"plan = (?P<l>\d+) SEK left",
        lambda m: (
            f"budget: {format_number(float(m['b']), 0, 'sv')} kr för veckan − "
            f"{format_number(float(m['s']), 0, 'sv')} kr redan förbrukade på pass som började före planen = "
            f"{format_number(float(m['l']), 0, 'sv')} kr kvar"
        ),
    ),
    (
        r"(?P<s>\d+) SEK already spent this week \(no weekly budget set\)",
        lambda m: f"{format_number(float(m['s']), 0, 'sv')} kr redan förbrukade denna vecka (ingen veckobudget satt)",
    ),
    (
        r"the resources have no 'season' block: the quota, the pot and the walks left are unknown; add season: "
        r"\{walks: N, until: YYYY-MM-DD\} to the resources",
        lambda m: (
            "resursfilen saknar blocket 'season': kvoten, potten och återstående pass är okända; lägg till "
            "season: {walks: N, until: ÅÅÅÅ-MM-DD} i resursfilen"
        ),
    ),
    (
        r"(?P<d>\d+) walks done and (?P<p>\d+) planned exceed the season's quota of (?P<q>\d+) by (?P<x>\d+): "
        r"cancel planned walks or raise season\.walks",
        lambda m: (
            f"{m['d']} genomförda och {m['p']} planerade pass överskrider säsongens kvot på {m['q']} med {m['x']}: "
            "ställ in planerade pass eller höj season.walks"
        ),
    ),
)
_COMPILED = tuple((re.compile(pattern, re.DOTALL), render) for pattern, render in _RULES)


def known_warning(text: str) -> bool:
    """Whether :func:`warning_text` has a Swedish text for this warning."""
    return any(p.fullmatch(text) for p, _ in _COMPILED)


def warning_text(text: str, lang: Lang = "sv") -> str:
    """The planner's warning ``text`` in ``lang`` (``en``: as written; a warning this module does not
    know stays in English)."""
    if check_lang(lang) == "en":
        return text
    for pattern, render in _COMPILED:
        m = pattern.fullmatch(text)
        if m is not None:
            return render(m)
    return text


def warnings_text(texts: list[str], lang: Lang = "sv") -> list[str]:
    return [warning_text(t, lang) for t in texts]
