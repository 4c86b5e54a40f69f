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
    "DECLARED": ("declared by the manufacturer, with the document named (evaluated from "
                 "documents)", "製造業者が文書で宣言（文書評価）"),
    "FAIL": ("not met", "不適合"),
    "ERROR": ("not decided: a test could not run to the end", "判定不能（試験エラー）"),
    "INCONCLUSIVE": ("not decided: the evidence is incomplete", "判定保留（証拠不十分）"),
    "NOT_RUN": ("owed: not yet fully tested", "未完了：試験されていない部分があります"),
    "NOT_APPLICABLE": ("not applicable", "該当なし"),
    "UNCONFIRMED": ("owed: the manufacturer answers this item on IPA's checklist (its topic "
                    "is not confirmed by a public source, so no test case covers it)",
                    "製造業者が回答：IPAのチェックリストで回答してください（要求内容を公開"
                    "情報で確認できないため、試験項目はありません）"),
    "UNCOVERED": ("owed: the manufacturer answers this item (no test case)",
                  "製造業者が回答：試験項目がありません"),
}
# how each item is answered in the filing: verified on the device, declared (with the
# document), or still owed by the manufacturer (every item must be answered)
ANSWER = {"PASS": ("device-verified", "実機で検証"), "FAIL": ("device-verified", "実機で検証"),
          "DECLARED": ("declared", "文書で宣言"), "NOT_APPLICABLE": ("not applicable", "該当なし")}
OWED = ("owed", "未回答（要対応）")
VERDICT_JA = {"PASS": "合格", "FAIL": "不適合", "ERROR": "エラー", "INCONCLUSIVE": "判定保留",
              "NOT_RUN": "未実施", "NOT_APPLICABLE": "該当なし", "DECLARED": "宣言済み"}
FORMULA = ("=", "+", "-", "@", "\t", "\r")
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
    answer = ANSWER.get(v, OWED)
    declared = [{**e, "document": _document(r)} for e, r in zip(ref, tests)
                if from_documents(r)]
    on_device = [e for e, r in zip(ref, tests) if not from_documents(r)]
    return {"id": q["id"].removeprefix("JCSTAR-"), "title": q["title"],
            "title_ja": q["title_ja"], "provisional": q["provisional"],
            "evaluated_by": q["evaluated_by"], "verdict": v, "status": en, "status_ja": ja,
            "answer": answer[0], "answer_ja": answer[1],
            "on_device": on_device, "declared": declared,
            # the Japanese columns carry Japanese: test ids and verdicts; the English
            # columns carry the reasons as the tests gave them
            "on_device_ja": [f"{e['test_id']}：{VERDICT_JA.get(e['verdict'], e['verdict'])}"
                             for e in on_device],
            "declared_ja": [f"{e['test_id']}：{VERDICT_JA.get(e['verdict'], e['verdict'])}"
                            + (f"（文書：{e['document']}）" if e["document"] else "")
                            for e in declared],
            "missing": missing,
            "missing_ja": [f"未試験または未提出：{m.split(':')[0]}" for m in missing]}


def _document(result: dict) -> str:
    """The document a declaration names (from its evidence), or ""."""
    for e in result.get("evidence", []):
        obs = e.get("observed")
        if isinstance(obs, dict) and (obs.get("document") or obs.get("url")):
            return obs.get("document") or obs.get("url")
    return ""


def safe_cell(value) -> str:
    """A spreadsheet never evaluates a cell the harness writes: text that would start a
    formula (=, +, -, @, tab, CR) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA) else text


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
    w.writerow(["device", "製造業者", "vendor", "型番", "model", "ファームウェア（申告）",
                "firmware (declared)", "ファームウェア（読取）", "firmware (read)",
                "id", "要求事項", "requirement", "評価方法", "evaluated", "回答",
                "answer", "状態", "status", "verdict", "実機での検証", "verified on the device",
                "宣言", "declared", "不足", "still missing", "provisional"])
    for d in checklist["devices"]:
        for i in d["items"]:
            ev_en, ev_ja = EVALUATED_BY[i["evaluated_by"]]
            w.writerow([safe_cell(x) for x in (
                d["device"], d["vendor"], d["vendor"], d["model"], d["model"],
                d["declared_firmware"], d["declared_firmware"], d["firmware_read"] or "",
                d["firmware_read"] or "", i["id"], i["title_ja"], i["title"], ev_ja, ev_en,
                i["answer_ja"], i["answer"], i["status_ja"], i["status"], i["verdict"],
                "; ".join(i["on_device_ja"]),
                "; ".join(f"{e['test_id']} {e['verdict']}: {e['reason']}" for e in
                          i["on_device"]),
                "; ".join(i["declared_ja"]),
                "; ".join(f"{e['test_id']} {e['verdict']}" + (f" ({e['document']})" if
                                                              e["document"] else "")
                          for e in i["declared"]),
                "; ".join(i["missing_ja"]), "; ".join(i["missing"]),
                "yes" if i["provisional"] else "")])
    return "\ufeff" + buf.getvalue()
