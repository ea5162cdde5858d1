"""A check whose program is missing is skipped on a developer's machine and fails the run under CI."""

import pytest

from tests.support.tools import require_tool

MISSING = "alilo-no-such-program"


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_missing_tool_fails_under_ci_with_its_install_command(monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception) as failure:
        require_tool(MISSING, "apt-get install alilo-tools")
    assert failure.value.msg.startswith(f"{MISSING} is not installed (apt-get install alilo-tools)")


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_missing_tool_skips_on_a_developer_machine_with_the_reason(monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception) as skip:
        require_tool(MISSING, "apt-get install alilo-tools")
    assert skip.value.msg == f"{MISSING} is not installed (apt-get install alilo-tools)"


def test_tool_is_found_on_path_or_at_a_given_path_under_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    program = tmp_path / MISSING
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert require_tool(MISSING, "apt-get install alilo-tools") == str(program)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("")
    found = require_tool(MISSING, "apt-get install alilo-tools", paths=[None, str(elsewhere)])
    assert found == str(elsewhere)
