"""The documentation's tables are the code's facts: the test-case table (with provisional
mappings marked) and the coverage table in docs/testcases.md are regenerated here and must
match; the README stays a page a new maintainer reads (at most ~200 lines) and every link
of the README and docs/ leads to a file that exists."""
import re
from harness import catalog
from harness.runner.suite import load_specs
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
TESTCASES = (REPO / "docs" / "testcases.md").read_text(encoding="utf-8")


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


def test_testcase_table_is_current():
    table = _testcase_table()
    assert table in TESTCASES, "docs/testcases.md test-case table is stale; expected:\n" + table


def test_coverage_table_is_current():
    table = _coverage_table()
    assert table in TESTCASES, "docs/testcases.md coverage table is stale; expected:\n" + table


def test_readme_fits_and_every_doc_link_resolves():
    assert len(README.splitlines()) <= 210
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), (page.name, target)
