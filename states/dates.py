"""Days as the case content writes them (ISO text, YYYY-MM-DD)."""
from __future__ import annotations

from datetime import date
from typing import Any, Optional


def iso_day(value: Any) -> Optional[date]:
    """The day `value` names, or None when it names none."""
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None
