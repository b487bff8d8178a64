"""Case ids and other whole numbers typed by a person: range-checked at the boundary (CLI, web routes),
so 2^31 gets "编号超出范围", not a database's out-of-range error."""
from __future__ import annotations

from typing import Optional

from qcflow.core.errors import UserError

MAX_ID = 2**31 - 1  # an INTEGER column on PostgreSQL


def check_id(value: Optional[int], what: str = "编号") -> Optional[int]:
    """The id itself, or UserError when it cannot be one (None passes: an option not given)."""
    if value is not None and not 1 <= value <= MAX_ID:
        raise UserError(f"{what} {_shown(value)} 超出范围（应为 1–{MAX_ID} 的整数）")
    return value


def parse_case_id(text: str, what: str = "编号") -> int:
    """An id from a URL or a form field: digits only, in range; else UserError in Chinese."""
    raw = str(text).strip()
    if not (raw.isascii() and raw.removeprefix("-").isdigit()):
        raise UserError(f"{what}“{raw[:20]}”无效：应为 1–{MAX_ID} 的整数")
    if len(raw) > 12:
        raise UserError(f"{what}超出范围（应为 1–{MAX_ID} 的整数）")
    return check_id(int(raw), what)  # type: ignore[return-value]


def _shown(value: int) -> str:
    return str(value) if value.bit_length() <= 64 else "（过长的数字）"
