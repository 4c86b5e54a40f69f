"""The JC-STAR ★1 checklist, filled from the evidence, in Japanese and English: per device,
each of the 16 requirements with what was verified on the device and what was declared,
the evidence behind it and what is still missing — the vendor's starting point for the
application to IPA (IPA's own checklist form is the one filed; this is not it)."""
from __future__ import annotations

import csv
import io

from harness.report.views import documents_owed, from_documents

SCHEME = "jcstar-l1"
# requirement verdict → (English, Japanese) status in the checklist
STATUS = {
    "PASS": ("verified on the device", "機器で検証済み"),
    "DECLARED": ("declared by the vendor (evaluated from documents)", "製造者の文書で宣言（文書評価）"),
    "FAIL": ("not met", "不適合"),
    "ERROR": ("not decided: a test could not run to the end", "判定不能（試験エラー）"),
    "INCONCLUSIVE": ("not decided: the evidence is incomplete", "判定保留（証拠不十分）"),
    "NOT_RUN": ("not fully tested", "未試験の部分あり"),
    "NOT_APPLICABLE": ("not applicable", "該当なし"),
    "UNCONFIRMED": ("topic not confirmed by any public source: not assessed",
                    "要求内容を公開情報で確認できないため評価対象外"),
    "UNCOVERED": ("no test case", "試験項目なし"),
}
EVALUATED_BY = {"device": ("on the device", "実機"), "documents": ("from documents", "文書"),
                "both": ("documents and device", "文書及び実機")}


def _item(q: dict, device: dict, owed: list[dict]) -> dict:
    v = q["verdicts"].get(device["name"], "NOT_RUN")
    by_test = {r["test_id"]: r for r in device["results"]}
    tests = [by_test[t] for t in q["test_cases"] if t in by_test]
    ref = [{"test_id": r["test_id"], "verdict": r["verdict"], "reason": r["reason"],
            "artifacts": r.get("artifacts", [])} for r in tests]
    missing = list(q["not_tested"].get(device["name"], []))
    missing += [f"{o['field']}: {', '.join(o['missing']) or o['reason']}" for o in owed
                if q["id"] in o["requirements"]]
    en, ja = STATUS.get(v, (v, v))
    return {"id": q["id"].removeprefix("JCSTAR-"), "title": q["title"],
            "title_ja": q["title_ja"], "provisional": q["provisional"],
            "evaluated_by": q["evaluated_by"], "verdict": v, "status": en, "status_ja": ja,
            "on_device": [e for e, r in zip(ref, tests) if not from_documents(r)],
            "declared": [e for e, r in zip(ref, tests) if from_documents(r)],
            "missing": missing}


def build(run: dict) -> dict | None:
    scheme = next((s for s in run["schemes"] if s["scheme"] == SCHEME), None)
    if scheme is None:
        return None
    devices = []
    for d in run["devices"]:
        owed = documents_owed(d)
        devices.append({"device": d["name"], "vendor": d["vendor"], "model": d["model"],
                        "declared_firmware": d["declared_firmware"],
                        "firmware_read": d.get("identity", {}).get("firmware_version"),
                        "items": [_item(q, d, owed) for q in scheme["requirements"]]})
    return {"scheme": SCHEME, "title": scheme["title"], "run_id": run["run_id"],
            "note": scheme["provisional_note"], "title_note": scheme.get("title_note", ""),
            "devices": devices}


def to_csv(checklist: dict) -> str:
    """One row per device and requirement; UTF-8 with a byte-order mark so that a spreadsheet
    opens the Japanese text as such."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["device", "id", "要求事項", "requirement", "評価方法", "evaluated",
                "状態", "status", "verdict", "verified on the device", "declared",
                "still missing", "provisional"])
    for d in checklist["devices"]:
        for i in d["items"]:
            ev_en, ev_ja = EVALUATED_BY[i["evaluated_by"]]
            w.writerow([d["device"], i["id"], i["title_ja"], i["title"], ev_ja, ev_en,
                        i["status_ja"], i["status"], i["verdict"],
                        "; ".join(f"{e['test_id']} {e['verdict']}" for e in i["on_device"]),
                        "; ".join(f"{e['test_id']} {e['verdict']}" for e in i["declared"]),
                        "; ".join(i["missing"]), "yes" if i["provisional"] else ""])
    return "\ufeff" + buf.getvalue()
