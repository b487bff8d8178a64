"""Application materials (Y§9): named slots, each a file of an allowed type and size."""
from __future__ import annotations

from typing import Optional

from states.policy import Limit
from states.rules import Reason

RULE = "Y§9"
SLOTS = {
    "license": "《医疗机构执业许可证》或其他资质证明复印件",
    "letter_1": "申请书一：申请单位和相应学科基本情况",
    "letter_2": "申请书二：学术地位、人员配备、设施设备、服务能力与水平",
    "letter_3": "申请书三：本单位质控工作开展情况及优势",
    "letter_4": "申请书四：工作计划、预期目标、质控要求、工作程序及规章制度",
    "letter_5": "申请书五：主任资质条件及拟定成员名单",
    "letter_6": "申请书六：办公场所、设备设施、经费等保障情况",
    "commitment": "办公场所、设备和经费保障承诺书",
}
MAX_BYTES = Limit(20 * 1024 * 1024, RULE)
# Recognised by their first bytes, not by the name the uploader gave them.
SIGNATURES = {
    b"%PDF-": ("application/pdf", "PDF"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "PNG 图片"),
    b"\xff\xd8\xff": ("image/jpeg", "JPEG 图片"),
    b"PK\x03\x04": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word（docx）"),
}
ALLOWED = "、".join(label for _, label in SIGNATURES.values())


def sniff(head: bytes) -> Optional[str]:
    for magic, (content_type, _) in SIGNATURES.items():
        if head.startswith(magic):
            return content_type
    return None


def check_upload(slot: str, filename: str, size: int, content_type: Optional[str]) -> list[Reason]:
    reasons = []
    if slot not in SLOTS:
        reasons.append(Reason(RULE, f"没有名为“{slot}”的材料项；可用：{'、'.join(f'{k}（{v}）' for k, v in SLOTS.items())}"))
    if size == 0:
        reasons.append(Reason(RULE, f"文件“{filename}”是空文件"))
    elif size > MAX_BYTES.value:
        reasons.append(Reason(RULE, f"文件“{filename}”大小 {size / 1048576:.1f} MB，超过 {MAX_BYTES.value // 1048576} MB 上限"))
    if content_type is None:
        reasons.append(Reason(RULE, f"文件“{filename}”的类型不被接受；只接受 {ALLOWED}"))
    return reasons


def missing(materials: dict) -> list[str]:
    return [label for slot, label in SLOTS.items() if slot not in (materials or {})]
