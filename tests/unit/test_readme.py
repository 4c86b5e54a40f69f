"""The README's tables are the code's facts: the test-case table (with provisional
mappings marked) and the coverage table are regenerated here and must match."""
from harness import catalog
from harness.suite import load_specs
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _testcase_table() -> str:
    provisional = {r.id for c in catalog.catalogs() for r in c.requirements if r.provisional}
    rows = ["| test case | checks | destructive | requirements (* provisional mapping) |",
            "|---|---|---|---|"]
    specs = load_specs()
    for tid, s in sorted(specs.items()):
        if tid.startswith("TC-DECL-") and not tid[8:].isdigit():
            continue
        reqs = ", ".join(r + ("*" if r in provisional else "") for r in s.requirements)
        rows.append(f"| {tid} | {s.title} | {'yes' if s.destructive else ''} | {reqs} |")
    n = sum(1 for t in specs if t.startswith("TC-DECL-") and not t[8:].isdigit())
    rows.append(f"| TC-DECL-<id> | vendor declaration for each document-evaluated requirement "
                f"({n}) |  | the requirement itself |")
    return "\n".join(rows)


def _coverage_table() -> str:
    rows = ["| scheme | requirements | probe-verified on the device (of which on a provisional "
            "mapping) | declaration check only | uncovered | topic unconfirmed |",
            "|---|---|---|---|---|---|"]
    for r in catalog.coverage(load_specs()):
        rows.append(f"| {r['title']} | {r['requirements']} | {r['probe_verified']} "
                    f"({r['probe_verified_provisional']}) | {r['declaration_only']} | "
                    f"{r['uncovered']} | {r['topic_unconfirmed']} |")
    return "\n".join(rows)


def test_readme_testcase_table_is_current():
    table = _testcase_table()
    assert table in README, "README test-case table is stale; expected:\n" + table


def test_readme_coverage_table_is_current():
    table = _coverage_table()
    assert table in README, "README coverage table is stale; expected:\n" + table
