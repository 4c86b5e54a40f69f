"""`harness vulndb import FILE...` and `harness vulndb list`."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    v = sub.add_parser("vulndb", help="the lab's local vulnerability database (CISA KEV, OSV, "
                       "NVD): import downloaded feeds, list what is imported",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=(
                           "feeds (download them yourself; nothing is fetched at run time):\n"
                           "  KEV  https://www.cisa.gov/sites/default/files/feeds/"
                           "known_exploited_vulnerabilities.json\n"
                           "  OSV  https://osv-vulnerabilities.storage.googleapis.com/"
                           "<ecosystem>/all.zip (unzip; import the JSON files)\n"
                           "  NVD  CVE API 2.0 JSON (e.g. the yearly nvdcve-2.0-YYYY.json)"))
    vs = v.add_subparsers(dest="vulndb_cmd", required=True, parser_class=type(v))
    imp = vs.add_parser("import", help="store feed files (their kind is read from the content)")
    imp.add_argument("files", nargs="+", type=Path)
    imp.add_argument("--lab", help="lab config whose database to use (default: the built-in)")
    ls = vs.add_parser("list", help="imported feeds: kind, file, date, SHA-256")
    ls.add_argument("--lab")


def run(args) -> int:
    from harness.lab.config import load_lab
    from harness.vuln import db
    lab, lab_path = load_lab(args.lab)
    where = lab.vulndb_dir(lab_path)
    if args.vulndb_cmd == "import":
        for e in db.import_files(where, args.files):
            print(f"imported {e['kind']:3} {e['file']}: {e['entries']} entries, dated "
                  f"{e['date'] or '?'}, sha256 {e['sha256'][:16]}…")
        print(f"database: {where}")
        return 0
    feeds = db.load(where).describe()
    if not feeds:
        print(f"nothing imported in {where}: harness vulndb import FILE...")
        return 0
    for e in feeds:
        print(f"{e['kind']:3} {e['file']}  dated {e['date'] or '?'}  imported {e['imported']}  "
              f"{e['entries']} entries  sha256 {e['sha256'][:16]}…")
    return 0
