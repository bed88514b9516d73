"""Prompt profiles: what the coach and the task model are told, and how their messages are laid out.

Coach profiles
  codesteer-v1  the exact interface the released CodeSteer-v1 weights were trained on, as data
                (csteer/data/profiles/codesteer-v1.json, csteer.runtime.profile_data): layout, markers,
                feedback framing, stops and sampling of the reference; csteer's own wording unless the
                trained prompt.py was fetched (docs/FIDELITY.md).
  self          an instruct model coaching itself (the paper's "Symbolic Agent"): same structure plus a
                system message that explains the actions, since the model was never fine-tuned on them.
  base-fewshot  a base (pretrained-only) model such as the embedded Gemma 3 270M: a few-shot completion
                transcript whose continuation is constrained to an action keyword.

Task prompts come in two kinds: chat messages for instruct models and a few-shot completion transcript
for base models (whatever engine serves them, including a base model behind an OpenAI-compatible server).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from csteer.engines.base import Message
from csteer.runtime import profile_data, shots
from csteer.runtime.actions import ActionKind
from csteer.runtime.profile_data import Interface, Sampling

# --- what the task model is told for the keyword actions -----------------------------------------------
CODE_PROMPT = (
    "Answer with one Python code block. The program must compute the answer itself (use search, "
    "enumeration or symbolic computation where the task needs it) and print the final answer in the "
    "format <<<answer>>>."
)
TEXT_PROMPT = (
    "Do not write code. Reason step by step in text, check each step, and end with the final answer in "
    "the format <<<answer>>>."
)
ANSWER_FORMAT_HINT = "Give the final answer in the format <<<answer>>>."

# --- the coach's instructions (structure of the released weights, csteer's wording) ---------------------
COACH_FIRST = (
    "You are coaching another model, the TaskLLM, through a task. The task may be solved by textual "
    "reasoning or by writing code; decide which approach will work best. Do not solve the task "
    "yourself.\n\n"
    "**Respond** with your choice and short reasons, but not the solution:\n"
    "- For coding, explain why and end your response with the guidance in the format "
    "<<<guidance prompt content>>>.\n"
    "- For textual reasoning, explain why and end your response with the guidance in the format "
    "<<<guidance prompt content>>>.\n"
    "Now, here is the task:\n\n"
)
COACH_REVIEW_TEMPLATE = (
    "The response from TaskLLM is: {response}\n\n"
    "The feedback from the checking agent is:\n{check}\n\n"
    "{complexity}"
    "The final returned guidance prompt should be of the format <<<guidance prompt content>>>."
)
COACH_COMPLEXITY_TEMPLATE = "The summary of generated code complexity is: {summary}\n\n"
EXECUTION_TEMPLATE = "\nThe execution result from the generated code is:\noutput: {stdout}\nerrors: {stderr}"

SELF_SYSTEM = (
    "You steer a task-solving model. Never solve the task yourself. Each reply ends with exactly one "
    "marker: <<<Code>>> (the model should write a Python program), <<<Text>>> (reason in text, no code), "
    "<<<Return Answer>>> (its latest answer is verified and final), <<<Terminate>>> (stop), or "
    "<<<specific guidance for the model>>>. Prefer code for search, counting, arithmetic and "
    "constraint problems; demand real search instead of hard-coded answers; return the answer only "
    "when the checker and the program output agree."
)

SELF_CHECK_PROMPT = (
    "Given the following question and an answer from another model, write one Python code block that "
    "checks whether the answer is correct against every constraint of the question. The program prints "
    'exactly "Correct" if the answer satisfies all constraints, otherwise the reason it is wrong.\n\n'
    "Question: {question}\n\nAnswer: {answer}"
)


@dataclass(frozen=True)
class CoachProfile:
    name: str
    system: str | None
    allow_guidance: bool  # free guidance text besides the keyword actions
    completion_style: bool  # base model: one few-shot transcript instead of chat turns
    # a trained interface (codesteer-v1) read from a profile data file; None: csteer's own prompting
    grammar: bool = True  # a local coach decodes under the action grammar
    replies: str = "strict"  # "reference": substring stops and raw forwarding (actions.reference_action)
    feedback: str = "csteer"  # "reference": the reference's framing of execution, checker and summary
    final_answer: str = "latest"  # "last-turn": the last turn's answer even when it has none
    sampling: Sampling = field(default_factory=Sampling)
    interface: Interface | None = None
    # the evidence gate (loop.withheld_because): no Return Answer on a failed, rejected, wrong-kind,
    # disputed or checked-wrong answer while turns are left. Off for a trained interface, whose coach
    # decides alone.
    evidence_gate: bool = True

    @property
    def source(self) -> str:
        """Where the profile's instruction texts come from (shown by `csteer doctor`)."""
        return self.interface.source if self.interface else profile_data.CSTEER_WORDING

    def first_turn(self, question: str) -> list[Message]:
        if self.completion_style:
            return [{"role": "user", "content": _coach_transcript(question, [])}]
        if self.interface is not None:
            choice = self.interface.texts["choice"]
            text = self.interface.fill("coach_first", choice=choice, question=question)
            return [{"role": "user", "content": text}]
        messages: list[Message] = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": COACH_FIRST + question})
        return messages

    def review_message(self, response: str, check: str, complexity: str | None) -> str:
        if self.interface is not None:
            part = "" if complexity is None else self.interface.fill("complexity", summary=complexity)
            return self.interface.fill("review", response=response, check=check, complexity=part)
        part = COACH_COMPLEXITY_TEMPLATE.format(summary=complexity) if complexity is not None else ""
        return COACH_REVIEW_TEMPLATE.format(response=response, check=check or "(none)", complexity=part)


def profile_from_data(data: profile_data.ProfileData) -> CoachProfile:
    """A chat profile from a profile data file (csteer.runtime.profile_data)."""
    return CoachProfile(
        data.name,
        system=data.system,
        allow_guidance=True,
        completion_style=False,
        grammar=data.grammar,
        replies=data.replies,
        feedback=data.feedback,
        final_answer=data.final_answer,
        sampling=data.sampling,
        interface=data.interface,
        evidence_gate=data.interface is None,
    )


PROFILES: dict[str, CoachProfile] = {
    "codesteer-v1": profile_from_data(profile_data.load(profile_data.packaged("codesteer-v1"))),
    "self": CoachProfile("self", system=SELF_SYSTEM, allow_guidance=True, completion_style=False),
    "base-fewshot": CoachProfile("base-fewshot", system=None, allow_guidance=False, completion_style=True),
}


def guidance_text(kind: ActionKind, guidance: str = "") -> str:
    """What the task model receives for a coach action: the action's own text when it carries one (the
    trained profile's code/text prompts, its coach's raw reply), else csteer's standard prompt."""
    if guidance:
        return guidance
    if kind == "code":
        return CODE_PROMPT
    if kind == "text":
        return TEXT_PROMPT
    return guidance


# --- few-shot transcripts for base models ----------------------------------------------------------------
# The task model's examples are chosen per question from csteer.runtime.shots; the checker's and the
# coach's are fixed. They teach the format (a program that prints the answer, or text ending in
# <<<answer>>>) and, for the coach, which keyword follows which situation.
_TASK_HEADER = "Each question is answered following the guidance.\n\n"
TASK_STOPS = ["\nQuestion:", "\nGuidance:", "\nResponse:", "\n\n\n"]


def task_transcript(question: str, turns: list[tuple[str, str]], next_guidance: str) -> str:
    """A few-shot completion prompt for a base task model: earlier (guidance, response) turns, then the next."""
    parts = [_TASK_HEADER]
    for shot in shots.select(question):
        guidance = CODE_PROMPT if shot.is_code else TEXT_PROMPT
        parts.append(f"Question: {shot.question}\nGuidance: {guidance}\nResponse:\n{shot.response()}\n\n")
    parts.append(f"Question: {question}\n")
    for guidance, response in turns:
        parts.append(f"Guidance: {guidance}\nResponse:\n{response.strip()}\n")
    parts.append(f"Guidance: {next_guidance}\nResponse:\n")
    return "".join(parts)


_CHECK_SHOTS = (
    (
        "What is 12 * 12?",
        "144",
        "```python\nprint('Correct' if 12 * 12 == 144 else 'Wrong: 12 * 12 is ' + str(12 * 12))\n```",
    ),
    (
        "How many vowels are in the word banana?",
        "2",
        "```python\nn = sum(c in 'aeiou' for c in 'banana')\nprint('Correct' if n == 2 else f'Wrong: there are {n} vowels')\n```",
    ),
)


def check_transcript(question: str, answer: str) -> str:
    """A few-shot completion prompt asking a base model for answer-checking code."""
    parts = ["Each answer is checked by a Python program that prints Correct or the reason it is wrong.\n\n"]
    for q, a, code in _CHECK_SHOTS:
        parts.append(f"Question: {q}\nAnswer: {a}\nCheck:\n{code}\n\n")
    parts.append(f"Question: {question}\nAnswer: {answer}\nCheck:\n")
    return "".join(parts)


CHECK_STOPS = ["\nQuestion:", "\nAnswer:", "\n\n\n"]

_COACH_HEADER = (
    "A coach decides how a solver answers each question. First decision: <<<Code>>> when a Python "
    "program can compute or search for the answer (arithmetic, counting, puzzles, constraints), <<<Text>>> "
    "when it needs reading or common sense. After each attempt the coach sees the solver's answer, the "
    "program output and a checker's verdict, and replies <<<Return Answer>>> when the answer is checked "
    "and correct, or <<<Code>>> / <<<Text>>> to try again.\n\n"
)
_COACH_SHOTS = (
    (
        "What is 3847 * 2919?",
        [
            ("<<<Code>>>", None),
            ("<<<Return Answer>>>", "Answer: 11229393 (from program output)\nChecker: Correct"),
        ],
    ),
    (
        "How many weekdays are there in March 2023?",
        [
            ("<<<Code>>>", None),
            (
                "<<<Return Answer>>>",
                "Answer: 23 (from program output, 3 of 3 attempts agree)\n"
                "Checker: not needed, every attempt agrees",
            ),
        ],
    ),
    (
        "Who wrote the play Romeo and Juliet?",
        [
            ("<<<Text>>>", None),
            ("<<<Return Answer>>>", "Answer: William Shakespeare (from text)\nChecker: Correct"),
        ],
    ),
    (
        "Which is heavier, a kilogram of iron or a kilogram of feathers?",
        [
            ("<<<Text>>>", None),
            ("<<<Return Answer>>>", "Answer: they weigh the same\nChecker: Correct"),
        ],
    ),
    (
        "Find all pairs of primes below 50 that differ by 2. How many are there?",
        [
            ("<<<Code>>>", None),
            ("<<<Code>>>", "Answer: 4 (hard-coded, no search)\nChecker: Wrong: the program found 6 pairs"),
            ("<<<Return Answer>>>", "Answer: 6 (from program output)\nChecker: Correct"),
        ],
    ),
)


def _coach_transcript(question: str, reviews: list[tuple[str, str]]) -> str:
    parts = [_COACH_HEADER]
    for q, steps in _COACH_SHOTS:
        parts.append(f"Question: {q}\n")
        for decision, seen in steps:
            if seen:
                parts.append(f"{seen}\n")
            parts.append(f"Decision: {decision}\n")
        parts.append("\n")
    # first decisions on the everyday questions closest to this one, as many code as text examples: a
    # question like a text example leans to Text, one like a program example to Code
    for shot in shots.select_for_choice(question):
        parts.append(
            f"Question: {shot.question}\nDecision: {'<<<Code>>>' if shot.is_code else '<<<Text>>>'}\n\n"
        )
    parts.append(f"Question: {question}\n")
    for decision, seen in reviews:
        if seen:
            parts.append(f"{seen}\n")
        parts.append(f"Decision: {decision}\n")
    return "".join(parts)


def coach_transcript(question: str, reviews: list[tuple[str, str]], pending_review: str | None) -> str:
    """Base-model coach prompt: earlier (decision, what it saw) pairs, then what it sees now, then 'Decision:'."""
    text = _coach_transcript(question, reviews)
    if pending_review:
        text += f"{pending_review}\n"
    return text + "Decision:"
