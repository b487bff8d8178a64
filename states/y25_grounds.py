"""The 13 grounds of Y§25 for a rectification order (责令整改), as the seed words them, and which of
them Y§26 treats as serious by their nature.

Y§26 removes a director after "第二十五条有关情况且情节严重": seriousness is a judgment of the
commission on the facts (情节严重), recorded with the order. Two grounds read as serious whatever
the facts: (十一) a major quality-safety incident (重大医疗质量安全事件) and (十三) what the
commission itself finds a serious violation (严重违纪违规行为). That reading is data here, so a
commission that reads it otherwise changes one flag.
"""
from __future__ import annotations

from dataclasses import dataclass

RULE = "Y§25"
SERIOUS_RULE = "Y§26"
# A 不合格 grade in the annual assessment is also ordered to rectify within a set time (Y§24).
ASSESSMENT_RULE = "Y§24"


@dataclass(frozen=True)
class Ground:
    number: int
    ordinal: str  # as the article numbers it: （一）…（十三）
    short: str  # a few words for lists and mail titles
    text: str  # the seed's wording
    serious: bool = False  # serious by its nature (Y§26), whatever the facts


GROUNDS: dict[int, Ground] = {g.number: g for g in (
    Ground(1, "（一）", "未落实或未及时制订质控标准",
           "国家和省已发布行业质控标准的情况下，未组织落实国家和省质控标准；国家和省暂未发布行业质控标准的情况下，"
           "未根据要求及时制订行业质控标准"),
    Ground(2, "（二）", "擅自开展与质控无关的活动",
           "未经市卫生健康委审核同意，以质控中心名义开展与质控工作无关的活动"),
    Ground(3, "（三）", "违规颁发证书或聘书",
           "未经市卫生健康委审核同意，以质控中心名义违规颁发各类证书或者专家聘书"),
    Ground(4, "（四）", "未完成计划任务或无故不参加考核",
           "未按照质控工作计划完成工作任务或无正当理由不参加年度考核"),
    Ground(5, "（五）", "违规委托开展质控活动",
           "以质控中心名义委托或以合作形式违规变相委托其他单位和个人开展质控活动"),
    Ground(6, "（六）", "违规使用赞助经费或从事商业活动",
           "以质控中心名义违规使用企业赞助或其他社会渠道来源的经费开展工作，并为企业推介产品，直接或间接从事商业活动等"),
    Ground(7, "（七）", "违规举办收费营利性活动",
           "以质控中心名义违规主办或者参与向任何单位、个人收费的营利性活动"),
    Ground(8, "（八）", "挂靠单位未及时匹配专项经费",
           "挂靠单位未按要求及时匹配专项经费"),
    Ground(9, "（九）", "违规刻制印章或印制红头文件",
           "违规刻制印章、违规以质控中心名义印制红头文件"),
    Ground(10, "（十）", "违规使用医疗质量安全数据",
           "违规将医疗质量安全数据资源用于与质控工作无关的其他研究，或利用医疗质量安全数据资源进行营利性、违反法律法规的活动"),
    Ground(11, "（十一）", "本专业发生重大医疗质量安全事件",
           "质控中心所在专业领域发生重大医疗质量安全事件", serious=True),
    Ground(12, "（十二）", "成员违规违纪违法受到行政处罚",
           "质控中心成员发生违规违纪违法行为，受到上级部门行政处罚"),
    Ground(13, "（十三）", "其他严重违纪违规行为",
           "市卫生健康委认定的其他严重违纪违规行为", serious=True),
)}


def ground_label(number: int) -> str:
    g = GROUNDS[number]
    return f"第二十五条{g.ordinal}{g.short}"
