"""Report sections: `assessments` (data, the four tests, the advice) and `comparison`
(cohort comparison, break-even, outcome per coach, fairness)."""
