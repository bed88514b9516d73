"""The batch that scores several fixed continuations (a coach's options) in one decode.

To score option tokens t0 t1 ... tn after a prompt, a model needs its logits after t0, after t0 t1, and so on
(t0 itself is scored from the prompt's own logits). Options often share their first tokens (" <<<" in
" <<<Code>>>" and " <<<Text>>>"); each distinct prefix is one node, decoded once and visible to every
option that starts with it. A node's logits score the next token of each of those options.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    token: int  # the last token of this prefix
    depth: int  # its offset after the prompt (0: the option's first token)
    options: tuple[int, ...]  # indexes of the options that go on after this prefix


def nodes(option_ids: list[list[int]]) -> list[Node]:
    """One node per distinct proper prefix of the options, in first-seen order (a parent before its children).

    An option of n tokens needs the prefixes of length 1 .. n-1; a one-token option needs none."""
    found: dict[tuple[int, ...], list[int]] = {}
    for index, ids in enumerate(option_ids):
        for length in range(1, len(ids)):
            found.setdefault(tuple(ids[:length]), []).append(index)
    return [Node(prefix[-1], len(prefix) - 1, tuple(users)) for prefix, users in found.items()]
