"""What the article codes in messages and pages stand for (Y§10, H5, …), from the two seed documents
and the national rules the workflows cite. Pure data and a finder; the web turns finds into links."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Optional

YUEYANG = "《岳阳市市级医疗质量控制中心管理办法》"  # 岳卫函〔2023〕121号
HENAN = "《关于省级医疗质量控制中心做好“七个一”工作的通知》"  # 河南省卫生健康委员会，2024年5月29日

_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1–99 as written in article numbers: 十, 十一, 二十, 三十二."""
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


# What each Yueyang article is about, in a few words (the seed's own wording, shortened).
_Y_TOPICS = {
    1: "目的和依据", 2: "质控中心的定义", 3: "质控中心分类（临床、技术、管理）", 4: "市卫健委负责规划、设置、管理和考核",
    5: "市医疗质量控制专家委员会及管理办公室", 6: "质控工作的含义", 7: "专家委员会：委员不超过 25 名及任职条件",
    8: "设置原则：同一专业原则上只设一个本级质控中心；申请单位条件", 9: "自主申报与申请材料",
    10: "组织架构：主任 1 名、副主任 2–4 名、秘书 1 名、顾问至多 1 名，成员人数上限，亚专业组",
    11: "主任（副主任）任职条件：正高职称、科室主任以上、年龄、处分、省级学会任职", 12: "成员任职要求：副高以上职称等",
    13: "专家委员会职责：答辩评审等", 14: "质控中心职责", 15: "质控中心主任职责", 16: "挂靠单位职责",
    17: "工作计划与总结：年中和 12 月底前报送半年、年终总结及下年度计划", 18: "拟印发文件须报市卫健委医政医管科审核印发",
    19: "质控会议与培训：每半年至少一次成员工作会议，每年至少一次培训", 20: "参加督导检查并报送报告",
    21: "内涵建设：制定本专业质控指标、标准和考核方案", 22: "信息化与数据安全：数据仅用于质控工作，严格控制使用范围",
    23: "市卫健委的支持与医疗机构的配合", 24: "年度考核", 25: "专用章管理与责令整改的情形", 26: "动态管理：主任、挂靠单位的调整和任期",
    27: "挂靠单位变更后的交接（1 个月内）", 28: "中医类医疗机构的质控工作", 29: "已设立质控中心的调整", 30: "县级质控中心参照执行",
    31: "解释权", 32: "施行日期",
}
_H_TOPICS = {
    1: "制定一个改进目标工作方案", 2: "梳理一套应知应会核心制度", 3: "明确一套质控监测指标", 4: "每月召开一次工作调度会",
    5: "建立健全一个根因溯源机制", 6: "发布一册专业质量安全报告", 7: "落实一次市级质控中心述职评价",
}
_HENAN_ORDINALS = "一二三四五六七"


@dataclass(frozen=True)
class Entry:
    code: str
    anchor: str  # an id usable in a URL fragment
    source: str  # the document and the part of it, e.g. 《…管理办法》第十条
    topic: str


def _entries() -> dict[str, Entry]:
    found: dict[str, Entry] = {}
    for n, topic in _Y_TOPICS.items():
        found[f"Y§{n}"] = Entry(f"Y§{n}", f"Y{n}", f"{YUEYANG}第{chinese_number(n)}条", topic)
    found["Y-rubric"] = Entry("Y-rubric", "Y-rubric", f"{YUEYANG}所附年度考核评分表", "年度考核 7 项、100 分及加分、一票否决")
    for n, topic in _H_TOPICS.items():
        found[f"H{n}"] = Entry(f"H{n}", f"H{n}", f"{HENAN}第{_HENAN_ORDINALS[n - 1]}部分", topic)
    for code, anchor, source, topic in (
        ("国卫医发〔2018〕8号", "core-rules", "《国家卫生健康委关于印发医疗质量安全核心制度要点的通知》（国卫医发〔2018〕8号）",
         "第九项核心制度：死亡病例讨论（死亡后 1 周内；尸检病例在尸检报告后 1 周内再次讨论）"),
        ("卫医管发〔2011〕4号", "adverse-events", "《医疗质量安全事件报告暂行规定》（卫医管发〔2011〕4号）",
         "医疗质量安全事件的分级与报告时限"),
        ("GB/T 9704-2012", "gbt9704", "国家标准 GB/T 9704-2012《党政机关公文格式》", "发文字号、标题等公文格式要素"),
        ("RCA²", "rca2", "RCA²《根因分析与行动》（美国国家患者安全基金会）", "措施强度分强、中、弱；低风险死亡至少一项非“弱”措施"),
        ("2025年监测指标", "indicator-2025", "2025 年医疗质量监测指标", "5 个工作日内完成死亡病例讨论的比例（统计，不作强制）"),
    ):
        found[code] = Entry(code, anchor, source, topic)
    return found


ENTRIES = _entries()
# Longest first, so "Y§25" is not read as "Y§2"; a Y§ code may carry a paragraph, e.g. Y§25(4).
_CODE = re.compile("|".join(
    [r"Y§\d{1,2}(?:\(\d+\))*", "Y-rubric", r"H[1-7](?![0-9])", r"GB/T 9704-2012(?: §[\d.]+)?"]
    + [re.escape(c) for c in ("国卫医发〔2018〕8号", "卫医管发〔2011〕4号", "RCA²", "2025年监测指标")]))


def explain(code: str) -> Optional[Entry]:
    """The entry for a code as it appears in a message, e.g. "Y§25(4)" or "GB/T 9704-2012 §7.2.5"."""
    code = code.strip()
    if code in ENTRIES:
        return ENTRIES[code]
    base = code.split("(")[0] if code.startswith("Y§") else code.split(" §")[0]
    return ENTRIES.get(base)


def find_codes(text: str) -> Iterator[tuple[int, int, Entry]]:
    """(start, end, entry) for each known code in the text, in order."""
    for match in _CODE.finditer(text or ""):
        entry = explain(match.group(0))
        if entry is not None:
            yield match.start(), match.end(), entry
