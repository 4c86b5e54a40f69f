"""The run machinery: the run's context and journal, the device workers, the device's
lifecycle, cross-unit decisions, resumption, labgrid places, unit locks, progress."""
