"""What a unit shows, drafted into profile text for the lab engineer to confirm:
`harness probe-login ADDRESS PORT` (which login style a web port speaks) and `harness
discover ADDRESS` (a draft device type and instance). Nothing the unit did not show is
written; every guess is marked."""
