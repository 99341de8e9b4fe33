import os

import pytest

from siptest.errors import UsageError
from siptest.password import read_password


def write(tmp_path, content: bytes, mode: int = 0o600):
    path = tmp_path / "pw"
    path.write_bytes(content)
    os.chmod(path, mode)
    return path


def test_password_file_is_read_without_its_trailing_newline(tmp_path):
    path = write(tmp_path, b'p@ss:w\\"rd %\xc3\xa4\n')
    assert read_password(path, environ={}).value == 'p@ss:w\\"rd %ä'


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_group_or_world_readable_password_file_is_refused(tmp_path, mode):
    path = write(tmp_path, b"secret\n", mode)
    with pytest.raises(UsageError, match="chmod 600"):
        read_password(path, environ={})


def test_file_beats_environment(tmp_path):
    path = write(tmp_path, b"from-file")
    assert read_password(path, environ={"SIPTEST_PASSWORD": "from-env"}).value == "from-file"


def test_environment_variable_named_by_option_is_used():
    password = read_password(None, "MY_PW", environ={"MY_PW": "x1"}, interactive=False)
    assert password.value == "x1"
    assert password.source == "$MY_PW"
    assert "x1" not in repr(password)


def test_no_source_is_a_usage_error_saying_how():
    with pytest.raises(UsageError, match="SIPTEST_PASSWORD=") as info:
        read_password(None, environ={}, interactive=False)
    assert "--password-file" in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\n", "empty"),
        (b"x" * 2000, "bytes"),
        (b"two\nlines\n", "line break"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_unusable_password_files_are_refused(tmp_path, content, message):
    with pytest.raises(UsageError, match=message):
        read_password(write(tmp_path, content), environ={})


def test_missing_password_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="Cannot read"):
        read_password(tmp_path / "nope", environ={})


@pytest.mark.parametrize("given", ["lab-1001-pass", "p@ss word!", "Secret_Pass1"])
def test_a_password_given_to_password_env_is_never_repeated(given):
    with pytest.raises(UsageError) as caught:
        read_password(None, given, environ={}, interactive=False)
    assert given not in str(caught.value)


def test_a_byte_order_mark_is_not_part_of_the_password(tmp_path):
    path = write(tmp_path, "\ufeffs3cret\n".encode())
    assert read_password(path, environ={}).value == "s3cret"
