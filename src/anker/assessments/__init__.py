"""The four statistical ANKER tests and the WWB check."""

from anker.assessments._base import NotFittedError, ProtectedAttributeError
from anker.assessments.benefit_duration import BenefitDurationTest
from anker.assessments.compliance import ComplianceTest
from anker.assessments.labour_market import LabourMarketTest
from anker.assessments.reintegration import OutsideSupportWarning, ReintegrationTest
from anker.assessments.wwb import wwb_check

__all__ = ["BenefitDurationTest", "ComplianceTest", "LabourMarketTest", "NotFittedError",
           "OutsideSupportWarning", "ProtectedAttributeError", "ReintegrationTest", "wwb_check"]
