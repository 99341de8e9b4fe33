"""What SIP results mean: diagnoses as validated YAML data, and the matcher that picks one.

    knowledge = load_knowledge("sipcall")          # base.yaml + profiles/sipcall.yaml
    diagnosis = knowledge.diagnose(
        Situation(method="REGISTER", code=401, credentials_sent=True),
        facts={"user": "41411234567", "host": "sip.example.net"},
    )
    diagnosis.id                                    # "credentials.rejected"

Importing this package is cheap: PyYAML is imported on the first `load_knowledge`,
and the parsed base and bundled profiles are cached. The data format is documented
in docs/profiles.md.
"""

from __future__ import annotations

from siptest.knowledge.loader import KnowledgeError, bundled_profiles, load_knowledge
from siptest.knowledge.matching import Knowledge
from siptest.knowledge.model import (
    CATEGORIES,
    LOCAL_CAUSES,
    SEVERITIES,
    Conditions,
    Diagnosis,
    Entry,
    NumberRules,
    Profile,
    Situation,
    UserIdRule,
    Wording,
)

__all__ = [
    "CATEGORIES",
    "LOCAL_CAUSES",
    "SEVERITIES",
    "Conditions",
    "Diagnosis",
    "Entry",
    "Knowledge",
    "KnowledgeError",
    "NumberRules",
    "Profile",
    "Situation",
    "UserIdRule",
    "Wording",
    "bundled_profiles",
    "load_knowledge",
]
