"""Fictional death-case exports: the shipped sample and large generated files for the benchmark.

    .venv/bin/python benchmarks/make_deaths.py            # rewrites demo/deaths/*.csv
    .venv/bin/python benchmarks/make_deaths.py --rows 100000 --out /tmp/deaths.csv

Everything is invented. Patients are 测试患者NNNN; ID numbers start with 999999, which is no
region code, so none can be a real person's. The low-risk DRG list is an example, not an official
tier. Output is deterministic (fixed seed), so tests can assert exact counts on the sample.

The sample (demo/deaths/sample_deaths.csv, hospital QCH1, 300 data rows):
  * 282 distinct valid cases, 4 of them died in December 2025 (no 2025 DRG list ships: warning);
    two rows are the same patient (same ID number, once with a lower-case x) under two record
    numbers; 3 rows carry a name but no ID number; dates in three spellings;
  * 8 refused rows (9 errors): an impossible date, a US-style date, death before admission, a
    death in 2062, grade "V级", no record number, autopsy "不详", and a row with both a bad
    admission date and a bad grade;
  * 10 repeated rows: 8 identical, 2 with the same hospital + record number + death date but the
    date spelled differently or the diagnosis changed;
  * an extra column 性别 that the importer does not know (reported, ignored).
"""
from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "deaths"

HEADERS = ["病案号", "患者姓名", "性别", "身份证号", "入院日期", "死亡日期", "科室", "主要诊断", "DRG分组", "是否尸检",
           "低风险", "不良事件分级"]

LOW_RISK_2026 = [
    ("BX29", "颅神经/周围神经疾患，不伴并发症或合并症"), ("CB39", "晶状体手术"), ("DD19", "鼻腔、鼻窦手术"),
    ("FV29", "高血压，不伴并发症或合并症"), ("GD19", "阑尾切除术"), ("GK29", "胃镜治疗操作"),
    ("HC39", "胆囊切除术"), ("IC29", "髋、肩、膝、肘和踝关节置换术"), ("LX19", "泌尿系结石"),
    ("NA29", "女性生殖器官良性疾患手术"), ("OB29", "阴道分娩"), ("OC19", "剖宫产"),
    ("PS49", "新生儿，出生体重>2499克"), ("UR19", "精神分裂症"), ("XS29", "康复"),
]
OTHER_DRG = ["ES23", "FR29", "BR21", "FM19", "GB13", "HS23", "IB19", "EB13", "FT23", "BM19", "RE13", "LR13", "ET23",
             "DR13", "RU13"]
CASES = [  # department, diagnosis
    ("心血管内科", "急性心肌梗死"), ("心血管内科", "心力衰竭"), ("呼吸内科", "重症肺炎"),
    ("呼吸内科", "慢性阻塞性肺疾病急性加重"), ("神经内科", "脑出血"), ("神经内科", "大面积脑梗死"),
    ("重症医学科", "感染性休克"), ("重症医学科", "多器官功能衰竭"), ("普通外科", "急性重症胰腺炎"),
    ("肿瘤科", "肺恶性肿瘤"), ("肾内科", "慢性肾衰竭尿毒症期"), ("消化内科", "上消化道大出血"),
]
GRADES = ["I", "II", "III", "IV", "Ⅱ级", "三级", "IV级"]


def fake_id(rng: random.Random, born: date, seq: int) -> str:
    return f"999999{born:%Y%m%d}{seq % 1000:03d}{rng.choice('0123456789X')}"


def spell(day: date, style: int) -> str:
    return (day.isoformat(), f"{day.year}/{day.month}/{day.day}", f"{day.year}年{day.month}月{day.day}日")[style % 3]


def valid_row(rng: random.Random, n: int, record_no: str, died: date, low_risk_drg_share: float = 0.15) -> dict:
    admitted = died - timedelta(days=rng.randint(0, 30))
    born = date(rng.randint(1930, 2000), rng.randint(1, 12), rng.randint(1, 28))
    department, diagnosis = rng.choice(CASES)
    low_drg = rng.random() < low_risk_drg_share
    return {
        "病案号": record_no, "患者姓名": f"测试患者{n:04d}", "性别": rng.choice("男女"),
        "身份证号": fake_id(rng, born, n), "入院日期": admitted.isoformat(), "死亡日期": died.isoformat(),
        "科室": department, "主要诊断": diagnosis,
        "DRG分组": rng.choice(LOW_RISK_2026)[0] if low_drg else rng.choice(OTHER_DRG),
        "是否尸检": "是" if rng.random() < 0.05 else "否", "低风险": "", "不良事件分级": "",
    }


def sample_rows(seed: int = 2026) -> list[dict]:
    """The shipped sample, in file order (see the module docstring)."""
    rng = random.Random(seed)
    good: list[dict] = []
    for n in range(1, 283):
        died = date(2025, 12, 20 + n) if n <= 4 else date(2026, 1, 3) + timedelta(days=rng.randint(0, 300))
        row = valid_row(rng, n, f"2026{n:06d}", died)
        style = n % 5
        if style in (1, 2):  # the other two spellings of a date
            row["入院日期"] = spell(date.fromisoformat(row["入院日期"]), style)
            row["死亡日期"] = spell(died, style)
        if n % 23 == 0:
            row["低风险"] = "是"  # flagged by the hospital, whatever the DRG
        elif n % 17 == 0:
            row["低风险"] = "否"
        if n % 29 == 0:
            row["不良事件分级"] = GRADES[n % len(GRADES)]
        good.append(row)
    good[10]["身份证号"] = good[10]["身份证号"][:-1] + "X"
    good[40]["身份证号"] = good[10]["身份证号"].lower()  # the same patient under a second record number
    good[40]["患者姓名"] = good[10]["患者姓名"]
    for i in (60, 61, 62):
        good[i]["身份证号"] = ""  # only a name: the key falls back to it

    bad = [dict(good[i]) for i in range(100, 108)]
    for row, n in zip(bad, range(9001, 9009)):
        row["病案号"] = f"2026{n:06d}"
    bad[0]["死亡日期"] = "2026-02-30"
    bad[1]["死亡日期"] = "03/15/2026"
    bad[2]["入院日期"], bad[2]["死亡日期"] = "2026-05-20", "2026-05-12"
    bad[3]["死亡日期"] = "2062-05-04"
    bad[4]["不良事件分级"] = "V级"
    bad[5]["病案号"] = ""
    bad[6]["是否尸检"] = "不详"
    bad[7]["入院日期"], bad[7]["不良事件分级"] = "2026-13-01", "五级"

    repeats = [dict(good[i]) for i in (5, 20, 35, 50, 120, 150, 200, 250)]
    changed = dict(good[70])
    changed["主要诊断"] = changed["主要诊断"] + "（修订）"
    respelled = dict(good[73])  # row n = 74: written ISO in the original
    respelled["死亡日期"] = spell(date.fromisoformat(respelled["死亡日期"]), 2)

    rows = list(good)
    for offset, extra in zip((30, 90, 140, 180, 210, 230, 260, 275), bad):
        rows.insert(offset, extra)
    for offset, extra in zip((130, 170, 190, 220, 240, 265, 280, 285, 288, 291), repeats + [changed, respelled]):
        rows.insert(offset, extra)
    assert len(rows) == 300
    return rows


def synthetic_rows(count: int, seed: int = 7, first_day: date = date(2026, 1, 1), days: int = 300) -> Iterator[dict]:
    """`count` distinct valid rows (for the benchmark)."""
    rng = random.Random(seed)
    for n in range(1, count + 1):
        yield valid_row(rng, n, f"B{n:09d}", first_day + timedelta(days=rng.randrange(days)))


def write_csv(path: Path, rows, encoding: str = "utf-8-sig") -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HEADERS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            written += 1
    return written


def write_low_risk_list(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["DRG分组", "名称", "备注"])
        for code, name in LOW_RISK_2026:
            writer.writerow([code, name, "虚构示例，非官方名单"])
    return len(LOW_RISK_2026)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=0, help="generate this many valid rows instead of the sample")
    parser.add_argument("--out", type=Path, help="output file (with --rows)")
    args = parser.parse_args()
    if args.rows:
        out = args.out or Path(f"deaths_{args.rows}.csv")
        print(f"{write_csv(out, synthetic_rows(args.rows))} rows -> {out}")
        return
    print(f"{write_csv(DEMO / 'sample_deaths.csv', sample_rows())} rows -> {DEMO / 'sample_deaths.csv'}")
    print(f"{write_low_risk_list(DEMO / 'low_risk_drg_2026.csv')} groups -> {DEMO / 'low_risk_drg_2026.csv'}")


if __name__ == "__main__":
    main()
