"""`siptest explain CODE|TEXT`: what a SIP response means and what to do, offline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from siptest.cli import common

if TYPE_CHECKING:
    from siptest.knowledge import Diagnosis, Entry, Knowledge, Situation

QueryArg = Annotated[
    str | None,
    typer.Argument(
        metavar="CODE|TEXT|ID",
        help='A response code (486), the text a server sent ("This account is not valid"), '
        "or a diagnosis id from a report (media.no_audio).",
        show_default=False,
    ),
]
MethodOpt = Annotated[
    str | None,
    typer.Option(
        "--method",
        "-m",
        help="The request that got the answer, REGISTER or INVITE, for advice specific to it.",
        show_default=False,
    ),
]
ListOpt = Annotated[bool, typer.Option("--list", help="List every diagnosis instead.")]


def explain(
    query: QueryArg = None,
    method: MethodOpt = None,
    profile: common.ProfileOpt = None,
    list_: ListOpt = False,
    json_: common.JsonOpt = False,
) -> None:
    """Explain a SIP response code, a server's message or a diagnosis id, and what to do.

    Works offline from siptest's knowledge base. Exit status: 0 explained,
    2 nothing to explain (empty or unknown query).
    """
    common.guarded(lambda: _run(query, method, profile, list_, json_), json_)


def _run(
    query: str | None, method: str | None, profile: str | None, list_: bool, json_: bool
) -> None:
    from siptest.errors import UsageError
    from siptest.knowledge import load_knowledge
    from siptest.knowledge.query import HOW_TO_ASK, normalised_method, understand

    if list_:
        if query is not None:
            raise UsageError("--list shows every diagnosis; leave out CODE|TEXT.")
        knowledge = load_knowledge(profile)
        typer.echo(_list_json(knowledge) if json_ else _list_text(knowledge))
        return
    if query is None:
        raise UsageError(f"Nothing to explain. {HOW_TO_ASK}")
    knowledge = load_knowledge(profile)
    entry = knowledge.entry(query.strip())
    if entry is not None:
        # A diagnosis id from a report: its words, with the facts of the run left neutral.
        from siptest.knowledge import Situation

        situation = Situation(method=normalised_method(method), code=None)
        diagnosis = knowledge.render(entry, situation)
        others: list[tuple[str, Entry]] = []
    else:
        situation, entry = understand(knowledge, query, method)
        diagnosis = knowledge.render(entry, situation)
        others = _other_situations(knowledge, entry, situation)
    if json_:
        typer.echo(_json(query, situation, knowledge, diagnosis, others))
    else:
        typer.echo(_text(situation, knowledge, entry, diagnosis, others))


def _other_situations(
    knowledge: Knowledge, chosen: Entry, situation: Situation
) -> list[tuple[str, Entry]]:
    """Other entries written for the same exact code, with when they apply."""
    if situation.code is None:
        return []
    others: list[tuple[str, Entry]] = []
    for entry in knowledge.entries():
        if entry is chosen:
            continue
        when = [c.describe() for c in entry.alternatives if situation.code in c.codes]
        if any(when):
            others.append((" or ".join(filter(None, when)), entry))
    return others


# -- text --------------------------------------------------------------------------------


def _text(
    situation: Situation,
    knowledge: Knowledge,
    entry: Entry,
    diagnosis: Diagnosis,
    others: list[tuple[str, Entry]],
) -> str:
    import shutil
    import textwrap

    width = max(40, min(shutil.get_terminal_size((88, 24)).columns, 100) - 1)

    def paragraphs(text: str) -> list[str]:
        return [
            textwrap.fill(part, width, initial_indent="  ", subsequent_indent="  ")
            for part in text.splitlines()
            if part.strip()
        ]

    facts = [diagnosis.id, f"category {diagnosis.category}", f"severity {diagnosis.severity}"]
    if diagnosis.rfc:
        facts.append(diagnosis.rfc)
    if knowledge.profile.name != "generic":
        facts.append(f"profile {knowledge.profile.name}")
    lines = [diagnosis.title]
    if situation.code is None and situation.reason:
        lines.append(f'  message: "{situation.reason}"')
    elif situation.code is not None and str(situation.code) not in diagnosis.title:
        lines.append(f"  answer: {situation.code} {situation.reason}".rstrip())
    lines += ["  " + " · ".join(facts), "", "What it means:"]
    lines += paragraphs(diagnosis.explanation)
    lines += ["", "What to do:"]
    lines += paragraphs(diagnosis.fix)
    if not situation.method and entry.by_method:
        methods = " or ".join(f"--method {m}" for m in sorted(entry.by_method))
        lines += ["", f"For advice specific to the request, add {methods}."]
    if others:
        lines += ["", f"In other situations, {situation.code} means:"]
        for when, other in others:
            title = knowledge.render(other, situation).title
            lines.append(f"  - {title}  [{other.id}]")
            lines.append(
                textwrap.fill(
                    f"when {when}", width, initial_indent=" " * 4, subsequent_indent=" " * 9
                )
            )
    return "\n".join(lines)


def _list_text(knowledge: Knowledge) -> str:
    rows = [("CODE", "ID", "CATEGORY", "TITLE")]
    rows += [
        (_code_label(entry), entry.id, entry.category, _list_title(knowledge, entry))
        for entry in _listed(knowledge)
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        f"{code:<{widths[0]}}  {id_:<{widths[1]}}  {category:<{widths[2]}}  {title}"
        for code, id_, category, title in rows
    )


# -- JSON --------------------------------------------------------------------------------


def _json(
    query: str,
    situation: Situation,
    knowledge: Knowledge,
    diagnosis: Diagnosis,
    others: list[tuple[str, Entry]],
) -> str:
    import json

    document: dict[str, Any] = {
        "query": query,
        "method": situation.method or None,
        "profile": knowledge.profile.name,
        "diagnosis": {
            "id": diagnosis.id,
            "category": diagnosis.category,
            "severity": diagnosis.severity,
            "title": diagnosis.title,
            "explanation": diagnosis.explanation,
            "fix": diagnosis.fix,
            "rfc": diagnosis.rfc,
            "code": diagnosis.code,
        },
        "other_situations": [
            {"when": when, "id": other.id, "title": knowledge.render(other, situation).title}
            for when, other in others
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def _list_json(knowledge: Knowledge) -> str:
    import json

    entries = [
        {
            "code": _code_label(entry) or None,
            "id": entry.id,
            "category": entry.category,
            "severity": entry.severity,
            "title": _list_title(knowledge, entry),
            "when": entry.describe() or None,
            "source": entry.source,
        }
        for entry in _listed(knowledge)
    ]
    return json.dumps(
        {"profile": knowledge.profile.name, "entries": entries}, ensure_ascii=False, indent=2
    )


# -- shared ------------------------------------------------------------------------------


def _listed(knowledge: Knowledge) -> list[Entry]:
    """Entries sorted by their first code (entries for any code last), then file order."""

    def first_code(entry: Entry) -> int:
        codes = [code for c in entry.alternatives for code in c.codes]
        codes += [hundreds * 100 + 99 for c in entry.alternatives for hundreds in c.classes]
        return min(codes, default=1000)

    return sorted(knowledge.entries(), key=lambda entry: (first_code(entry), entry.order))


def _code_label(entry: Entry) -> str:
    return entry.code_label() or "-"


def _list_title(knowledge: Knowledge, entry: Entry) -> str:
    from siptest.knowledge import Situation

    return knowledge.render(
        entry, Situation(method="", code=None), {"code": _code_label(entry)}
    ).title
