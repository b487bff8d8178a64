"""发文字号 per GB/T 9704-2012 §7.2.5: organ code, year in 六角括号, sequence without leading zeros or 第."""


def render_document_number(organ_code: str, year: int, seq: int) -> str:
    if seq < 1:
        raise ValueError("发文序号从 1 开始")
    return f"{organ_code}〔{year}〕{seq}号"
