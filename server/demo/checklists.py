"""Demo checklist templates, one per sector, following the categories of the national 判定标准.

The item texts are short paraphrases written for this demo from the category
names of each standard; they are NOT the official wording and do not list
every clause. Before real use, an administrator replaces them with the
bureau's own checklists (a new version per change, see ``server.checklists``).

Bases:

- 工贸 and 冶金: 《工贸企业重大事故隐患判定标准》（应急管理部令第10号，2023年5月15日施行）:
  管理类, 行业类 (冶金 among others) and 专项类 (粉尘爆炸、液氨制冷、有限空间).
- 危险化学品: 《化工和危险化学品生产经营单位重大生产安全事故隐患判定标准（试行）》（安监总管三〔2017〕121号）.
- 煤矿: 《煤矿重大事故隐患判定标准》（应急管理部令第4号，2021年1月1日施行）, its 15 categories.
- 非煤矿山: 《金属非金属矿山重大事故隐患判定标准》（矿安〔2022〕88号）: 地下矿山、露天矿山、尾矿库.
- 矿山 (no sector-specific standard named in the plan): general items from
  《中华人民共和国矿山安全法》 and 《安全生产法》, none marked as a 重大事故隐患 criterion.

Items not marked ``major`` are ordinary inspection points drawn from
《中华人民共和国安全生产法》（2021年修正）.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.vocab import Sector

SAFETY_LAW = "《中华人民共和国安全生产法》（2021年修正）"
GM_10 = "《工贸企业重大事故隐患判定标准》（应急管理部令第10号）"
HG_121 = "《化工和危险化学品生产经营单位重大生产安全事故隐患判定标准（试行）》（安监总管三〔2017〕121号）"
MK_4 = "《煤矿重大事故隐患判定标准》（应急管理部令第4号）"
FM_88 = "《金属非金属矿山重大事故隐患判定标准》（矿安〔2022〕88号）"
MINE_LAW = "《中华人民共和国矿山安全法》"


@dataclass(frozen=True)
class Item:
    code: str
    category: str
    text: str
    legal_basis: str
    major: bool = False


@dataclass(frozen=True)
class Template:
    code: str
    sector: Sector
    title: str
    basis: str
    items: tuple[Item, ...]


def _general(prefix: str) -> tuple[Item, ...]:
    """Points every enterprise is checked on, whatever its sector (not 重大隐患 criteria by themselves)."""
    return (
        Item(f"{prefix}-YB-01", "基础管理", "建立并落实全员安全生产责任制，责任清单覆盖到岗位", SAFETY_LAW),
        Item(f"{prefix}-YB-02", "基础管理", "从业人员经安全生产教育和培训，培训档案完整", SAFETY_LAW),
        Item(f"{prefix}-YB-03", "双重预防", "开展风险分级管控和隐患排查治理，隐患台账记录整改情况", SAFETY_LAW),
        Item(f"{prefix}-YB-04", "应急管理", "制定生产安全事故应急救援预案并按规定组织演练", SAFETY_LAW),
        Item(f"{prefix}-YB-05", "现场管理", "安全警示标志设置齐全，疏散通道和安全出口畅通", SAFETY_LAW),
    )


INDUSTRY_TRADE = Template(
    code="gm-zdyh-2023",
    sector=Sector.INDUSTRY_TRADE,
    title="工贸企业安全检查表（重大事故隐患判定）",
    basis=GM_10,
    items=(
        Item("GM-GL-01", "管理类", "对承包、承租单位的安全生产统一协调管理，并定期开展安全检查", f"{GM_10} 管理类", True),
        Item("GM-GL-02", "管理类", "特种作业人员经专门安全作业培训、取得相应资格后上岗", f"{GM_10} 管理类", True),
        Item("GM-GL-03", "管理类", "金属冶炼企业主要负责人和安全管理人员经考核合格", f"{GM_10} 管理类", True),
        Item("GM-FC-01", "专项类·粉尘爆炸", "粉尘爆炸危险场所不设在非框架结构的多层建构筑物内，与人员密集场所保持隔离", f"{GM_10} 专项类（粉尘爆炸）", True),
        Item("GM-FC-02", "专项类·粉尘爆炸", "可燃性粉尘与可燃气体等易加剧爆炸危险的介质不共用除尘系统，不同防火分区的除尘系统不互联互通", f"{GM_10} 专项类（粉尘爆炸）", True),
        Item("GM-FC-03", "专项类·粉尘爆炸", "干式除尘系统按规定采取泄爆、隔爆、惰化、抑爆等控制爆炸的措施", f"{GM_10} 专项类（粉尘爆炸）", True),
        Item("GM-FC-04", "专项类·粉尘爆炸", "按规定清理作业场所和设备内积尘，并留有记录", f"{GM_10} 专项类（粉尘爆炸）", True),
        Item("GM-YA-01", "专项类·液氨制冷", "包装、分割、产品整理等人员较多的生产场所不使用氨直接蒸发制冷", f"{GM_10} 专项类（液氨制冷）", True),
        Item("GM-YA-02", "专项类·液氨制冷", "快速冻结装置设置在单独作业间内，作业间内人员数量符合规定", f"{GM_10} 专项类（液氨制冷）", True),
        Item("GM-YK-01", "专项类·有限空间", "辨识有限空间并建立管理台账，设置明显的安全警示标志", f"{GM_10} 专项类（有限空间）", True),
        Item("GM-YK-02", "专项类·有限空间", "有限空间作业经审批，执行先通风、再检测、后作业，现场设监护人", f"{GM_10} 专项类（有限空间）", True),
        Item("GM-JX-01", "行业类·机械", "会议室、休息室等人员聚集场所不设在熔炼炉、熔融金属吊运影响范围内", f"{GM_10} 行业类（机械）", True),
        Item("GM-JC-01", "行业类·建材", "水泥工厂煤磨袋式收尘器、煤粉仓设有温度、一氧化碳监测和气体灭火装置", f"{GM_10} 行业类（建材）", True),
        Item("GM-QG-01", "行业类·轻工", "食品加工等使用燃气的场所按规定设置可燃气体浓度报警和联锁切断装置", f"{GM_10} 行业类（轻工）", True),
        *_general("GM"),
    ),
)

METALLURGY = Template(
    code="yj-zdyh-2023",
    sector=Sector.METALLURGY,
    title="冶金企业安全检查表（重大事故隐患判定）",
    basis=GM_10 + " 管理类、行业类（冶金）",
    items=(
        Item("YJ-GL-01", "管理类", "主要负责人和安全管理人员经考核合格", f"{GM_10} 管理类", True),
        Item("YJ-GL-02", "管理类", "特种作业人员持证上岗", f"{GM_10} 管理类", True),
        Item("YJ-GL-03", "管理类", "对承包、承租单位统一协调管理并定期检查", f"{GM_10} 管理类", True),
        Item("YJ-HY-01", "行业类·冶金", "会议室、操作室、休息室等人员聚集场所不在铁水、钢水、液渣吊运跨的影响范围内", f"{GM_10} 行业类（冶金）", True),
        Item("YJ-HY-02", "行业类·冶金", "吊运熔融金属的起重机符合冶金起重机的要求，制动器设置满足规定", f"{GM_10} 行业类（冶金）", True),
        Item("YJ-HY-03", "行业类·冶金", "盛装熔融金属的罐（包）及其运行区域无积水、无潮湿物料", f"{GM_10} 行业类（冶金）", True),
        Item("YJ-HY-04", "行业类·冶金", "煤气生产、输送、使用区域设置固定式一氧化碳监测报警装置并正常运行", f"{GM_10} 行业类（冶金）", True),
        Item("YJ-HY-05", "行业类·冶金", "炉体冷却水系统设有流量、温度监测报警，断水时有应急供水措施", f"{GM_10} 行业类（冶金）", True),
        Item("YJ-HY-06", "行业类·冶金", "煤气柜、煤气管道等设施的安全装置（水封、放散、隔断）完好有效", f"{GM_10} 行业类（冶金）", True),
        Item("YJ-YK-01", "专项类·有限空间", "有限空间作业审批、通风检测、现场监护落实", f"{GM_10} 专项类（有限空间）", True),
        *_general("YJ"),
    ),
)

HAZARDOUS_CHEMICALS = Template(
    code="hg-zdyh-2017",
    sector=Sector.HAZARDOUS_CHEMICALS,
    title="化工和危险化学品企业安全检查表（重大隐患判定）",
    basis=HG_121,
    items=(
        Item("HG-01", "人员资格", "主要负责人和安全生产管理人员依法经考核合格", HG_121, True),
        Item("HG-02", "人员资格", "特种作业人员持证上岗", HG_121, True),
        Item("HG-03", "布局与距离", "涉及“两重点一重大”的装置、储存设施外部安全防护距离符合国家标准", HG_121, True),
        Item("HG-04", "自动化控制", "重点监管危险化工工艺装置实现自动化控制并具备紧急停车功能，且系统投入使用", HG_121, True),
        Item("HG-05", "重大危险源", "一级、二级重大危险源罐区具备紧急切断功能；涉及毒性气体、液化气体、剧毒液体的按规定配备独立安全仪表系统", HG_121, True),
        Item("HG-06", "储存设施", "全压力式液化烃储罐按国家标准设置注水措施", HG_121, True),
        Item("HG-07", "装卸充装", "液化烃、液氨、液氯等液化气体充装使用万向管道充装系统", HG_121, True),
        Item("HG-08", "布局与距离", "剧毒气体及硫化氢气体管道不穿越厂区（园区）以外的公共区域", HG_121, True),
        Item("HG-09", "布局与距离", "架空电力线路穿越生产区时符合国家标准", HG_121, True),
        Item("HG-10", "设计与工艺", "在役化工装置经正规设计，或已完成安全设计诊断", HG_121, True),
        Item("HG-11", "设计与工艺", "未使用淘汰落后的安全技术工艺和设备", HG_121, True),
        Item("HG-12", "检测报警与防爆", "可燃、有毒气体泄漏场所设检测报警装置，爆炸危险场所使用防爆电气设备", HG_121, True),
        Item("HG-13", "控制室", "控制室、机柜间面向火灾爆炸危险装置一侧满足防火防爆要求", HG_121, True),
        Item("HG-14", "供电", "生产装置双重电源供电，自动化控制系统配备不间断电源", HG_121, True),
        Item("HG-15", "安全附件", "安全阀、爆破片等安全附件正常投用", HG_121, True),
        Item("HG-16", "管理制度", "建立与岗位相匹配的全员安全生产责任制和隐患排查治理制度", HG_121, True),
        Item("HG-17", "管理制度", "制定操作规程和工艺控制指标", HG_121, True),
        Item("HG-18", "特殊作业", "动火、进入受限空间等特殊作业有管理制度并有效执行", HG_121, True),
        Item("HG-19", "设计与工艺", "新工艺经小试、中试和工业化试验；精细化工企业按要求开展反应安全风险评估", HG_121, True),
        Item("HG-20", "储存管理", "危险化学品分区分类储存，不超量、超品种储存，禁配物质不混存", HG_121, True),
        *_general("HG"),
    ),
)

COAL_MINING = Template(
    code="mk-zdyh-2021",
    sector=Sector.COAL_MINING,
    title="煤矿安全检查表（重大事故隐患判定）",
    basis=MK_4,
    items=(
        Item("MK-01", "生产组织", "不超能力、超强度或者超定员组织生产", f"{MK_4} 超能力、超强度或者超定员组织生产", True),
        Item("MK-02", "瓦斯", "瓦斯不超限作业，瓦斯检查和监控系统正常运行", f"{MK_4} 瓦斯超限作业", True),
        Item("MK-03", "瓦斯", "煤与瓦斯突出矿井落实区域和局部综合防突措施", f"{MK_4} 煤与瓦斯突出矿井未依照规定实施防突出措施", True),
        Item("MK-04", "瓦斯", "高瓦斯、突出矿井按规定建立瓦斯抽采系统和监控系统并正常使用", f"{MK_4} 高瓦斯、煤与瓦斯突出矿井未按照规定建立瓦斯抽采系统和监控系统", True),
        Item("MK-05", "通风", "通风系统完善可靠，风量满足要求，不存在不符合规定的串联通风", f"{MK_4} 通风系统不符合规定", True),
        Item("MK-06", "防治水", "水文地质情况查明，有水患的采取探放水等有效措施", f"{MK_4} 有严重水患，未采取有效措施", True),
        Item("MK-07", "开采范围", "在批准的井田范围和层位内开采，无超层越界", f"{MK_4} 超层越界开采", True),
        Item("MK-08", "冲击地压", "有冲击地压危险的矿井落实监测预警和防治措施", f"{MK_4} 有冲击地压危险，未采取有效措施", True),
        Item("MK-09", "防灭火", "自然发火严重的矿井落实综合防灭火措施", f"{MK_4} 自然发火严重，未采取有效措施", True),
        Item("MK-10", "设备工艺", "未使用明令禁止或淘汰的设备、工艺", f"{MK_4} 使用明令禁止使用或者淘汰的设备、工艺", True),
        Item("MK-11", "供电", "矿井具备双回路供电系统", f"{MK_4} 煤矿没有双回路供电系统", True),
        Item("MK-12", "建设与改扩建", "新建、改扩建矿井不边建设边生产，生产不超出安全设施设计的范围和规模", f"{MK_4} 新建煤矿边建设边生产等情形", True),
        Item("MK-13", "承包管理", "整体承包后依法取得或变更安全生产许可证，无转包和井下采掘劳务承包", f"{MK_4} 煤矿实行整体承包生产经营后的违规情形", True),
        Item("MK-14", "改制管理", "改制期间明确安全生产责任人和管理机构，改制后及时变更相关证照", f"{MK_4} 煤矿改制期间的违规情形", True),
        Item("MK-15", "其他", "不存在其他被认定为重大事故隐患的情形（如安全监控、人员位置监测系统不能正常运行）", f"{MK_4} 其他重大事故隐患", True),
        *_general("MK"),
    ),
)

NON_COAL_MINING = Template(
    code="fmks-zdyh-2022",
    sector=Sector.NON_COAL_MINING,
    title="金属非金属矿山安全检查表（重大事故隐患判定）",
    basis=FM_88,
    items=(
        Item("FM-DX-01", "地下矿山", "安全出口数量、间距和通往地面的条件符合要求", f"{FM_88} 地下矿山", True),
        Item("FM-DX-02", "地下矿山", "机械通风系统正常运行，作业面风量和有毒有害气体浓度符合规定", f"{FM_88} 地下矿山", True),
        Item("FM-DX-03", "地下矿山", "提升系统的防坠、防过卷等安全保护装置齐全有效", f"{FM_88} 地下矿山", True),
        Item("FM-DX-04", "地下矿山", "井下主要排水系统的能力满足要求，水文地质条件复杂的落实探放水", f"{FM_88} 地下矿山", True),
        Item("FM-DX-05", "地下矿山", "采空区、地压活动区按设计处理和监测，无违规开采保安矿柱", f"{FM_88} 地下矿山", True),
        Item("FM-LT-01", "露天矿山", "按设计台阶开采，台阶高度、平台宽度和边坡角符合设计，无掏采", f"{FM_88} 露天矿山", True),
        Item("FM-LT-02", "露天矿山", "高陡边坡按规定进行监测，发现滑坡征兆及时处置", f"{FM_88} 露天矿山", True),
        Item("FM-LT-03", "露天矿山", "排土场按设计堆排，周边安全距离和截排水设施符合要求", f"{FM_88} 露天矿山", True),
        Item("FM-WK-01", "尾矿库", "坝体无贯穿性裂缝、滑坡等严重隐患，坝外坡比符合设计", f"{FM_88} 尾矿库", True),
        Item("FM-WK-02", "尾矿库", "排洪系统完好畅通，安全超高和干滩长度满足设计", f"{FM_88} 尾矿库", True),
        Item("FM-WK-03", "尾矿库", "浸润线埋深满足设计要求并有在线监测", f"{FM_88} 尾矿库", True),
        Item("FM-GL-01", "管理", "爆破作业由取得资格的人员实施，民用爆炸物品管理规范", f"{FM_88}；{SAFETY_LAW}", False),
        *_general("FM"),
    ),
)

MINING = Template(
    code="ks-ty-2023",
    sector=Sector.MINING,
    title="矿山企业通用安全检查表",
    basis=f"{MINE_LAW}；{SAFETY_LAW}",
    items=(
        Item("KS-01", "证照", "采矿许可证、安全生产许可证在有效期内，生产范围与证照一致", MINE_LAW),
        Item("KS-02", "人员", "矿长和安全管理人员具备相应资格，特种作业人员持证上岗", MINE_LAW),
        Item("KS-03", "设备", "提升、运输、通风、排水等主要设备定期检测检验", MINE_LAW),
        Item("KS-04", "作业环境", "作业场所粉尘、有毒有害气体定期检测并符合标准", MINE_LAW),
        Item("KS-05", "应急", "配备应急救援器材，与矿山救护队签订救护协议", MINE_LAW),
        *_general("KS"),
    ),
)

TEMPLATES: tuple[Template, ...] = (INDUSTRY_TRADE, METALLURGY, HAZARDOUS_CHEMICALS, COAL_MINING, NON_COAL_MINING, MINING)
