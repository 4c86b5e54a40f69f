"""The lab: identity, scope allowlist, rate limits and lab actions."""
