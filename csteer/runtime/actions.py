"""Steering actions and their strict parser.

The coach's reply is read from its LAST `<<<...>>>` marker only, and the keyword must be the whole marker
content: "...otherwise Terminate..." is guidance, not a stop (the reference matched bare substrings).
The trained codesteer-v1 coach is the exception: it learned under the reference's substring rule, so its
replies are read by `reference_action` instead (docs/FIDELITY.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ActionKind = Literal["code", "text", "guide", "return_answer", "terminate"]

KEYWORDS: dict[str, ActionKind] = {
    "code": "code",
    "text": "text",
    "return answer": "return_answer",
    "returnanswer": "return_answer",
    "terminate": "terminate",
}
# how each keyword action is written by the coach (the markers the released weights were trained on)
MARKERS: dict[ActionKind, str] = {
    "code": "<<<Code>>>",
    "text": "<<<Text>>>",
    "return_answer": "<<<Return Answer>>>",
    "terminate": "<<<Terminate>>>",
}
_MARKED = re.compile(r"<<<(.*?)>>>", re.DOTALL)
MAX_GUIDANCE_CHARS = 2000


class ActionParseError(ValueError):
    pass


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    guidance: str = ""  # for kind == "guide": the text sent to the task model

    @property
    def stops(self) -> bool:
        return self.kind in ("return_answer", "terminate")

    def __str__(self) -> str:
        return f"Guide({self.guidance[:60]!r})" if self.kind == "guide" else MARKERS[self.kind]


def _keyword(content: str) -> ActionKind | None:
    normalized = " ".join(content.strip().strip(".!").lower().split())
    return KEYWORDS.get(normalized)


def parse_action(reply: str) -> Action:
    """Parse a coach reply strictly. Raises ActionParseError for an empty or unusable reply."""
    text = (reply or "").strip()
    if not text:
        raise ActionParseError("empty coach reply")
    found = _MARKED.findall(text)
    if found:
        content = found[-1].strip()
        kind = _keyword(content)
        if kind is not None:
            return Action(kind)
        if not content:
            raise ActionParseError("empty <<<>>> marker in coach reply")
        return Action("guide", content[:MAX_GUIDANCE_CHARS])
    # no marker: only an exact bare keyword counts as that action; anything else is guidance
    kind = _keyword(text)
    if kind is not None:
        return Action(kind)
    if "<<<" in text or ">>>" in text:
        raise ActionParseError("unbalanced <<< >>> marker in coach reply")
    return Action("guide", text[:MAX_GUIDANCE_CHARS])


def action_grammar(kinds: tuple[ActionKind, ...], allow_guidance: bool, prose_before: int = 0) -> str:
    """A GBNF grammar whose every string parses to one of `kinds` (and free guidance if allowed).

    prose_before > 0 lets up to that many characters of explanation (without '<') precede the marker,
    as the released coach writes its reasons first."""
    alternatives = [f'"{MARKERS[k][3:-3]}"' for k in kinds if k != "guide"]
    if allow_guidance:
        alternatives.append("guide")
    marker = f'"<<<" ({" | ".join(alternatives)}) ">>>"'
    if prose_before > 0:
        rules = [f"root ::= prose {marker}", f"prose ::= [^<]{{0,{prose_before}}}"]
    else:
        rules = [f"root ::= {marker}"]
    if allow_guidance:
        # free guidance: no markers inside, one paragraph, bounded length
        rules.append(r"guide ::= [^<>\n] [^<>\n]{0,300}")
    return "\n".join(rules)


def reference_action(reply: str, *, first: bool, code_prompt: str, text_prompt: str) -> Action:
    """How the reference reads the trained coach's reply (codesteer-v1 only; the weights learned under it).

    Turn 0: the raw reply is the guidance (it precedes the question in the task model's first message);
    its marker only names the action. Later turns, in the reference's order: a reply containing `<<<Code>>>`
    or `<<<Text>>>` becomes the standard code or text prompt; one containing `Return Answer` or `Terminate`
    anywhere stops; anything else goes to the task model verbatim, prose and brackets included."""
    if first:
        kind: ActionKind = "code" if "<<<Code>>>" in reply else "text" if "<<<Text>>>" in reply else "guide"
        return Action(kind, reply)
    if "<<<Code>>>" in reply:
        return Action("code", code_prompt)
    if "<<<Text>>>" in reply:
        return Action("text", text_prompt)
    if "Return Answer" in reply:
        return Action("return_answer")
    if "Terminate" in reply:
        return Action("terminate")
    return Action("guide", reply)
