"""IoT conformance test harness: device profiles, probes, verdicts and lab reports."""

__version__ = "0.1.0"
