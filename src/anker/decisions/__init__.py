"""The decision log: what the professional decided, against the advice, and why.

`anker.decisions.log` holds `DecisionLog` (record, read, override rates);
`anker.decisions.store` the SQLite and SQLAlchemy storage and the table layout.
"""

from anker.decisions.log import SCHEMA_VERSION, DecisionLog, override_direction
from anker.decisions.outcomes import override_outcomes

__all__ = ["DecisionLog", "override_direction", "override_outcomes", "SCHEMA_VERSION"]
