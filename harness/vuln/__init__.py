"""Known vulnerabilities: the device's software inventory matched against the lab's local
copies of the CISA KEV catalog and OSV / NVD exports (no network access at run time)."""
