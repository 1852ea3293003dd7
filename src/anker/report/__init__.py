"""The HTML report: results laid out, never refitted.

- `anker.report.job`: runs the analysis the report shows (`run_job`);
- `anker.report.build`: assembles the page (`build_report`, `write_report`);
- `anker.report.html`: the self-contained HTML building blocks;
- `anker.report.sections`: one module per group of sections (data, the
  four tests and the advice; the cohort comparison, break-even and audit).
"""

from anker.report.build import DEFAULT_TITLE, build_report, sha256_of, write_report

__all__ = ["build_report", "write_report", "sha256_of", "DEFAULT_TITLE"]
