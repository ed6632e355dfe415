"""The demo bureau: its departments, people and about 200 enterprises, generated deterministically.

Departments are the seven named in the 2023 work plan; districts are the
city's three; sectors follow the plan. Enterprise names, addresses, people
and 执法证 numbers are made up (fixed random seed, so every run produces the
same world); credit codes carry a correct GB 32100 check character but
belong to nobody.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from schemas.identifiers import CREDIT_CODE_ALPHABET, credit_code_check_char
from schemas.vocab import label as district_label
from schemas.vocab import District, OperatingStatus, RiskGrade, Role, Sector, StandardizationLevel

SEED = 20230101


@dataclass(frozen=True)
class DemoDepartment:
    code: str
    name: str


DEPARTMENTS: tuple[DemoDepartment, ...] = (
    DemoDepartment("office", "办公室"),
    DemoDepartment("coordination", "应急协调科"),
    DemoDepartment("supervision", "综合监督及救灾保障科"),
    DemoDepartment("hazchem", "危险化学品安全监督管理科"),
    DemoDepartment("basic-safety", "安全生产基础科"),
    DemoDepartment("enforcement", "执法支队"),
    DemoDepartment("command-center", "安全生产监测与应急救援指挥中心"),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    department_code: str | None
    badge_number: str | None
    districts: tuple[District, ...]


ALL_DISTRICTS = (District.SHAPOTOU, District.ZHONGNING, District.HAIYUAN)

# Inspectors by department: the enforcement detachment carries most field work.
_INSPECTORS = (
    ("马俊峰", "enforcement", (District.SHAPOTOU,)),
    ("王海燕", "enforcement", (District.SHAPOTOU,)),
    ("李建国", "enforcement", (District.ZHONGNING,)),
    ("杨晓东", "enforcement", (District.HAIYUAN,)),
    ("张丽娟", "hazchem", (District.SHAPOTOU, District.ZHONGNING)),
    ("刘志强", "hazchem", (District.SHAPOTOU,)),
    ("田学文", "hazchem", (District.ZHONGNING, District.HAIYUAN)),
    ("周文斌", "basic-safety", (District.SHAPOTOU,)),
    ("丁玉梅", "basic-safety", (District.ZHONGNING,)),
    ("金永亮", "basic-safety", (District.HAIYUAN,)),
    ("何佳宁", "supervision", ALL_DISTRICTS),
    ("冯立新", "supervision", ALL_DISTRICTS),
)


def _badge(n: int) -> str:
    # Made-up 执法证 numbers in one consistent shape (region 6405, year of issue, serial).
    return f"6405-2023-{n:04d}"


USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "系统管理员", Role.ADMIN, "office", None, ()),
    DemoUser("supervisor1", "马建军（执法支队负责人）", Role.SUPERVISOR, "enforcement", _badge(1), ALL_DISTRICTS),
    # A second head of the same unit decides what supervisor1 proposes; 法制审核 is a third person's.
    DemoUser("supervisor2", "田海燕（执法支队副支队长）", Role.SUPERVISOR, "enforcement", _badge(2), ALL_DISTRICTS),
    DemoUser("legal1", "郭文静（法制审核）", Role.LEGAL_REVIEWER, "office", _badge(3), ALL_DISTRICTS),
    DemoUser("leader1", "王志刚（局领导）", Role.LEADER, "office", None, ALL_DISTRICTS),
    *(
        DemoUser(f"inspector{i}", name, Role.INSPECTOR, department, _badge(100 + i), districts)
        for i, (name, department, districts) in enumerate(_INSPECTORS, start=1)
    ),
)

# Administrative division codes used in credit codes (positions 3–8).
_DIVISION = {District.SHAPOTOU: "640502", District.ZHONGNING: "640521", District.HAIYUAN: "640522"}

_PLACES = {
    District.SHAPOTOU: ("美利工业园区", "中卫工业园区", "镇罗镇", "宣和镇", "迎水桥镇", "东园镇", "柔远镇", "常乐镇", "永康镇", "兴仁镇"),
    District.ZHONGNING: ("中宁工业园区", "宁安镇", "鸣沙镇", "石空镇", "新堡镇", "恩和镇", "大战场镇", "白马乡", "余丁乡"),
    District.HAIYUAN: ("海城镇", "三河镇", "七营镇", "李旺镇", "西安镇", "史店乡", "关桥乡", "贾塘乡"),
}
_ROADS = ("迎宾大道", "工业路", "创业路", "兴业路", "滨河路", "纬三路", "经二路", "园区大道", "长城路", "应理街")
_CENTRES = {District.SHAPOTOU: (105.19, 37.51), District.ZHONGNING: (105.68, 37.49), District.HAIYUAN: (105.64, 36.56)}
_CITY_PREFIX = {District.SHAPOTOU: ("中卫市", "宁夏"), District.ZHONGNING: ("中宁县", "宁夏"), District.HAIYUAN: ("海原县", "宁夏")}

_BRANDS = (
    "金沙", "银河", "宏达", "天元", "瑞丰", "恒信", "鑫源", "华宇", "腾格里", "沙湖", "黄河", "长城", "祥瑞", "兴盛",
    "博远", "汇丰", "新立", "嘉泰", "中盛", "远航", "安顺", "广源", "泰和", "振宇", "凯达", "润泽", "宁鑫", "西部",
    "东方", "宝丰", "晟元", "和信", "恒泰", "天宝", "盛隆", "永昌", "美利", "香山", "应理", "星海", "金鼎", "鸿运",
)
_TRADES = {
    Sector.HAZARDOUS_CHEMICALS: ("化工", "精细化工", "新材料科技", "气体", "化学品储运", "生物化工", "石化销售", "氯碱化工"),
    Sector.METALLURGY: ("冶金", "铁合金", "特钢", "硅业", "碳素", "镁业"),
    Sector.INDUSTRY_TRADE: ("机械制造", "建材", "水泥", "枸杞食品", "造纸", "纺织", "木业", "铝型材", "葡萄酒业", "粮油加工", "饲料"),
    Sector.NON_COAL_MINING: ("矿业", "石料", "砂石", "石膏矿业", "石灰石开采"),
    Sector.COAL_MINING: ("煤业", "矿业开发"),
    Sector.MINING: ("矿产开发", "矿山工程"),
}
_SUFFIXES = ("有限公司", "有限责任公司", "股份有限公司")
_SECTOR_COUNTS = {
    Sector.INDUSTRY_TRADE: 80,
    Sector.HAZARDOUS_CHEMICALS: 45,
    Sector.METALLURGY: 25,
    Sector.NON_COAL_MINING: 25,
    Sector.MINING: 15,
    Sector.COAL_MINING: 10,
}
_SURNAMES = "马王李张刘杨田周丁金何冯赵陈吴孙朱高郭罗"
_GIVEN = ("建华", "海军", "玉兰", "志勇", "国庆", "学军", "红梅", "小平", "文龙", "秀英", "永胜", "晓燕", "立军", "春花")


@dataclass(frozen=True)
class DemoEnterprise:
    credit_code: str
    name: str
    sector: Sector
    district: District
    address: str
    longitude: float
    latitude: float
    risk_grade: RiskGrade
    standardization_level: StandardizationLevel
    major_hazard_source: bool
    operating_status: OperatingStatus
    contact_name: str
    contact_phone: str


def _credit_code(rng: random.Random, district: District) -> str:
    # 9 = registered by market regulation, 1 = enterprise; then the division code and a made-up organisation code.
    body = "91" + _DIVISION[district] + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    return body + credit_code_check_char(body)


def _weighted(rng: random.Random, choices: dict) -> object:
    return rng.choices(list(choices), weights=list(choices.values()))[0]


def enterprises() -> list[DemoEnterprise]:
    """The same ~200 enterprises on every call."""
    rng = random.Random(SEED)
    names: set[str] = set()
    codes: set[str] = set()
    result: list[DemoEnterprise] = []
    for sector, count in _SECTOR_COUNTS.items():
        for _ in range(count):
            district = _weighted(rng, {District.SHAPOTOU: 50, District.ZHONGNING: 35, District.HAIYUAN: 15})
            while True:
                prefix = rng.choice(_CITY_PREFIX[district])
                name = f"{prefix}{rng.choice(_BRANDS)}{rng.choice(_TRADES[sector])}{rng.choice(_SUFFIXES)}"
                if name not in names:
                    break
            names.add(name)
            code = _credit_code(rng, district)
            while code in codes:
                code = _credit_code(rng, district)
            codes.add(code)
            place = rng.choice(_PLACES[district])
            address = f"中卫市{district_label(district)}{place}{rng.choice(_ROADS)}{rng.randint(1, 288)}号"
            lon, lat = _CENTRES[district]
            dangerous = sector in (Sector.HAZARDOUS_CHEMICALS, Sector.COAL_MINING, Sector.NON_COAL_MINING)
            risk = _weighted(
                rng,
                {RiskGrade.A: 10, RiskGrade.B: 30, RiskGrade.C: 40, RiskGrade.D: 20}
                if dangerous
                else {RiskGrade.A: 35, RiskGrade.B: 40, RiskGrade.C: 20, RiskGrade.D: 5},
            )
            result.append(
                DemoEnterprise(
                    credit_code=code,
                    name=name,
                    sector=sector,
                    district=district,
                    address=address,
                    longitude=round(lon + rng.uniform(-0.15, 0.15), 5),
                    latitude=round(lat + rng.uniform(-0.12, 0.12), 5),
                    risk_grade=risk,
                    standardization_level=_weighted(
                        rng,
                        {
                            StandardizationLevel.LEVEL_1: 3,
                            StandardizationLevel.LEVEL_2: 20,
                            StandardizationLevel.LEVEL_3: 50,
                            StandardizationLevel.UNGRADED: 27,
                        },
                    ),
                    major_hazard_source=rng.random() < {Sector.HAZARDOUS_CHEMICALS: 0.4, Sector.METALLURGY: 0.2}.get(sector, 0.05),
                    operating_status=_weighted(
                        rng, {OperatingStatus.OPERATING: 90, OperatingStatus.SUSPENDED: 7, OperatingStatus.CLOSED: 3}
                    ),
                    contact_name=rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                    contact_phone=f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}",
                )
            )
    return result


#: Declared 回避 of the demo: (username, index into enterprises(), reason).
CONFLICTS: tuple[tuple[str, int, str], ...] = (
    ("inspector3", 0, "近亲属在该企业担任安全管理人员"),
    ("inspector5", 80, "曾在该企业任职，离职未满三年"),
    ("inspector9", 130, "配偶持有该企业股份"),
)
