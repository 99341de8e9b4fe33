"""Fixtures for the whole test suite: the lab (Kamailio + SIPp UAS) and its users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from siptest.errors import CannotRunError
from siptest.lab import Lab, LabUser, find_user


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One running lab for the whole session, on free loopback ports."""
    server = Lab(tmp_path_factory.mktemp("lab"))
    try:
        server.start()
    except CannotRunError as error:
        # not a skip: a missing Kamailio must be seen, with the message saying what to do
        pytest.fail(f"The lab could not start: {error}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def lab_user() -> LabUser:
    """An active lab subscriber (1001)."""
    return find_user("1001")
