"""The steps of a scenario: register, unregister, call, wait, repeat, and expectations.

`StepReader` turns the `steps:` list into checked `Step`s: bare names (`- register`),
mappings (`- call: {number: 7000, expect: answered}`), a standalone `- expect:` that
adds to the step before it, and `repeat` blocks unrolled in place. Every refusal
names FILE:LINE and the key, and says what to write instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Literal

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from siptest.errors import UsageError
from siptest.scenario.model import (
    DEFAULT_EXPECTATION,
    MAX_REPEAT,
    MAX_STEPS,
    MAX_WAIT_SECONDS,
    MEDIA_KEYS,
    MOS_RANGE,
    Account,
    Call,
    DtmfMethod,
    Expectation,
    Register,
    ScenarioError,
    Step,
    Unregister,
    Wait,
)
from siptest.scenario.nodes import ScenarioNodes
from siptest.scenario.source import Node, Text
from siptest.yamlsource import is_null

STEP_KINDS = ("register", "unregister", "call", "wait", "expect", "repeat")
_ACCOUNT_STEP_KEYS = ("account", "expect")
_CALL_KEYS = ("number", "account", "ring_timeout", "talk", "dtmf", "dtmf_method", "expect")
_EXPECT_KEYS = ("ok", "code", "category", "answered", *MEDIA_KEYS)
_DTMF_METHODS: tuple[DtmfMethod, ...] = ("rfc4733", "info")


class StepReader(ScenarioNodes):
    """Reads a scenario's steps against its accounts."""

    def steps(self, node: Node, accounts: Mapping[str, Account], key: str) -> list[Step]:
        if not isinstance(node, SequenceNode):
            raise self.error(
                node,
                key,
                "expected a list of steps (- register, - call: 7000...), "
                f"got {self.describe(node)}.",
            )
        steps: list[Step] = []
        for item in node.value:
            # A broken step is kept as a problem and left out: the next ones are read on.
            with self.recovering():
                self.step(item, steps, accounts, key)
        return steps

    def step(
        self, item: Node, steps: list[Step], accounts: Mapping[str, Account], key: str
    ) -> None:
        """Read one item of a step list onto `steps`."""
        if isinstance(item, ScalarNode) and not is_null(item):
            steps.append(self.bare_step(item, accounts))
            return
        if not isinstance(item, MappingNode) or not item.value:
            raise self.error(
                item,
                key,
                f"each step is a name or a mapping (- call: 7000), got {self.describe(item)}.",
            )
        kind, fields = self.step_fields(item)
        if kind == "expect":
            self.attach(steps, fields["expect"])
        elif kind == "repeat":
            steps.extend(self.repeat(fields["repeat"], accounts, len(steps)))
        elif kind == "wait":
            steps.append(self.wait(fields["wait"]))
        else:
            step = self.account_step(kind, fields[kind], accounts)
            if "expect" in fields:
                step = self.merged(step, self.expectation(fields["expect"], kind))
            steps.append(step)
        if len(steps) > MAX_STEPS:
            raise self.error(item, kind, f"the scenario has more than {MAX_STEPS} steps.")

    def step_fields(self, item: Node) -> tuple[str, dict[str, Node]]:
        """The kind of one step mapping and its keys: the kind, plus `expect` for checks."""
        assert isinstance(item, MappingNode)
        fields: dict[str, Node] = {}
        kinds: list[str] = []
        for key_node, value_node in item.value:
            name = str(key_node.value) if isinstance(key_node, ScalarNode) else ""
            if name in fields:
                raise self.error(key_node, name, "appears twice in one step.")
            if name not in STEP_KINDS:
                if name in _CALL_KEYS or name in ("seconds", "times", "steps"):
                    raise self.error(
                        key_node,
                        name,
                        f"belongs inside the step, indented under it (e.g. - call: {{number: "
                        f"7000, {name}: ...}}).",
                    )
                close = difflib.get_close_matches(name, STEP_KINDS, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise self.error(
                    key_node, name, f"unknown step.{hint} Steps are: {', '.join(STEP_KINDS)}."
                )
            fields[name] = value_node
            if name != "expect":
                kinds.append(name)
        if len(kinds) > 1:
            raise self.error(
                item,
                kinds[1],
                f"one step per list item: '{kinds[0]}' and '{kinds[1]}' are "
                "in the same item. Start each with its own '-'.",
            )
        if kinds and kinds[0] in ("wait", "repeat") and "expect" in fields:
            raise self.error(
                fields["expect"], "expect", f"a {kinds[0]} step has nothing to expect."
            )
        return (kinds[0] if kinds else "expect"), fields

    def bare_step(self, item: Node, accounts: Mapping[str, Account]) -> Step:
        word = str(item.value).strip()
        if word in ("register", "unregister"):
            return self.account_step(word, None, accounts, at=item)
        if word in ("call", "wait", "repeat", "expect"):
            needs = {
                "call": "the number to dial: - call: 7000",
                "wait": "the seconds: - wait: 2",
                "repeat": "times and steps: - repeat: {times: 3, steps: [...]}",
                "expect": "what to expect: - expect: answered",
            }[word]
            raise self.error(item, word, f"needs {needs}.")
        close = difflib.get_close_matches(word, STEP_KINDS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise self.error(item, word, f"unknown step.{hint} Steps are: {', '.join(STEP_KINDS)}.")

    def account_name(
        self, node: Node | None, accounts: Mapping[str, Account], kind: str, at: Node
    ) -> str:
        if node is None or is_null(node):
            if len(accounts) == 1:
                return next(iter(accounts))
            raise self.error(
                at,
                kind,
                f"this scenario has {len(accounts)} accounts ({', '.join(accounts)}); "
                f"name the one to use: {kind}: {{account: {next(iter(accounts))}}}.",
            )
        text = self.text(node, "account")
        name = text.value.strip()
        if name not in accounts:
            raise self.error(
                node,
                "account",
                f"no account named {text.shown()}; this scenario has: {', '.join(accounts)}.",
            )
        return name

    def account_step(
        self,
        kind: str,
        node: Node | None,
        accounts: Mapping[str, Account],
        at: Node | None = None,
    ) -> Register | Unregister | Call:
        at = at if at is not None else node
        assert at is not None
        location = self.at(at)
        if kind == "call":
            return self.call(node, accounts, at)
        account_node: Node | None = node
        expect = DEFAULT_EXPECTATION
        if isinstance(node, MappingNode):
            fields = self.mapping(node, kind, _ACCOUNT_STEP_KEYS)
            account_node = fields.get("account")
            if "expect" in fields:
                expect = self.expectation(fields["expect"], kind)
        elif node is not None and not isinstance(node, ScalarNode):
            raise self.error(
                node, kind, f"expected an account name or a mapping, got {self.describe(node)}."
            )
        name = self.account_name(account_node, accounts, kind, at)
        if kind == "register":
            return Register(account=name, location=location, expect=expect)
        return Unregister(account=name, location=location, expect=expect)

    def call(self, node: Node | None, accounts: Mapping[str, Account], at: Node) -> Call:
        assert node is not None
        if is_null(node):
            raise self.error(node, "call", "needs the number to dial: - call: 7000.")
        if isinstance(node, ScalarNode):
            name = self.account_name(None, accounts, "call", at)
            return Call(
                account=name,
                number=self.number(node, accounts[name].transport),
                location=self.at(at),
            )
        fields = self.mapping(node, "call", _CALL_KEYS)
        if "number" not in fields:
            raise self.error(node, "number", "missing: which number should the call dial?")
        if "dtmf_method" in fields and "dtmf" not in fields:
            raise self.error(
                fields["dtmf_method"],
                "dtmf_method",
                "there are no digits to send; add dtmf: '123#' to the call or leave "
                "dtmf_method out.",
            )
        name = self.account_name(fields.get("account"), accounts, "call", at)
        return Call(
            account=name,
            number=self.number(fields["number"], accounts[name].transport),
            location=self.at(at),
            ring_timeout=(
                self.seconds(fields["ring_timeout"], "ring_timeout", 1, MAX_WAIT_SECONDS)
                if "ring_timeout" in fields
                else 30.0
            ),
            talk=self.seconds(fields["talk"], "talk", 0, MAX_WAIT_SECONDS)
            if "talk" in fields
            else 2.0,
            dtmf=self.dtmf(fields["dtmf"]) if "dtmf" in fields else "",
            dtmf_method=(
                self.dtmf_method(fields["dtmf_method"]) if "dtmf_method" in fields else "rfc4733"
            ),
            expect=self.expectation(fields["expect"], "call")
            if "expect" in fields
            else DEFAULT_EXPECTATION,
        )

    def number(self, node: Node, transport: str) -> str:
        from siptest.target import dial_number

        value = self.text(node, "number")
        try:
            return dial_number(value.value, transport)
        except UsageError as error:
            problem = str(error) if not value.hidden_by else "is not a number one could dial."
            raise self.error(node, "number", problem) from None

    def dtmf(self, node: Node) -> str:
        from siptest.target import dtmf_digits

        value = self.text(node, "dtmf")
        try:
            return dtmf_digits(value.value)
        except UsageError:
            raise self.error(
                node, "dtmf", f"{value.shown()}: DTMF is 1 to 32 of 0-9, *, # and A-D."
            ) from None

    def dtmf_method(self, node: Node) -> DtmfMethod:
        value = self.text(node, "dtmf_method")
        word = value.value.strip().lower()
        for method in _DTMF_METHODS:
            if word == method:
                return method
        raise self.error(
            node,
            "dtmf_method",
            f"{value.shown()} is not a DTMF method; rfc4733 (events in the audio stream, "
            "the usual one) or info (SIP INFO requests).",
        )

    def min_mos(self, node: Node) -> float:
        value = self.text(node, "min_mos")
        low, high = MOS_RANGE
        try:
            number = float(value.value.strip())
        except ValueError:
            raise self.error(
                node, "min_mos", f"expected a MOS score such as 3.5, got {value.shown()}."
            ) from None
        if not low <= number <= high:  # also refuses nan
            raise self.error(
                node,
                "min_mos",
                f"must be from {low:.1f} to {high:.1f} (the MOS scale; 4.5 is the best a "
                f"call can score), got {number:g}.",
            )
        return number

    def audio(self, node: Node) -> Literal["both"]:
        value = self.text(node, "audio")
        if value.value.strip().lower() != "both":
            raise self.error(
                node,
                "audio",
                f"{value.shown()} cannot be expected; only 'both' (audio flows in both "
                "directions). One-way audio and silence are failures the media check reports.",
            )
        return "both"

    def wait(self, node: Node) -> Wait:
        if isinstance(node, MappingNode):
            fields = self.mapping(node, "wait", ("seconds",))
            if "seconds" not in fields:
                raise self.error(node, "seconds", "missing: how long to wait?")
            node = fields["seconds"]
            key = "seconds"
        else:
            key = "wait"
        seconds = self.seconds(node, key, 0, MAX_WAIT_SECONDS)
        return Wait(seconds=seconds, location=self.at(node))

    def repeat(self, node: Node, accounts: Mapping[str, Account], before: int) -> list[Step]:
        fields = self.mapping(node, "repeat", ("times", "steps"))
        for required in ("times", "steps"):
            if required not in fields:
                raise self.error(node, required, "missing in repeat: {times: N, steps: [...]}.")
        times = self.integer(fields["times"], "times", 1, MAX_REPEAT)
        block = self.steps(fields["steps"], accounts, "steps")
        if not block:
            raise self.error(fields["steps"], "steps", "is empty; list the steps to repeat.")
        if before + times * len(block) > MAX_STEPS:
            raise self.error(
                fields["times"],
                "times",
                f"{times} x {len(block)} steps makes more than {MAX_STEPS} steps.",
            )
        unrolled: list[Step] = []
        for round_ in range(1, times + 1):
            label = f"{round_}/{times}"
            for step in block:
                unrolled.append(replace(step, round=f"{label} {step.round}".strip()))
        return unrolled

    # -- expectations --------------------------------------------------------------------------

    def expectation(self, node: Node, kind: str) -> Expectation:
        from siptest.knowledge import CATEGORIES

        location = self.at(node)
        if isinstance(node, ScalarNode) and not is_null(node):
            value = self.text(node, "expect")
            word = value.value.strip().lower()
            if word.isdigit():
                return Expectation(codes=(self.code(node, value),), location=location)
            if word == "ok":
                return Expectation(ok=True, location=location)
            if word == "answered":
                self.calls_only(node, kind, "answered")
                return Expectation(answered=True, location=location)
            if word in CATEGORIES:
                return Expectation(category=word, location=location)
            raise self.error(
                node,
                "expect",
                f"{value.shown()} is not something to expect. Give ok, answered, a response "
                f"code (e.g. 404) or a category ({', '.join(CATEGORIES)}); or a mapping of "
                "ok/code/category/answered/audio/min_mos/dtmf.",
            )
        fields = self.mapping(node, "expect", _EXPECT_KEYS)
        if not fields:
            raise self.error(
                node,
                "expect",
                "say what to expect: ok, code, category, answered, audio, min_mos or dtmf.",
            )
        codes: tuple[int, ...] = ()
        if "code" in fields:
            code_node = fields["code"]
            items = code_node.value if isinstance(code_node, SequenceNode) else [code_node]
            if not items:
                raise self.error(code_node, "code", "is an empty list; give one code or several.")
            codes = tuple(self.code(item, self.text(item, "code")) for item in items)
        category = None
        if "category" in fields:
            category_text = self.text(fields["category"], "category")
            category = category_text.value.strip().lower()
            if category not in CATEGORIES:
                raise self.error(
                    fields["category"],
                    "category",
                    f"{category_text.shown()} is not a category; one of {', '.join(CATEGORIES)}.",
                )
        answered = None
        if "answered" in fields:
            self.calls_only(fields["answered"], kind, "answered")
            answered = self.boolean(fields["answered"], "answered")
        for key in MEDIA_KEYS:
            if key in fields:
                self.media_only_on_calls(fields[key], kind, key)
        return Expectation(
            ok=self.boolean(fields["ok"], "ok") if "ok" in fields else None,
            codes=codes,
            category=category,
            answered=answered,
            audio=self.audio(fields["audio"]) if "audio" in fields else None,
            min_mos=self.min_mos(fields["min_mos"]) if "min_mos" in fields else None,
            dtmf=self.dtmf(fields["dtmf"]) if "dtmf" in fields else None,
            location=location,
            dtmf_location=self.at(fields["dtmf"]) if "dtmf" in fields else None,
        )

    def code(self, node: Node, text: Text) -> int:
        digits = text.value.strip()
        if not digits.isdigit() or not 100 <= int(digits) <= 699:
            raise self.error(
                node, "code", f"{text.shown()} is not a SIP response code (100 to 699)."
            )
        return int(digits)

    def calls_only(self, node: Node, kind: str, key: str) -> None:
        if kind != "call":
            raise self.error(node, key, f"only a call can be {key}; this is a {kind} step.")

    def media_only_on_calls(self, node: Node, kind: str, key: str) -> None:
        if kind != "call":
            raise self.error(
                node,
                key,
                f"only a call step can expect {key} (it is about the call's audio); "
                f"this is a {kind} step.",
            )

    def attach(self, steps: list[Step], node: Node) -> None:
        """A standalone `- expect:` adds to the step before it."""
        previous = steps[-1] if steps else None
        if not isinstance(previous, Register | Unregister | Call):
            raise self.error(
                node,
                "expect",
                "checks the step before it (register, unregister or call), and there is none. "
                "Put it right after the step it checks.",
            )
        kind = type(previous).__name__.lower()
        steps[-1] = self.merged(previous, self.expectation(node, kind))

    def merged(
        self, step: Register | Unregister | Call, extra: Expectation
    ) -> Register | Unregister | Call:
        current = step.expect
        if current.is_default:
            return replace(step, expect=extra)
        for name in ("ok", "category", "answered", *MEDIA_KEYS):
            if getattr(current, name) is not None and getattr(extra, name) is not None:
                raise ScenarioError(
                    f"{extra.location}: key '{name}': already expected on line "
                    f"{current.location.line if current.location else '?'}; say it once."
                )
        if current.codes and extra.codes:
            raise ScenarioError(
                f"{extra.location}: key 'code': already expected on line "
                f"{current.location.line if current.location else '?'}; give several codes "
                "as a list: code: [403, 404]."
            )
        combined = Expectation(
            ok=current.ok if current.ok is not None else extra.ok,
            codes=current.codes or extra.codes,
            category=current.category or extra.category,
            answered=current.answered if current.answered is not None else extra.answered,
            audio=current.audio or extra.audio,
            min_mos=current.min_mos if current.min_mos is not None else extra.min_mos,
            dtmf=current.dtmf if current.dtmf is not None else extra.dtmf,
            location=current.location,
            dtmf_location=current.dtmf_location or extra.dtmf_location,
        )
        return replace(step, expect=combined)

    def check_dtmf(self, steps: Sequence[Step]) -> None:
        """Digits expected at the far end must be the digits the call sends."""
        for step in steps:
            if not isinstance(step, Call) or step.expect.dtmf is None:
                continue
            if step.dtmf != step.expect.dtmf:
                where = step.expect.dtmf_location or step.expect.location or step.location
                problem = (
                    "the digits expected to arrive differ from the digits the call sends"
                    if step.dtmf
                    else "the call sends no digits"
                )
                raise ScenarioError(
                    f"{where}: key 'dtmf': {problem} (the call on line "
                    f"{step.location.line}). The far end "
                    "can only receive what the call sends: give the call the same digits "
                    "(call: {number: ..., dtmf: ...})."
                )
