"""Generate the demo operational database: realistic, seeded, with a few dirty rows.

The pipeline needs a source that looks like a Japanese salon group's customer database
(schema: ``pipeline.sources.schema``) without holding anyone's data. Every value is drawn
with numpy from fixed vocabularies (``pipeline.demo.vocabulary``), vectorized, so a million
customers take minutes, and the same seed, as-of date and size give the same rows in the
same order. A small share of rows carries the defects real operational data has (impossible
dates, era-style dates, out-of-range scores, orphan keys, malformed postal codes), so that
parsing and quarantine have real work.

Example
-------
>>> from datetime import date
>>> generate_demo_database(
...     "sqlite:///data/demo/source.sqlite", customers=10_000, seed=42,
...     as_of=date(2026, 11, 24), dirty_rate=0.001)  # doctest: +SKIP
{'stores': 60, 'customers': 10000, ...}
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, reduce
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from pipeline.demo import DEMO_DATE
from pipeline.demo import vocabulary as vocab
from pipeline.sources.schema import PRIMARY_KEYS, SOURCE_TABLES
from transforms.errors import ConfigurationError

DEFAULT_AS_OF = DEMO_DATE
FIRST_REGISTRATION = date(2015, 1, 1)
CHUNK_ROWS = 50_000

# A table as column name -> 1-D array (numpy ints, numpy StringDType, or object with None).
Columns = dict[str, np.ndarray]

_STR = np.dtypes.StringDType()
_DAYS_16_YEARS = 5844  # 16 * 365.25: customers register from the age of 16
_JST = "+09:00"


class DemoDataParameterError(ConfigurationError, ValueError):
    """A generator parameter is outside what the generator supports; names the parameter."""

    def __init__(self, parameter: str, requirement: str) -> None:
        super().__init__(f"{parameter} must be {requirement}")
        self.parameter = parameter
        self.requirement = requirement


# ---------------------------------------------------------------------------- small helpers


def _day(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def _date_text(days: np.ndarray) -> np.ndarray:
    """ISO dates; formats each distinct day once (a few thousand days for millions of rows)."""
    if not len(days):
        return np.empty(0, dtype=_STR)
    first = int(days.min())
    calendar = np.arange(first, int(days.max()) + 1).astype("datetime64[D]")
    text: np.ndarray = np.datetime_as_string(calendar).astype(_STR)[days - first]
    return text


@cache
def _clock_text() -> np.ndarray:
    """'THH:MM:SS+09:00' for every second of a day."""
    seconds = np.arange(86_400).astype("datetime64[s]")
    return np.strings.add(np.strings.slice(np.datetime_as_string(seconds), 10, None), _JST).astype(
        _STR
    )


def _timestamp_text(seconds: np.ndarray) -> np.ndarray:
    return np.strings.add(_date_text(seconds // 86_400), _clock_text()[seconds % 86_400])


def _cat(*parts: np.ndarray | str) -> np.ndarray:
    """Concatenate string arrays (and scalars) element-wise."""
    items: list[Any] = [p if isinstance(p, str) else p.astype(_STR) for p in parts]
    joined: np.ndarray = reduce(np.strings.add, items)
    return joined


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    return np.strings.zfill(values.astype(_STR), width)


def _strings(values: Sequence[str]) -> np.ndarray:
    return np.array(values, dtype=_STR)


def _choice(rng: np.random.Generator, n: int, p: Sequence[float] | np.ndarray) -> np.ndarray:
    weights = np.asarray(p, dtype=np.float64)
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


def _uniform_days(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A day uniformly in [low, high] (inclusive) per row."""
    span = np.maximum(high - low, 0) + 1
    days: np.ndarray = low + np.floor(rng.random(len(low)) * span).astype(np.int64)
    return days


def _seconds_of_day(
    rng: np.random.Generator, n: int, *, first_hour: int, last_hour: int
) -> np.ndarray:
    return rng.integers(first_hour * 3600, (last_hour + 1) * 3600, size=n)


def _nullable(values: np.ndarray, null: np.ndarray) -> np.ndarray:
    out = values.astype(object)
    out[null] = None
    return out


def _order(*keys: np.ndarray) -> np.ndarray:
    """Stable row order by the given keys, first key most significant."""
    return np.lexsort(tuple(reversed(keys)))


# ---------------------------------------------------------------------------- stores


@dataclass(frozen=True)
class _Stores:
    prefecture_index: np.ndarray  # index into vocab.prefectures()
    columns: Columns


def _stores(rng: np.random.Generator) -> _Stores:
    prefectures = vocab.prefectures()
    code_index = {p.code: i for i, p in enumerate(prefectures)}
    pref_idx, names, cities = [], [], []
    for code, locations in vocab.STORE_LOCATIONS.items():
        for city, label in locations:
            pref_idx.append(code_index[code])
            names.append(f"{vocab.STORE_BRAND} {label}店")
            cities.append(city)
    n = len(names)
    first, last = _day(date(2006, 4, 1)), _day(date(2014, 10, 31))
    opened = np.sort(rng.integers(first, last + 1, size=n))  # flagships (listed first) open first
    pref_index = np.array(pref_idx)
    columns: Columns = {
        "store_id": np.arange(1, n + 1),
        "store_name": _strings(names),
        "prefecture": _strings([prefectures[i].name_ja for i in pref_idx]),
        "city": _strings(cities),
        "opened_on": _date_text(opened),
    }
    return _Stores(pref_index, columns)


# ---------------------------------------------------------------------------- customers

# Share of customers by 5-year age band at the as-of date (16-19, 20-24, ..., 80-85).
_AGE_BANDS = ((16, 19), *((a, a + 4) for a in range(20, 80, 5)), (80, 85))
_AGE_BAND_P = (0.4, 1.6, 2.2, 2.4, 2.3, 2.0, 1.7, 1.0, 0.7, 0.45, 0.3, 0.18, 0.09, 0.04)


@dataclass
class _People:
    """Customers' attributes that other tables depend on (index i is customer_id i + 1)."""

    gender: np.ndarray  # index into vocab.GENDERS
    birth_day: np.ndarray
    registered_day: np.ndarray
    prefecture: np.ndarray  # index into vocab.prefectures()
    home_store: np.ndarray  # store_id
    family_kanji: np.ndarray
    given_kanji: np.ndarray
    phone: np.ndarray
    email: np.ndarray
    postal_code: np.ndarray
    columns: Columns


def _sample_names(
    rng: np.random.Generator, pairs: vocab.NamePairs, n: int
) -> tuple[np.ndarray, ...]:
    idx = _choice(rng, n, pairs.weight)
    return tuple(_strings(seq)[idx] for seq in (pairs.kanji, pairs.kana, pairs.romaji))


def _phones(rng: np.random.Generator, pref: np.ndarray) -> np.ndarray:
    n = len(pref)
    out = np.empty(n, dtype=_STR)
    mobile = rng.random(n) < 0.8
    prefix = _strings(vocab.MOBILE_PREFIXES)[_choice(rng, n, vocab.MOBILE_PREFIX_P)]
    a, b = rng.integers(0, 10_000, size=(2, n))
    out[mobile] = _cat(prefix[mobile], "-", _digits(a[mobile], 4), "-", _digits(b[mobile], 4))
    codes = [p.code for p in vocab.prefectures()]
    area = _strings([vocab.AREA_CODES[c] for c in codes])[pref]
    area_len = np.strings.str_len(area)
    for length in (2, 3, 4):
        m = ~mobile & (area_len == length)
        middle_width = 6 - length  # 10 digits in all; a local number never starts with 0 or 1
        middle = rng.integers(2 * 10 ** (middle_width - 1), 10**middle_width, size=int(m.sum()))
        out[m] = _cat(area[m], "-", middle.astype(_STR), "-", _digits(b[m], 4))
    return out


def _emails(
    rng: np.random.Generator,
    given_romaji: np.ndarray,
    family_romaji: np.ndarray,
    birth_day: np.ndarray,
) -> np.ndarray:
    n = len(given_romaji)
    form = _choice(rng, n, (0.3, 0.3, 0.2, 0.2))
    number = rng.integers(0, 1000, size=n).astype(_STR)
    year = (birth_day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970) % 100
    local = np.empty(n, dtype=_STR)
    forms: tuple[Callable[[np.ndarray], np.ndarray], ...] = (
        lambda m: _cat(given_romaji[m], ".", family_romaji[m]),
        lambda m: _cat(family_romaji[m], ".", given_romaji[m], number[m]),
        lambda m: _cat(given_romaji[m], _digits(year[m], 2)),
        lambda m: _cat(given_romaji[m], "_", family_romaji[m], number[m]),
    )
    for k, build in enumerate(forms):
        m = form == k
        local[m] = build(m)
    domain = _strings(vocab.EMAIL_DOMAINS)[_choice(rng, n, vocab.EMAIL_DOMAIN_P)]
    return _cat(local, "@", domain)


def _street_addresses(rng: np.random.Generator, n: int) -> np.ndarray:
    town = _strings(vocab.towns())[rng.integers(0, len(vocab.towns()), size=n)]
    chome = rng.integers(1, 8, size=n).astype(_STR)
    ban = rng.integers(1, 31, size=n).astype(_STR)
    go = rng.integers(1, 21, size=n).astype(_STR)
    kanji_style = rng.random(n) < 0.5
    out = np.where(
        kanji_style,
        _cat(town, chome, "丁目", ban, "番", go, "号"),
        _cat(town, chome, "-", ban, "-", go),
    ).astype(_STR)
    building = rng.random(n) < 0.35
    names = _strings(vocab.BUILDING_NAMES)[rng.integers(0, len(vocab.BUILDING_NAMES), size=n)]
    room = (rng.integers(1, 13, size=n) * 100 + rng.integers(1, 11, size=n)).astype(_STR)
    out[building] = _cat(out[building], " ", names[building], town[building], room[building])
    return out


def _postal_codes(rng: np.random.Generator, pref: np.ndarray) -> np.ndarray:
    prefixes = vocab.postal_prefixes()
    out = np.empty(len(pref), dtype=_STR)
    for i, p in enumerate(vocab.prefectures()):
        m = pref == i
        k = int(m.sum())
        if k:
            first = _strings(prefixes[p.code])[rng.integers(0, len(prefixes[p.code]), size=k)]
            out[m] = _cat(first, "-", _digits(rng.integers(0, 10_000, size=k), 4))
    return out


def _people(rng: np.random.Generator, n: int, as_of: int, stores: _Stores) -> _People:
    prefectures = vocab.prefectures()
    gender = _choice(rng, n, vocab.GENDER_P)

    band = _choice(rng, n, _AGE_BAND_P)
    low = np.array([b[0] for b in _AGE_BANDS])[band]
    high = np.array([b[1] for b in _AGE_BANDS])[band]
    age = low + np.floor(rng.random(n) * (high - low + 1)).astype(np.int64)
    birth = as_of - np.floor(age * 365.2425).astype(np.int64) - rng.integers(0, 365, size=n)
    earliest = np.maximum(_day(FIRST_REGISTRATION), birth + _DAYS_16_YEARS)
    # More customers joined recently than in 2015: skew towards the as-of date.
    span = as_of - earliest + 1
    registered = earliest + np.floor(span * rng.random(n) ** 0.8).astype(np.int64)
    registered = np.minimum(registered, as_of)

    weight = [vocab.POPULATION_K[p.code] * vocab.URBAN_BOOST.get(p.code, 1.0) for p in prefectures]
    pref = _choice(rng, n, weight)

    city = np.empty(n, dtype=_STR)
    home = np.empty(n, dtype=np.int64)
    store_ids = stores.columns["store_id"]
    regions = np.array([p.region_en for p in prefectures])
    for i, p in enumerate(prefectures):
        m = pref == i
        k = int(m.sum())
        if not k:
            continue
        names, weights = vocab.cities()[p.code]
        city[m] = _strings(names)[_choice(rng, k, weights)]
        local = store_ids[stores.prefecture_index == i]
        if not len(local):
            local = store_ids[regions[stores.prefecture_index] == p.region_en]
        if not len(local):
            local = store_ids
        home[m] = local[rng.integers(0, len(local), size=k)]
    elsewhere = rng.random(n) < 0.08  # moved, or a customer of a store near work
    home[elsewhere] = store_ids[rng.integers(0, len(store_ids), size=int(elsewhere.sum()))]

    family_kanji, family_kana, family_romaji = _sample_names(rng, vocab.family_names(), n)
    given_kanji = np.empty(n, dtype=_STR)
    given_kana = np.empty(n, dtype=_STR)
    given_romaji = np.empty(n, dtype=_STR)
    for g, code in enumerate(vocab.GENDERS):
        m = gender == g
        kanji, kana, romaji = _sample_names(rng, vocab.given_names(code), int(m.sum()))
        given_kanji[m], given_kana[m], given_romaji[m] = kanji, kana, romaji

    postal = _postal_codes(rng, pref)
    phone = _phones(rng, pref)
    email = _emails(rng, given_romaji, family_romaji, birth)
    street = _street_addresses(rng, n)
    columns: Columns = {
        "customer_id": np.arange(1, n + 1),
        "family_name": family_kanji,
        "given_name": given_kanji,
        "family_name_kana": family_kana,
        "given_name_kana": given_kana,
        "gender": _strings(vocab.GENDERS)[gender],
        "birth_date": _date_text(birth),
        "postal_code": postal,
        "prefecture": _strings([p.name_ja for p in prefectures])[pref],
        "city": city,
        "street_address": street,
        "phone": phone,
        "email": email,
        "registered_on": _date_text(registered),
        "home_store_id": home,
    }
    return _People(
        gender=gender,
        birth_day=birth,
        registered_day=registered,
        prefecture=pref,
        home_store=home,
        family_kanji=family_kanji,
        given_kanji=given_kanji,
        phone=phone,
        email=email,
        postal_code=postal,
        columns=columns,
    )


# ---------------------------------------------------------------------------- service usage


@dataclass(frozen=True)
class _Visits:
    """Visits grouped by customer (before ordering by date), for questionnaires to refer to."""

    customer: np.ndarray  # customer index
    day: np.ndarray
    course: np.ndarray  # index into vocab.COURSES
    start: np.ndarray  # per customer: first visit's position
    count: np.ndarray  # per customer: number of visits


def _visits(
    rng: np.random.Generator, people: _People, as_of: int, n_stores: int
) -> tuple[_Visits, Columns]:
    n = len(people.gender)
    # Skewed: most customers come a few times, some are regulars (mean about 5).
    count = 1 + rng.negative_binomial(1.3, 1.3 / (1.3 + 4.0), size=n)
    start = np.cumsum(count) - count
    customer = np.repeat(np.arange(n), count)
    m = len(customer)
    first = np.zeros(m, dtype=bool)
    first[start] = True
    reg = people.registered_day[customer]
    day = np.where(first, reg, _uniform_days(rng, reg, np.full(m, as_of)))

    gender = people.gender[customer]
    course = np.empty(m, dtype=np.int64)
    favourite = np.empty(n, dtype=np.int64)
    for g, code in enumerate(vocab.GENDERS):
        mg = gender == g
        course[mg] = _choice(rng, int(mg.sum()), vocab.COURSE_P[code])
        mc = people.gender == g
        favourite[mc] = _choice(rng, int(mc.sum()), vocab.COURSE_P[code])
    repeat_favourite = rng.random(m) < 0.6
    course[repeat_favourite] = favourite[customer[repeat_favourite]]
    bridal = vocab.COURSES.index("bridal")
    age = (day - people.birth_day[customer]) / 365.2425
    bride = (gender == vocab.GENDERS.index("F")) & (age >= 22) & (age < 39)
    course[(course == bridal) & ~bride] = vocab.COURSES.index("facial")

    home = rng.random(m) < 0.85
    store = np.where(home, people.home_store[customer], rng.integers(1, n_stores + 1, size=m))

    low = np.array([vocab.COURSE_PRICE[c][0] for c in vocab.COURSES])[course]
    high = np.array([vocab.COURSE_PRICE[c][1] for c in vocab.COURSES])[course]
    amount = (np.round((low + (high - low) * rng.beta(2.0, 3.5, size=m)) / 100) * 100).astype(
        np.int64
    )
    visits = _Visits(customer, day, course, start, count)
    order = _order(day, customer)
    columns: Columns = {
        "usage_id": np.arange(1, m + 1),
        "customer_id": customer[order] + 1,
        "store_id": store[order],
        "visit_date": _date_text(day[order]),
        "course_category": _strings(vocab.COURSES)[course[order]],
        "amount_yen": amount[order],
    }
    return visits, columns


# ---------------------------------------------------------------------------- questionnaires


def _comment_bank() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All non-personal comments formatted for every course, and each tone's template range."""
    n_courses = len(vocab.COURSES)
    texts: list[str] = []
    starts: list[int] = []
    sizes: list[int] = []
    for group in (vocab.COMMENTS_NEGATIVE, vocab.COMMENTS_NEUTRAL, vocab.COMMENTS_POSITIVE):
        starts.append(len(texts) // n_courses)
        sizes.append(len(group))
        for template in group:
            texts.extend(template.format(course=vocab.COURSE_JA[c]) for c in vocab.COURSES)
    return _strings(texts), np.array(starts), np.array(sizes)


def _personal_comments(
    rng: np.random.Generator, people: _People, customer: np.ndarray
) -> list[str]:
    """Comments that carry a name, phone number or e-mail (few rows: formatted one by one)."""
    staff = _strings(vocab.family_names().kanji)[rng.integers(0, 50, size=len(customer))]
    template = rng.integers(0, len(vocab.COMMENTS_PERSONAL), size=len(customer))
    out = []
    for t, c, s in zip(template.tolist(), customer.tolist(), staff.tolist(), strict=True):
        out.append(
            vocab.COMMENTS_PERSONAL[t].format(
                staff=s,
                family=str(people.family_kanji[c]),
                given=str(people.given_kanji[c]),
                phone=str(people.phone[c]),
                email=str(people.email[c]),
            )
        )
    return out


def _questionnaires(
    rng: np.random.Generator, people: _People, visits: _Visits, as_of: int
) -> Columns:
    n = len(people.gender)
    answers = np.where(rng.random(n) < 0.4, 1 + _choice(rng, n, (0.6, 0.3, 0.1)), 0)
    customer = np.repeat(np.arange(n), answers)
    m = len(customer)
    visit = visits.start[customer] + np.floor(rng.random(m) * visits.count[customer]).astype(
        np.int64
    )
    day = np.minimum(visits.day[visit] + rng.geometric(0.5, size=m) - 1, as_of)
    course = visits.course[visit]

    overall = 1 + _choice(rng, m, (0.03, 0.05, 0.17, 0.4, 0.35))
    scores = {
        name: np.clip(overall + _choice(rng, m, p) - 1, 1, 5)
        for name, p in (
            ("satisfaction_staff", (0.15, 0.65, 0.2)),
            ("satisfaction_cleanliness", (0.1, 0.6, 0.3)),
            ("satisfaction_value", (0.3, 0.6, 0.1)),
        )
    }
    channel = _strings(vocab.QUESTIONNAIRE_CHANNELS)[_choice(rng, m, vocab.QUESTIONNAIRE_CHANNEL_P)]

    bank, tone_start, tone_size = _comment_bank()
    tone = np.where(overall >= 4, 2, np.where(overall == 3, 1, 0))
    template = tone_start[tone] + np.floor(rng.random(m) * tone_size[tone]).astype(np.int64)
    comment = bank[template * len(vocab.COURSES) + course].astype(object)
    empty = rng.random(m) < 0.35
    personal = ~empty & (rng.random(m) < 0.03)
    comment[personal] = _personal_comments(rng, people, customer[personal])
    comment[empty] = None

    order = _order(day, customer)
    columns: Columns = {
        "response_id": np.arange(1, m + 1),
        "customer_id": customer[order] + 1,
        "answered_on": _date_text(day[order]),
        "satisfaction_overall": overall[order],
        **{name: values[order] for name, values in scores.items()},
        "channel": channel[order],
        "comment": comment[order],
    }
    return columns


# ---------------------------------------------------------------------------- campaigns, mail


def _campaigns(rng: np.random.Generator, people: _People, as_of: int) -> Columns:
    n = len(people.gender)
    count = np.where(rng.random(n) < 0.2, 1 + (rng.random(n) < 0.15), 0)
    customer = np.repeat(np.arange(n), count)
    m = len(customer)
    low = np.minimum(np.maximum(people.registered_day[customer], _day(date(2016, 1, 1))), as_of)
    day = _uniform_days(rng, low, np.full(m, as_of))
    dates = day.astype("datetime64[D]")
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    month = (dates.astype("datetime64[M]").astype(np.int64) % 12) + 1
    season_of_month = np.empty(13, dtype=np.int64)
    for i, (_, first, last) in enumerate(vocab.CAMPAIGN_SEASONS):
        season_of_month[first : last + 1] = i
    season = _strings([s[0] for s in vocab.CAMPAIGN_SEASONS])[season_of_month[month]]
    code = _cat("CP", year.astype(_STR), season)
    channel = _strings(vocab.CAMPAIGN_CHANNELS)[_choice(rng, m, vocab.CAMPAIGN_CHANNEL_P)]
    order = _order(day, customer)
    return {
        "application_id": np.arange(1, m + 1),
        "customer_id": customer[order] + 1,
        "campaign_code": code[order],
        "applied_on": _date_text(day[order]),
        "channel": channel[order],
    }


@dataclass(frozen=True)
class _Subscriptions:
    customer: np.ndarray
    list_index: np.ndarray
    subscribed: np.ndarray
    unsubscribed: np.ndarray  # -1 when still subscribed


def _subscriptions(
    rng: np.random.Generator, people: _People, as_of: int
) -> tuple[_Subscriptions, Columns]:
    n = len(people.gender)
    subscriber = rng.random(n) < 0.35
    kind = _choice(rng, n, (0.45, 0.3, 0.25))  # new_information, mail_magazine, both
    count = np.where(subscriber, np.where(kind == 2, 2, 1), 0)
    customer = np.repeat(np.arange(n), count)
    m = len(customer)
    k = kind[customer]
    second = np.zeros(m, dtype=bool)
    second[1:] = customer[1:] == customer[:-1]
    list_index = np.where(k == 2, second.astype(np.int64), k)
    reg = people.registered_day[customer]
    at_registration = rng.random(m) < 0.6
    subscribed = np.where(at_registration, reg, _uniform_days(rng, reg, np.full(m, as_of)))
    leaves = (rng.random(m) < 0.15) & (subscribed < as_of)
    unsubscribed = np.where(leaves, _uniform_days(rng, subscribed + 1, np.full(m, as_of)), -1)
    order = _order(subscribed, customer, list_index)
    columns: Columns = {
        "subscription_id": np.arange(1, m + 1),
        "customer_id": customer[order] + 1,
        "list_name": _strings(vocab.MAIL_LISTS)[list_index[order]],
        "email": people.email[customer[order]],
        "subscribed_on": _date_text(subscribed[order]),
        "unsubscribed_on": _nullable(_date_text(unsubscribed[order]), ~leaves[order]),
    }
    return _Subscriptions(customer, list_index, subscribed, unsubscribed), columns


# ---------------------------------------------------------------------------- consents


def _consents(
    rng: np.random.Generator, people: _People, subs: _Subscriptions, as_of: int
) -> Columns:
    n = len(people.gender)
    everyone = np.arange(n)
    reg = people.registered_day
    at = reg * 86400 + _seconds_of_day(rng, n, first_hour=10, last_hour=20)
    end = np.full(n, as_of)
    parts: list[tuple[np.ndarray, str, int, np.ndarray]] = []  # customer, purpose, granted, ts

    def later(customer: np.ndarray, after_day: np.ndarray) -> np.ndarray:
        day = _uniform_days(rng, after_day, end[: len(customer)])
        seconds: np.ndarray = day * 86400 + _seconds_of_day(
            rng, len(customer), first_hour=8, last_hour=23
        )
        return seconds

    parts.append((everyone, "service", 1, at))
    parts.append((everyone, "statistics", 1, at))
    # About 5 % opt out of statistics later; a few on the very second of the grant (a tie that
    # the latest-record rule breaks by consent_id), a few of them grant again afterwards.
    opt_out = everyone[rng.random(n) < 0.05]
    out_at = later(opt_out, reg[opt_out])
    tie = rng.random(len(opt_out)) < 0.02
    out_at[tie] = at[opt_out[tie]]
    parts.append((opt_out, "statistics", 0, out_at))
    again = rng.random(len(opt_out)) < 0.1
    parts.append((opt_out[again], "statistics", 1, later(opt_out[again], out_at[again] // 86400)))
    partner = everyone[rng.random(n) < 0.3]
    parts.append((partner, "partner_marketing", 1, at[partner]))
    withdraw = partner[rng.random(len(partner)) < 0.08]
    parts.append((withdraw, "partner_marketing", 0, later(withdraw, reg[withdraw])))
    magazine = subs.list_index == vocab.MAIL_LISTS.index("mail_magazine")
    sub_at = subs.subscribed[magazine] * 86400 + _seconds_of_day(
        rng, int(magazine.sum()), first_hour=8, last_hour=23
    )
    parts.append((subs.customer[magazine], "mail_magazine", 1, sub_at))
    left = magazine & (subs.unsubscribed >= 0)
    left_at = subs.unsubscribed[left] * 86400 + _seconds_of_day(
        rng, int(left.sum()), first_hour=8, last_hour=23
    )
    parts.append((subs.customer[left], "mail_magazine", 0, left_at))

    customer = np.concatenate([p[0] for p in parts])
    purpose = np.concatenate([np.full(len(p[0]), p[1], dtype=_STR) for p in parts])
    granted = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int64) for p in parts])
    ts = np.concatenate([p[3] for p in parts])
    sequence = np.arange(len(customer))  # a later record of a tie gets the higher consent_id
    version_days = np.array([_day(date.fromisoformat(d)) for _, d in vocab.POLICY_VERSIONS])
    version = np.searchsorted(version_days, ts // 86400, side="right") - 1
    order = _order(ts, customer, sequence)
    return {
        "consent_id": np.arange(1, len(customer) + 1),
        "customer_id": customer[order] + 1,
        "purpose": purpose[order],
        "granted": granted[order],
        "policy_version": _strings([v for v, _ in vocab.POLICY_VERSIONS])[version[order]],
        "recorded_at": _timestamp_text(ts[order]),
    }


# ---------------------------------------------------------------------------- requests

_CORRECTABLE = ("postal_code", "birth_date", "gender")


def _requests(rng: np.random.Generator, people: _People, as_of: int) -> Columns:
    """Deletion, correction and disclosure requests; completed corrections are applied."""
    n = len(people.gender)
    shuffled = rng.permutation(n)
    n_delete, n_correct = round(0.01 * n), round(0.01 * n)
    n_disclose = round(0.002 * n)
    groups = (
        ("deletion", shuffled[:n_delete]),
        ("correction", shuffled[n_delete : n_delete + n_correct]),
        ("disclosure", shuffled[n_delete + n_correct : n_delete + n_correct + n_disclose]),
    )
    customer = np.concatenate([g[1] for g in groups])
    kind = np.concatenate([np.full(len(g[1]), g[0], dtype=_STR) for g in groups])
    m = len(customer)
    reg = people.registered_day[customer]
    day = np.maximum(as_of - np.floor(rng.exponential(45.0, size=m)).astype(np.int64), reg)
    # Deletions stay pending: the pipeline must honour them; others are sometimes done.
    done = (kind != "deletion") & (day < as_of - 14) & (rng.random(m) < 0.3)
    field = np.full(m, "", dtype=_STR)
    value = np.full(m, "", dtype=_STR)

    corr = np.flatnonzero(kind == "correction")
    which = _choice(rng, len(corr), (0.4, 0.35, 0.25))
    for f, name in enumerate(_CORRECTABLE):
        rows = corr[which == f]
        field[rows] = name
        c = customer[rows]
        if name == "postal_code":
            new = _postal_codes(rng, people.prefecture[c])
        elif name == "birth_date":
            shift = rng.integers(1, 400, size=len(c)) * rng.choice((-1, 1), size=len(c))
            latest = people.registered_day[c] - _DAYS_16_YEARS
            new_day = np.minimum(people.birth_day[c] + shift, latest)
            new_day = np.where(new_day == people.birth_day[c], new_day - 1, new_day)
            new = _date_text(new_day)
        else:
            new = _strings(vocab.GENDERS)[(people.gender[c] + rng.integers(1, 3, size=len(c))) % 3]
        value[rows] = new
        applied = done[rows]
        people.columns[name][c[applied]] = new[applied]

    order = _order(day, customer)
    correction = kind == "correction"
    return {
        "request_id": np.arange(1, m + 1),
        "customer_id": customer[order] + 1,
        "request_type": kind[order],
        "requested_on": _date_text(day[order]),
        "field": _nullable(field[order], ~correction[order]),
        "new_value": _nullable(value[order], ~correction[order]),
        "status": np.where(done, "completed", "pending").astype(_STR)[order],
    }


# ---------------------------------------------------------------------------- web access log

# Share of page views by hour of day (JST): evenings and lunch breaks on phones.
_HOUR_P = (
    2, 1, 0.6, 0.4, 0.3, 0.4, 0.8, 1.5, 2.2, 2.6, 3, 3.2,
    4, 4.2, 3.4, 3.2, 3.4, 3.8, 4.4, 5, 5.8, 6.2, 5.4, 3.6,
)  # fmt: skip


def _web_log(rng: np.random.Generator, n_customers: int, seed: int, as_of: int) -> Columns:
    m = round(0.2 * n_customers)
    n_clients = max(1, m // 4)
    client_hash = _strings(
        [hashlib.sha256(f"demo-client:{seed}:{i}".encode()).hexdigest() for i in range(n_clients)]
    )
    agent = _strings(vocab.USER_AGENTS)[_choice(rng, n_clients, vocab.USER_AGENT_P)]
    client = _choice(rng, m, 1.0 / (np.arange(1, n_clients + 1) ** 0.8))  # a few heavy users
    day = rng.integers(as_of - 179, as_of + 1, size=m)
    hour = _choice(rng, m, _HOUR_P)
    ts = day * 86400 + hour * 3600 + rng.integers(0, 3600, size=m)
    path = _strings(vocab.WEB_PATHS)[_choice(rng, m, vocab.WEB_PATH_P)]
    store_page = (path == "/stores") & (rng.random(m) < 0.6)
    path[store_page] = _cat(path[store_page], "/", rng.integers(1, 61, int(store_page.sum())))
    tagged = rng.random(m) < 0.08
    source = _strings(("instagram", "line", "google", "x"))[rng.integers(0, 4, int(tagged.sum()))]
    path[tagged] = _cat(path[tagged], "?utm_source=", source)
    order = np.argsort(ts, kind="stable")
    return {
        "log_id": np.arange(1, m + 1),
        "accessed_at": _timestamp_text(ts[order]),
        "path": path[order],
        "client_hash": client_hash[client[order]],
        "user_agent": agent[client[order]],
    }


# ---------------------------------------------------------------------------- dirty rows


def _era(days: np.ndarray) -> list[str]:
    """Dates written with the Japanese era, as on paper forms (e.g. 昭和60年3月2日)."""
    out = []
    for d in days.astype("datetime64[D]").tolist():
        if d >= date(2019, 5, 1):
            era, year = "令和", d.year - 2018
        elif d >= date(1989, 1, 8):
            era, year = "平成", d.year - 1988
        else:
            era, year = "昭和", d.year - 1925
        out.append(f"{era}{year}年" if d.day % 3 == 0 else f"{era}{year}年{d.month}月{d.day}日")
    return out


def _impossible_dates(rng: np.random.Generator, days: np.ndarray) -> list[str]:
    years = (days.astype("datetime64[Y]").astype(np.int64) + 1970).tolist()
    month_day = ("02-30", "02-31", "04-31", "06-31", "09-31", "11-31")
    picks = rng.integers(0, len(month_day), size=len(years)).tolist()
    return [f"{y}-{month_day[k]}" for y, k in zip(years, picks, strict=True)]


def _orphans(rng: np.random.Generator, k: int, n_customers: int) -> np.ndarray:
    return n_customers + 1 + rng.integers(0, max(10, n_customers // 10), size=k)


def _dirty_rows(
    rng: np.random.Generator, n: int, rate: float, kinds: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows that get a defect (each with probability ``rate``) and which kind of defect."""
    rows = np.flatnonzero(rng.random(n) < rate)
    return rows, rng.integers(0, kinds, size=len(rows))


def _dirty_customers(
    rng: np.random.Generator, columns: Columns, birth_day: np.ndarray, rate: float
) -> None:
    rows, kind = _dirty_rows(rng, len(birth_day), rate, 5)
    birth = columns["birth_date"].astype(object)
    postal = columns["postal_code"].astype(object)
    gender = columns["gender"]
    r = rows[kind == 0]
    birth[r] = _impossible_dates(rng, birth_day[r])
    r = rows[kind == 1]
    birth[r] = _era(birth_day[r])
    r = rows[kind == 2]
    postal[r] = [p.replace("-", "") for p in columns["postal_code"][r].tolist()]
    r = rows[kind == 3]
    postal[r] = [p[:2] + "-" + p[4:6] for p in columns["postal_code"][r].tolist()]
    gender[rows[kind == 4]] = ""
    columns["birth_date"], columns["postal_code"] = birth, postal


def _dirty_usage(rng: np.random.Generator, columns: Columns, n_customers: int, rate: float) -> None:
    rows, kind = _dirty_rows(rng, len(columns["usage_id"]), rate, 3)
    r = rows[kind == 0]
    columns["amount_yen"][r] = -columns["amount_yen"][r]
    r = rows[kind == 1]
    columns["customer_id"][r] = _orphans(rng, len(r), n_customers)
    visit = columns["visit_date"].astype(object)
    r = rows[kind == 2]
    visit[r] = _era(np.array(columns["visit_date"][r].tolist(), dtype="datetime64[D]"))
    columns["visit_date"] = visit


def _dirty_questionnaires(
    rng: np.random.Generator, columns: Columns, n_customers: int, rate: float
) -> None:
    rows, kind = _dirty_rows(rng, len(columns["response_id"]), rate, 3)
    r = rows[kind == 0]
    names = (
        "satisfaction_overall",
        "satisfaction_staff",
        "satisfaction_cleanliness",
        "satisfaction_value",
    )
    which = rng.integers(0, len(names), size=len(r))
    bad = rng.choice((0, 7), size=len(r))
    for i, name in enumerate(names):
        columns[name][r[which == i]] = bad[which == i]
    r = rows[kind == 1]
    columns["customer_id"][r] = _orphans(rng, len(r), n_customers)
    answered = columns["answered_on"].astype(object)
    r = rows[kind == 2]
    answered[r] = _era(np.array(columns["answered_on"][r].tolist(), dtype="datetime64[D]"))
    columns["answered_on"] = answered


# ---------------------------------------------------------------------------- public API


def generate_demo_tables(
    *, customers: int, seed: int, as_of: date = DEFAULT_AS_OF, dirty_rate: float = 0.001
) -> dict[str, Columns]:
    """Every source table as columns (name -> array), in schema order; nothing is written.

    The same arguments give the same rows in the same order. All dates are on or before
    ``as_of``; with probability ``dirty_rate`` a row of customers, service_usage or
    questionnaire_responses carries one realistic defect.
    """
    if customers < 1:
        raise DemoDataParameterError("customers", "at least 1")
    if not 0.0 <= dirty_rate <= 1.0:
        raise DemoDataParameterError("dirty_rate", "between 0 and 1")
    if as_of < FIRST_REGISTRATION:
        raise DemoDataParameterError("as_of", f"on or after {FIRST_REGISTRATION.isoformat()}")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(12)]
    day = _day(as_of)
    stores = _stores(streams[0])
    people = _people(streams[1], customers, day, stores)
    visits, usage = _visits(streams[2], people, day, len(stores.columns["store_id"]))
    questionnaires = _questionnaires(streams[3], people, visits, day)
    campaigns = _campaigns(streams[4], people, day)
    subs, mail = _subscriptions(streams[5], people, day)
    consents = _consents(streams[6], people, subs, day)
    requests = _requests(streams[7], people, day)
    web = _web_log(streams[8], customers, seed, day)
    _dirty_customers(streams[9], people.columns, people.birth_day, dirty_rate)
    _dirty_usage(streams[10], usage, customers, dirty_rate)
    _dirty_questionnaires(streams[11], questionnaires, customers, dirty_rate)
    tables = {
        "stores": stores.columns,
        "customers": people.columns,
        "service_usage": usage,
        "questionnaire_responses": questionnaires,
        "campaign_applications": campaigns,
        "mail_subscriptions": mail,
        "consents": consents,
        "customer_requests": requests,
        "web_access_log": web,
    }
    for name, columns in tables.items():
        assert list(columns) == list(SOURCE_TABLES[name]), name  # the contract, in order
    return tables


_SQL_TYPES: dict[str, Callable[[], sa.types.TypeEngine[Any]]] = {
    "int": sa.Integer,
    "bool": sa.Integer,  # 0/1
    "str": sa.Text,
    "date": sa.Text,  # ISO text, so that a dirty date can be stored as written
    "timestamp": sa.Text,
}


def source_metadata() -> sa.MetaData:
    """SQLAlchemy tables of the source contract (pipeline.sources.schema), with column types."""
    metadata = sa.MetaData()
    for table, columns in SOURCE_TABLES.items():
        sa.Table(
            table,
            metadata,
            *(
                sa.Column(
                    name,
                    _SQL_TYPES[kind](),
                    primary_key=name == PRIMARY_KEYS[table],
                    autoincrement=False,
                )
                for name, kind in columns.items()
            ),
        )
    return metadata


def _remove_sqlite_file(parsed: sa.URL) -> None:
    if (
        parsed.get_backend_name() != "sqlite"
        or parsed.database is None
        or parsed.database in ("", ":memory:")
    ):
        return
    path = Path(parsed.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, Path(f"{path}-journal"), Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)


def write_tables(target: str | sa.Engine, tables: Mapping[str, Columns]) -> dict[str, int]:
    """Replace the source tables at ``target`` (URL or engine) with ``tables``; rows per table.

    Given a SQLite URL, the file is deleted and written anew (journal off: a failed run leaves
    a database to regenerate, never one to trust); otherwise the tables are dropped and
    recreated.
    """
    owned = isinstance(target, str)
    engine = sa.create_engine(target) if isinstance(target, str) else target
    if owned:  # a caller's engine may hold connections to the file: drop tables instead
        _remove_sqlite_file(engine.url)
    metadata = source_metadata()
    counts: dict[str, int] = {}
    try:
        with engine.connect() as conn:
            if owned and conn.dialect.name == "sqlite":  # speed; only on our own connection
                conn.exec_driver_sql("PRAGMA journal_mode=OFF")
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
                conn.commit()
            metadata.drop_all(conn)
            metadata.create_all(conn)
            for name, columns in tables.items():
                counts[name] = _insert(conn, metadata.tables[name], columns)
            conn.commit()
    finally:
        if owned:
            engine.dispose()
    return counts


def _insert(conn: sa.Connection, table: sa.Table, columns: Columns) -> int:
    names = list(columns)
    n = len(columns[names[0]])
    compiled = table.insert().compile(dialect=conn.dialect)
    positional = compiled.positiontup is not None
    if positional:  # plain DB-API executemany: several times faster than Core's per-row dicts
        sql = str(compiled)
        names = list(compiled.positiontup or ())
    for i in range(0, n, CHUNK_ROWS):
        chunk = [columns[name][i : i + CHUNK_ROWS].tolist() for name in names]
        rows = list(zip(*chunk, strict=True))
        if positional:
            conn.exec_driver_sql(sql, rows)
        else:
            conn.execute(table.insert(), [dict(zip(names, r, strict=True)) for r in rows])
    return n


def generate_demo_database(
    url: str, *, customers: int, seed: int, as_of: date, dirty_rate: float
) -> dict[str, int]:
    """Generate the demo source database at ``url`` (replacing it); return rows per table."""
    tables = generate_demo_tables(
        customers=customers, seed=seed, as_of=as_of, dirty_rate=dirty_rate
    )
    return write_tables(url, tables)
