"""Several annotators' label tracks: agreement measured, a consensus built, reports written.

Qt-free, between the labelling services (which record adjudication decisions as commands) and
storage (sessions read from files):

* :mod:`~harlab.agreement.intervals`: the tracks on one time axis (elementary intervals), and
  rasters of it per sample or per window.
* :mod:`~harlab.agreement.reliability`: Cohen's and Fleiss' kappa (statsmodels), Krippendorff's
  alpha (the ``krippendorff`` package), per-class agreement, confusion between annotators.
* :mod:`~harlab.agreement.event_match`: segments matched within a boundary tolerance.
* :mod:`~harlab.agreement.compare`: all of it for one session's tracks, or pooled over files.
* :mod:`~harlab.agreement.consensus`: one track by a rule, and the disagreements left to decide.
* :mod:`~harlab.agreement.agreement_report`: CSV and HTML reports.
"""

from harlab.agreement.compare import (
    DEFAULT_STEP_S,
    DEFAULT_TOLERANCE_S,
    MultiAgreement,
    SessionAgreement,
    compare_files,
    compare_tracks,
    pick_tracks,
)
from harlab.agreement.consensus import (
    RULES,
    ConsensusResult,
    ConsensusRule,
    Disagreement,
    consensus,
    parse_rule,
)
from harlab.agreement.event_match import EventAgreement, match_events
from harlab.agreement.intervals import (
    MISSING,
    AgreementError,
    Intervals,
    Units,
    elementary_intervals,
    per_sample,
    per_window,
)
from harlab.agreement.reliability import ClassAgreement, PairAgreement, Reliability, reliability

__all__ = [
    "DEFAULT_STEP_S",
    "DEFAULT_TOLERANCE_S",
    "MISSING",
    "RULES",
    "AgreementError",
    "ClassAgreement",
    "ConsensusResult",
    "ConsensusRule",
    "Disagreement",
    "EventAgreement",
    "Intervals",
    "MultiAgreement",
    "PairAgreement",
    "Reliability",
    "SessionAgreement",
    "Units",
    "compare_files",
    "compare_tracks",
    "consensus",
    "elementary_intervals",
    "match_events",
    "parse_rule",
    "per_sample",
    "per_window",
    "pick_tracks",
    "reliability",
]
