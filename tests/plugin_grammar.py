"""The monitoring-plugins guidelines' plugin output grammar, as regular expressions.

https://www.monitoring-plugins.org/doc/guidelines.html#AEN200 (performance data):
    'label'=value[UOM];[warn];[crit];[min];[max]
- label: any characters except `=` and `'`; quoted with `'` when it holds spaces (or
  quotes, which are doubled inside);
- value, min, max: the character class [-0-9.] (or the literal U for value);
- UOM: none, s, ms, us, %, B, KB, MB, TB, c;
- warn, crit: the range format [@][start:]end, start may be ~ (negative infinity) and
  end may be left out after the colon (infinity); trailing empty fields may be dropped;
- items separated by spaces.
"""

from __future__ import annotations

import re

NUMBER = r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
RANGE = rf"@?(?:(?:~|{NUMBER}):)?(?:{NUMBER})?"
LABEL = r"(?:'(?:[^'=]|'')+'|[^'=\s]+)"
UOM = r"(?:s|ms|us|%|B|KB|MB|TB|c)?"
ITEM = (
    rf"{LABEL}=(?:{NUMBER}{UOM}|U)(?:;{RANGE}(?:;{RANGE}(?:;(?:{NUMBER})?(?:;(?:{NUMBER})?)?)?)?)?"
)
PERFDATA = re.compile(rf"{ITEM}(?: {ITEM})*")
STATUS_LINE = re.compile(
    r"SIPTEST (?P<state>OK|WARNING|CRITICAL|UNKNOWN) - (?P<text>[^|\n]+?)"
    r"(?: \| (?P<perfdata>[^|\n]+))?"
)


def parse_plugin_output(text: str) -> tuple[str, dict[str, str], list[str]]:
    """(state, perfdata label -> the item, long output lines); AssertionError when the
    output breaks the grammar: one status line, perfdata only after the first `|`."""
    assert text.endswith("\n"), text
    lines = text[:-1].split("\n")
    first = STATUS_LINE.fullmatch(lines[0])
    assert first is not None, lines[0]
    assert all("|" not in line for line in lines[1:]), lines
    items: dict[str, str] = {}
    if first["perfdata"]:
        assert PERFDATA.fullmatch(first["perfdata"]), first["perfdata"]
        for item in re.findall(ITEM, first["perfdata"]):
            items[item.split("=", 1)[0].strip("'")] = item
    return first["state"], items, lines[1:]
