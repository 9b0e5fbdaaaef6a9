"""Vocabularies for the demo operational database: Faker ``ja_JP`` lists plus a few tables.

Faker is used only as a source of word lists (names with their katakana readings, towns,
building names); the generator samples these lists with numpy, never calls Faker per row.
What Faker lacks (cities of every prefecture, landline area codes, populations, salon
courses, comment templates) is written here, so one module holds every word the demo uses.
The source vocabularies themselves (genders, course categories, channels, mail lists) are the
schema's (``pipeline.sources.schema``); this module only weights them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from faker.providers.address.ja_JP import Provider as AddressJa
from faker.providers.person.ja_JP import Provider as PersonJa

from pipeline.settings.paths import REFERENCE_DIR
from pipeline.sources.schema import CHANNELS
from pipeline.sources.schema import GENDERS as GENDERS  # the generator's vocab.GENDERS
from pipeline.sources.schema import MAIL_LISTS as MAIL_LISTS  # the generator's vocab.MAIL_LISTS

GENDER_SHARE: dict[str, float] = {"F": 0.85, "M": 0.13, "X": 0.02}
GENDER_P = tuple(GENDER_SHARE[g] for g in GENDERS)

# Extra given names (kanji, katakana, romaji): Faker's 21 female names are few for a customer
# base that is mostly women.
_EXTRA_FEMALE = (
    ("美咲", "ミサキ", "Misaki"),
    ("愛", "アイ", "Ai"),
    ("彩", "アヤ", "Aya"),
    ("恵", "メグミ", "Megumi"),
    ("由美", "ユミ", "Yumi"),
    ("真由美", "マユミ", "Mayumi"),
    ("智子", "トモコ", "Tomoko"),
    ("久美子", "クミコ", "Kumiko"),
    ("麻衣", "マイ", "Mai"),
    ("沙織", "サオリ", "Saori"),
    ("優子", "ユウコ", "Yuko"),
    ("陽菜", "ヒナ", "Hina"),
    ("葵", "アオイ", "Aoi"),
    ("結菜", "ユイナ", "Yuina"),
    ("さくら", "サクラ", "Sakura"),
    ("千尋", "チヒロ", "Chihiro"),
    ("瞳", "ヒトミ", "Hitomi"),
    ("奈々", "ナナ", "Nana"),
    ("理恵", "リエ", "Rie"),
    ("友美", "トモミ", "Tomomi"),
    ("美穂", "ミホ", "Miho"),
    ("由佳", "ユカ", "Yuka"),
    ("純子", "ジュンコ", "Junko"),
    ("洋子", "ヨウコ", "Yoko"),
    ("美紀", "ミキ", "Miki"),
    ("萌", "モエ", "Moe"),
    ("凛", "リン", "Rin"),
    ("楓", "カエデ", "Kaede"),
    ("詩織", "シオリ", "Shiori"),
    ("莉子", "リコ", "Riko"),
)


@dataclass(frozen=True)
class NamePairs:
    """Parallel tuples: kanji, katakana reading, romaji (for e-mail local parts)."""

    kanji: tuple[str, ...]
    kana: tuple[str, ...]
    romaji: tuple[str, ...]
    weight: tuple[float, ...]


def _pairs(rows: tuple[tuple[str, str, str], ...], weights: tuple[float, ...]) -> NamePairs:
    return NamePairs(
        kanji=tuple(r[0] for r in rows),
        kana=tuple(r[1] for r in rows),
        romaji=tuple(r[2].lower() for r in rows),
        weight=weights,
    )


@cache
def family_names() -> NamePairs:
    """Faker's 50 commonest surnames, weighted by their real frequency."""
    rows = tuple(PersonJa.last_name_pairs.keys())
    return _pairs(rows, tuple(float(w) for w in PersonJa.last_name_pairs.values()))


@cache
def given_names(gender: str) -> NamePairs:
    female = tuple(PersonJa.first_name_female_pairs) + _EXTRA_FEMALE
    male = tuple(PersonJa.first_name_male_pairs)
    rows = {"F": female, "M": male, "X": female + male}[gender]
    return _pairs(rows, tuple(1.0 for _ in rows))


_GENERIC_TOWNS = (
    "本町",
    "栄町",
    "緑町",
    "旭町",
    "幸町",
    "中央",
    "昭和町",
    "大手町",
    "錦町",
    "桜町",
    "東町",
    "西町",
    "南町",
    "新町",
    "元町",
    "宮前町",
    "泉町",
    "若葉",
    "駅前",
    "日吉町",
)


@cache
def towns() -> tuple[str, ...]:
    """Town names for street addresses: generic names found in every prefecture plus Faker's."""
    faker_towns = tuple(
        t for t in AddressJa.towns if not any(s in t for s in ("タワー", "公園", "皇居"))
    )
    return _GENERIC_TOWNS + faker_towns


BUILDING_NAMES: tuple[str, ...] = (
    *AddressJa.building_names,
    "メゾン",
    "グランド",
    "レジデンス",
    "ハイム",
    "ヴィラ",
)


@dataclass(frozen=True)
class Prefecture:
    code: str
    name_ja: str
    name_en: str
    region_ja: str
    region_en: str


@cache
def prefectures() -> tuple[Prefecture, ...]:
    """The 47 prefectures in JIS order, from data/reference/jp_prefectures.csv."""
    with (REFERENCE_DIR / "jp_prefectures.csv").open(encoding="utf-8", newline="") as f:
        return tuple(
            Prefecture(
                r["code"], r["prefecture_ja"], r["prefecture_en"], r["region_ja"], r["region_en"]
            )
            for r in csv.DictReader(f)
        )


@cache
def postal_prefixes() -> dict[str, tuple[str, ...]]:
    """Prefecture code -> its 3-digit postal prefixes (data/reference/jp_postal_prefixes.csv)."""
    out: dict[str, list[str]] = {}
    with (REFERENCE_DIR / "jp_postal_prefixes.csv").open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            out.setdefault(r["prefecture_code"], []).append(r["postal_prefix"])
    return {code: tuple(sorted(p)) for code, p in out.items()}


# Population in thousands (2020 census, rounded), by JIS code.
POPULATION_K: dict[str, int] = {
    "01": 5225, "02": 1238, "03": 1211, "04": 2302, "05": 960, "06": 1068, "07": 1833,
    "08": 2867, "09": 1933, "10": 1939, "11": 7345, "12": 6284, "13": 14048, "14": 9237,
    "15": 2201, "16": 1035, "17": 1133, "18": 767, "19": 810, "20": 2048, "21": 1979,
    "22": 3633, "23": 7542, "24": 1770, "25": 1414, "26": 2578, "27": 8838, "28": 5465,
    "29": 1324, "30": 923, "31": 553, "32": 671, "33": 1888, "34": 2800, "35": 1342,
    "36": 720, "37": 950, "38": 1335, "39": 692, "40": 5135, "41": 811, "42": 1312,
    "43": 1738, "44": 1124, "45": 1070, "46": 1588, "47": 1467,
}  # fmt: skip

# A city salon chain draws more customers from the big metropolitan areas than population alone.
URBAN_BOOST: dict[str, float] = {"13": 1.8, "27": 1.6, "23": 1.5, "14": 1.4, "40": 1.3}

# Landline area code of the prefectural capital (including the leading 0).
AREA_CODES: dict[str, str] = {
    "01": "011", "02": "017", "03": "019", "04": "022", "05": "018", "06": "023", "07": "024",
    "08": "029", "09": "028", "10": "027", "11": "048", "12": "043", "13": "03", "14": "045",
    "15": "025", "16": "076", "17": "076", "18": "0776", "19": "055", "20": "026", "21": "058",
    "22": "054", "23": "052", "24": "059", "25": "077", "26": "075", "27": "06", "28": "078",
    "29": "0742", "30": "073", "31": "0857", "32": "0852", "33": "086", "34": "082",
    "35": "083", "36": "088", "37": "087", "38": "089", "39": "088", "40": "092", "41": "0952",
    "42": "095", "43": "096", "44": "097", "45": "0985", "46": "099", "47": "098",
}  # fmt: skip

# Main cities (designated cities by ward) per prefecture, biggest first. Faker's city list
# covers only Chiba (without its big cities), Tokyo and Kanagawa (Yokohama and Kawasaki);
# it is appended for those three.
_CITIES: dict[str, tuple[str, ...]] = {
    "01": ("札幌市中央区", "札幌市北区", "札幌市東区", "札幌市白石区", "札幌市豊平区",
           "札幌市西区", "旭川市", "函館市", "釧路市", "帯広市", "苫小牧市", "小樽市", "江別市"),
    "02": ("青森市", "八戸市", "弘前市", "十和田市", "三沢市"),
    "03": ("盛岡市", "一関市", "奥州市", "花巻市", "北上市"),
    "04": ("仙台市青葉区", "仙台市宮城野区", "仙台市若林区", "仙台市太白区", "仙台市泉区",
           "石巻市", "大崎市", "名取市"),
    "05": ("秋田市", "横手市", "大仙市", "由利本荘市", "能代市"),
    "06": ("山形市", "鶴岡市", "酒田市", "米沢市", "天童市"),
    "07": ("郡山市", "いわき市", "福島市", "会津若松市", "須賀川市"),
    "08": ("水戸市", "つくば市", "日立市", "ひたちなか市", "土浦市", "古河市", "取手市"),
    "09": ("宇都宮市", "小山市", "栃木市", "足利市", "那須塩原市", "佐野市"),
    "10": ("高崎市", "前橋市", "太田市", "伊勢崎市", "桐生市"),
    "11": ("さいたま市大宮区", "さいたま市浦和区", "川口市", "川越市", "所沢市", "越谷市",
           "草加市", "春日部市", "上尾市", "熊谷市", "さいたま市南区"),
    "12": ("千葉市中央区", "千葉市美浜区", "船橋市", "松戸市", "市川市", "柏市", "市原市"),
    "14": ("相模原市南区", "相模原市中央区", "藤沢市", "横須賀市", "平塚市", "茅ヶ崎市",
           "大和市", "厚木市", "小田原市", "鎌倉市"),
    "15": ("新潟市中央区", "新潟市東区", "新潟市西区", "長岡市", "上越市", "三条市", "新発田市"),
    "16": ("富山市", "高岡市", "射水市", "魚津市"),
    "17": ("金沢市", "白山市", "小松市", "野々市市", "加賀市"),
    "18": ("福井市", "坂井市", "越前市", "敦賀市"),
    "19": ("甲府市", "甲斐市", "南アルプス市", "笛吹市", "富士吉田市"),
    "20": ("長野市", "松本市", "上田市", "佐久市", "飯田市", "安曇野市"),
    "21": ("岐阜市", "大垣市", "各務原市", "多治見市", "可児市", "関市"),
    "22": ("静岡市葵区", "浜松市中央区", "静岡市駿河区", "富士市", "沼津市", "磐田市",
           "藤枝市", "焼津市"),
    "23": ("名古屋市中区", "名古屋市中村区", "名古屋市千種区", "豊田市", "岡崎市", "一宮市",
           "名古屋市昭和区", "名古屋市緑区", "名古屋市名東区", "豊橋市", "春日井市", "安城市"),
    "24": ("四日市市", "津市", "鈴鹿市", "松阪市", "桑名市", "伊勢市"),
    "25": ("大津市", "草津市", "長浜市", "東近江市", "彦根市", "守山市"),
    "26": ("京都市中京区", "京都市下京区", "京都市左京区", "京都市右京区", "京都市伏見区",
           "宇治市", "亀岡市", "長岡京市", "舞鶴市"),
    "27": ("大阪市北区", "大阪市中央区", "大阪市天王寺区", "堺市堺区", "豊中市", "吹田市",
           "枚方市", "大阪市淀川区", "大阪市阿倍野区", "大阪市住吉区", "堺市北区", "東大阪市",
           "高槻市", "茨木市", "八尾市"),
    "28": ("神戸市中央区", "姫路市", "西宮市", "神戸市東灘区", "神戸市灘区", "神戸市須磨区",
           "神戸市西区", "尼崎市", "明石市", "加古川市", "宝塚市", "伊丹市"),
    "29": ("奈良市", "橿原市", "生駒市", "大和郡山市", "香芝市"),
    "30": ("和歌山市", "田辺市", "橋本市", "紀の川市"),
    "31": ("鳥取市", "米子市", "倉吉市", "境港市"),
    "32": ("松江市", "出雲市", "浜田市", "益田市"),
    "33": ("岡山市北区", "倉敷市", "岡山市南区", "津山市", "総社市"),
    "34": ("広島市中区", "福山市", "広島市南区", "広島市安佐南区", "広島市西区", "呉市",
           "東広島市", "尾道市"),
    "35": ("下関市", "山口市", "宇部市", "周南市", "岩国市"),
    "36": ("徳島市", "阿南市", "鳴門市", "吉野川市"),
    "37": ("高松市", "丸亀市", "三豊市", "観音寺市"),
    "38": ("松山市", "今治市", "新居浜市", "西条市", "四国中央市"),
    "39": ("高知市", "南国市", "四万十市", "香南市"),
    "40": ("福岡市中央区", "福岡市博多区", "北九州市小倉北区", "久留米市", "福岡市東区",
           "福岡市南区", "福岡市早良区", "北九州市八幡西区", "飯塚市", "春日市"),
    "41": ("佐賀市", "唐津市", "鳥栖市", "伊万里市"),
    "42": ("長崎市", "佐世保市", "諫早市", "大村市"),
    "43": ("熊本市中央区", "熊本市東区", "熊本市北区", "八代市", "天草市", "玉名市"),
    "44": ("大分市", "別府市", "中津市", "佐伯市"),
    "45": ("宮崎市", "都城市", "延岡市", "日向市"),
    "46": ("鹿児島市", "霧島市", "鹿屋市", "薩摩川内市"),
    "47": ("那覇市", "沖縄市", "うるま市", "浦添市", "宜野湾市"),
}  # fmt: skip

# The 60 salons: prefecture code -> (city, store label), flagship first. Heavier in the big
# metropolitan areas, as a city salon chain is.
STORE_LOCATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "13": (("渋谷区", "渋谷"), ("新宿区", "新宿"), ("中央区", "銀座"), ("港区", "表参道"),
           ("豊島区", "池袋"), ("世田谷区", "二子玉川"), ("品川区", "大井町"),
           ("目黒区", "自由が丘"), ("町田市", "町田"), ("立川市", "立川"), ("武蔵野市", "吉祥寺")),
    "27": (("大阪市北区", "梅田"), ("大阪市中央区", "心斎橋"), ("大阪市天王寺区", "天王寺"),
           ("大阪市中央区", "なんば"), ("堺市堺区", "堺東"), ("豊中市", "豊中"),
           ("枚方市", "枚方")),
    "14": (("横浜市西区", "横浜"), ("川崎市川崎区", "川崎"), ("横浜市港北区", "新横浜"),
           ("横浜市青葉区", "たまプラーザ"), ("藤沢市", "藤沢"), ("相模原市南区", "相模大野")),
    "23": (("名古屋市中区", "栄"), ("名古屋市中村区", "名古屋駅前"), ("名古屋市千種区", "千種"),
           ("豊田市", "豊田"), ("岡崎市", "岡崎"), ("一宮市", "一宮")),
    "40": (("福岡市中央区", "天神"), ("福岡市博多区", "博多"), ("北九州市小倉北区", "小倉"),
           ("久留米市", "久留米")),
    "11": (("さいたま市大宮区", "大宮"), ("さいたま市浦和区", "浦和"), ("川越市", "川越")),
    "12": (("千葉市中央区", "千葉"), ("船橋市", "船橋"), ("柏市", "柏")),
    "28": (("神戸市中央区", "三宮"), ("姫路市", "姫路"), ("西宮市", "西宮北口")),
    "26": (("京都市下京区", "京都駅前"), ("京都市中京区", "四条河原町")),
    "01": (("札幌市中央区", "札幌大通"), ("札幌市北区", "札幌駅前")),
    "04": (("仙台市青葉区", "仙台"), ("仙台市泉区", "泉中央")),
    "34": (("広島市中区", "広島八丁堀"), ("福山市", "福山")),
    "22": (("静岡市葵区", "静岡"), ("浜松市中央区", "浜松")),
    "15": (("新潟市中央区", "新潟"),),
    "33": (("岡山市北区", "岡山"),),
    "43": (("熊本市中央区", "熊本"),),
    "46": (("鹿児島市", "鹿児島天文館"),),
    "47": (("那覇市", "那覇"),),
    "20": (("長野市", "長野"),),
    "17": (("金沢市", "金沢"),),
}  # fmt: skip


def _faker_cities_by_prefecture() -> dict[str, tuple[str, ...]]:
    cities = AddressJa.cities
    tokyo_start = cities.index("千代田区")
    kanagawa_start = cities.index("横浜市鶴見区")
    return {
        "12": tuple(cities[:tokyo_start]),
        "13": tuple(cities[tokyo_start:kanagawa_start]),
        "14": tuple(cities[kanagawa_start:]),
    }


@cache
def cities() -> dict[str, tuple[tuple[str, ...], tuple[float, ...]]]:
    """Prefecture code -> (city names, sampling weights): wards and cities outweigh villages."""
    out: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {}
    merged = dict(_CITIES)
    for code, names in _faker_cities_by_prefecture().items():
        merged[code] = merged.get(code, ()) + names
    for code, names in merged.items():
        weights = []
        for i, name in enumerate(names):
            w = 3.0 if name.endswith("区") else 1.5 if name.endswith("市") else 0.1
            if code not in ("12", "13", "14"):
                w *= 1.0 if i < 3 else 0.6  # lists elsewhere are ordered biggest first
            weights.append(w)
        out[code] = (tuple(names), tuple(weights))
    return out


STORE_BRAND = "ルミエール"

# Share of visits per course by gender. The demo samples the schema's COURSE_CATEGORIES in
# this table's order (COURSES), so a seed keeps giving the same database.
COURSE_SHARE: dict[str, dict[str, float]] = {
    "F": {"facial": 0.30, "body": 0.21, "hair_removal": 0.27, "bridal": 0.03, "eyelash": 0.10,
          "nail": 0.09},
    "M": {"facial": 0.33, "body": 0.15, "hair_removal": 0.47, "bridal": 0.0, "eyelash": 0.01,
          "nail": 0.04},
    "X": {"facial": 0.32, "body": 0.20, "hair_removal": 0.30, "bridal": 0.0, "eyelash": 0.09,
          "nail": 0.09},
}  # fmt: skip
COURSES = tuple(COURSE_SHARE["F"])
COURSE_P: dict[str, tuple[float, ...]] = {
    gender: tuple(shares[c] for c in COURSES) for gender, shares in COURSE_SHARE.items()
}
COURSE_JA = {
    "facial": "フェイシャル",
    "body": "ボディ",
    "hair_removal": "脱毛",
    "bridal": "ブライダルエステ",
    "eyelash": "まつげエクステ",
    "nail": "ネイル",
}
# Price range per course in yen (low, high); amounts are rounded to 100 yen.
COURSE_PRICE: dict[str, tuple[int, int]] = {
    "facial": (5_000, 20_000),
    "body": (8_000, 30_000),
    "hair_removal": (3_000, 25_000),
    "bridal": (50_000, 300_000),
    "eyelash": (4_000, 12_000),
    "nail": (5_000, 15_000),
}

MOBILE_PREFIXES = ("090", "080", "070")
MOBILE_PREFIX_P = (0.5, 0.35, 0.15)

EMAIL_DOMAINS = (
    "gmail.com",
    "yahoo.co.jp",
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "au.com",
    "softbank.ne.jp",
    "i.softbank.jp",
    "icloud.com",
    "outlook.jp",
    "hotmail.co.jp",
    "nifty.com",
    "ybb.ne.jp",
)
EMAIL_DOMAIN_P = (0.34, 0.18, 0.1, 0.06, 0.03, 0.04, 0.05, 0.1, 0.03, 0.03, 0.015, 0.015)

QUESTIONNAIRE_CHANNEL_SHARE: dict[str, float] = {
    "store": 0.35,
    "web": 0.3,
    "app": 0.25,
    "mail": 0.1,
}
QUESTIONNAIRE_CHANNELS = tuple(c for c in CHANNELS if c in QUESTIONNAIRE_CHANNEL_SHARE)
QUESTIONNAIRE_CHANNEL_P = tuple(QUESTIONNAIRE_CHANNEL_SHARE[c] for c in QUESTIONNAIRE_CHANNELS)
CAMPAIGN_CHANNEL_SHARE: dict[str, float] = {"web": 0.5, "app": 0.3, "store": 0.2}
CAMPAIGN_CHANNELS = tuple(CAMPAIGN_CHANNEL_SHARE)  # sampled in this order (same seed, same data)
CAMPAIGN_CHANNEL_P = tuple(CAMPAIGN_CHANNEL_SHARE.values())
# (code suffix, first month, last month) of the seasonal campaigns.
CAMPAIGN_SEASONS = (
    ("NEWYEAR", 1, 2),
    ("SPRING", 3, 5),
    ("SUMMER", 6, 8),
    ("AUTUMN", 9, 10),
    ("WINTER", 11, 12),
)
# Privacy policy versions and the day each took effect; a consent records the one in force.
POLICY_VERSIONS = (
    ("2015-01", "2015-01-01"),
    ("2018-05", "2018-05-25"),
    ("2021-10", "2021-10-01"),
    ("2024-04", "2024-04-01"),
)

# Questionnaire comments by tone; {course} is the course's Japanese name.
COMMENTS_POSITIVE = (
    "{course}の仕上がりにとても満足しています。",
    "スタッフの方がとても丁寧で安心して施術を受けられました。",
    "店内が清潔で落ち着いた雰囲気でした。",
    "{course}の効果を実感できました。また利用したいです。",
    "予約が取りやすく助かっています。",
    "カウンセリングが丁寧で、悩みをしっかり聞いてもらえました。",
    "友人にも勧めたいと思います。",
    "{course}のコースが期待以上でした。",
    "いつも気持ちよく過ごせます。ありがとうございます。",
    "アプリから簡単に予約できて便利です。",
)
COMMENTS_NEUTRAL = (
    "{course}は普通でした。もう少し効果が出ると嬉しいです。",
    "待ち時間が少し長かったです。",
    "料金がもう少し分かりやすいと良いと思います。",
    "特に不満はありません。",
    "駐車場があると助かります。",
    "{course}の回数券があれば利用したいです。",
)
COMMENTS_NEGATIVE = (
    "予約時間に行ったのにかなり待たされました。",
    "{course}の勧誘がしつこく感じました。",
    "価格に対して満足度が低かったです。",
    "施術後に肌が少し赤くなりました。",
    "担当者の説明が分かりにくかったです。",
    "{course}の効果があまり感じられませんでした。",
)
# Comments that carry personal data, as real free text sometimes does. Placeholders: {staff}
# (a staff surname), {family}/{given} (the customer's name), {phone}, {email}.
COMMENTS_PERSONAL = (
    "担当の{staff}さんがとても丁寧で、次回も指名したいです。",
    "{staff}さんの施術が上手でした。",
    "{family}{given}です。予約の変更をお願いしたいので{phone}までご連絡ください。",
    "折り返しのお電話は{phone}にお願いします。",
    "領収書を{email}に送っていただけますか。",
    "キャンペーンの詳細を{email}宛てに送ってください。{family}",
    "{family}と申します。前回の施術について相談したいので{email}までご連絡ください。",
    "友人の{staff}さんの紹介で来店しました。",
)

WEB_PATHS = (
    "/",
    "/menu/facial",
    "/menu/body",
    "/menu/hair-removal",
    "/menu/bridal",
    "/menu/eyelash",
    "/menu/nail",
    "/price",
    "/stores",
    "/campaign",
    "/reservation",
    "/reservation/confirm",
    "/reservation/complete",
    "/mypage",
    "/login",
    "/faq",
    "/contact",
    "/recruit",
    "/company",
    "/privacy",
)
WEB_PATH_P = (
    0.2,
    0.07,
    0.05,
    0.07,
    0.02,
    0.03,
    0.03,
    0.06,
    0.08,
    0.07,
    0.08,
    0.04,
    0.03,
    0.05,
    0.04,
    0.03,
    0.015,
    0.01,
    0.01,
    0.005,
)
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 Safari Line/15.10.1",
    "Mozilla/5.0 (Linux; Android 14; SO-51D) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/137.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 15; Pixel 8a) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/138.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SH-53C) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/136.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/138.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.5 Safari/605.1.15",
    "Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
)
USER_AGENT_P = (0.24, 0.1, 0.08, 0.12, 0.08, 0.08, 0.1, 0.05, 0.06, 0.04, 0.03, 0.02)
