"""Plain data: verdicts, evidence, results, test-case metadata. No I/O."""
from harness.model.verdict import Verdict, Result
from harness.model.evidence import Evidence, Failed
from harness.model.testcase import testcase, TestCaseSpec, spec_of

__all__ = ["Verdict", "Result", "Evidence", "Failed", "testcase", "TestCaseSpec", "spec_of"]
