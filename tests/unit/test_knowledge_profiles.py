"""Profile rules that pre-flight checks build on."""

from __future__ import annotations

import pytest

from siptest.knowledge import NumberRules, load_knowledge


def test_sipcall_user_ids_are_41_and_nine_digits():
    rule = load_knowledge("sipcall").profile.user_id
    assert rule is not None
    assert rule.example == "41411234567"
    assert rule.accepts("41411234567")
    assert rule.description is not None and "SIP-Data" in rule.description


@pytest.mark.parametrize(
    "user_id",
    [
        "0411234567",
        "+41411234567",
        "4141123456",
        "414112345678",
        "0041411234567",
        "41 411234567",
        "1001",
    ],
)
def test_sipcall_rejects_other_user_id_shapes(user_id):
    rule = load_knowledge("sipcall").profile.user_id
    assert rule is not None
    assert not rule.accepts(user_id)


def test_sipcall_number_rules_follow_the_guide():
    numbers = load_knowledge("sipcall").profile.numbers
    assert numbers.national_prefix == "0"
    assert numbers.international_prefix == "00"
    assert numbers.country_code == "41"
    assert numbers.plus_supported is False
    assert numbers.premium_prefixes == ("0900", "0901", "0906")
    assert numbers.min_national_digits == 10
    assert numbers.rewrite_plus("+41321234567") == "0041321234567"
    assert numbers.rewrite_plus("0321234567") is None


def test_the_generic_profile_makes_no_claims():
    profile = load_knowledge().profile
    assert profile.name == "generic"
    assert profile.user_id is None
    assert profile.numbers == NumberRules()
    assert profile.numbers.rewrite_plus("+41321234567") is None
    assert profile.facts["portal"] == "your provider's customer portal"


def test_profile_facts_include_the_user_id_example():
    facts = load_knowledge("sipcall").profile.facts
    assert facts["user_id_example"] == "41411234567"
    assert facts["provider"] == "sipcall"


def test_loading_is_cached_per_process():
    assert load_knowledge("sipcall") is load_knowledge("sipcall")
    assert load_knowledge(None) is load_knowledge("generic")
