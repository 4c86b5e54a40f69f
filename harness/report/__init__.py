"""Reports: run.json (canonical), junit.xml, report.html, scheme views."""
