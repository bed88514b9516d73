"""Few-shot examples for base task models, chosen per question (dynamic few-shot).

A small base model (the embedded Gemma 3 270M) writes a working program mostly by imitating a close
example, so the transcript carries the few examples of this pool whose words overlap the question most,
the closest last. The pool holds everyday questions only: never SymBench questions or templates (the
bench must stay an honest measurement), and none of the questions in tests/data/everyday.jsonl (a test
checks this). Each program computes `answer` and prints it in the one fixed marker line, which a small
model copies far more reliably than an expression inside an f-string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHOTS_PER_PROMPT = 4
_PRINT = "print(f'<<<{answer}>>>')"


@dataclass(frozen=True)
class Shot:
    question: str
    code: str | None = None  # a program's body (before the marker line), or None for a text answer
    text: str = ""  # the text reply of a text example

    @property
    def is_code(self) -> bool:
        return self.code is not None

    def response(self) -> str:
        if self.code is None:
            return self.text
        return f"```python\n{self.code}\n{_PRINT}\n```"


POOL: tuple[Shot, ...] = (
    Shot("What is 123 * 456?", "answer = 123 * 456"),
    Shot("What is 5 to the power of 4?", "answer = 5 ** 4"),
    Shot("What is 20% of 150?", "answer = 150 * 20 / 100"),
    Shot("What is the square root of 529?", "import math\nanswer = math.isqrt(529)"),
    Shot("What is 6 factorial?", "import math\nanswer = math.factorial(6)"),
    Shot("What is the greatest common divisor of 48 and 180?", "import math\nanswer = math.gcd(48, 180)"),
    Shot("What is the least common multiple of 4 and 10?", "import math\nanswer = math.lcm(4, 10)"),
    Shot(
        "How many integers from 1 to 100 are divisible by 3 or 5?",
        "answer = sum(1 for n in range(1, 101) if n % 3 == 0 or n % 5 == 0)",
    ),
    Shot("What is the sum of all even numbers below 50?", "answer = sum(n for n in range(50) if n % 2 == 0)"),
    Shot(
        "How many primes are there between 10 and 30?",
        "def is_prime(n):\n    return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))\n\n"
        "answer = sum(1 for n in range(10, 31) if is_prime(n))",
    ),
    Shot(
        "What is the largest prime below 60?",
        "def is_prime(n):\n    return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))\n\n"
        "answer = max(n for n in range(60) if is_prime(n))",
    ),
    Shot(
        "Is 91 a prime number? Answer yes or no.",
        "answer = 'yes' if all(91 % d for d in range(2, 91)) else 'no'",
    ),
    Shot("What is the sum of the digits of 4096?", "answer = sum(int(d) for d in '4096')"),
    Shot(
        "How many times does the letter o appear in the words good morning?",
        "answer = 'good morning'.count('o')",
    ),
    Shot("How many e's are in the word cheese?", "answer = 'cheese'.count('e')"),
    Shot("How many vowels are in the word banana?", "answer = sum(c in 'aeiou' for c in 'banana')"),
    Shot("Reverse the word drawer.", "answer = 'drawer'[::-1]"),
    Shot(
        "Sort these numbers from smallest to largest: 8, 2, 6",
        "answer = ', '.join(str(n) for n in sorted([8, 2, 6]))",
    ),
    Shot(
        "Sort these words alphabetically: kiwi, banana, cherry",
        "answer = ', '.join(sorted(['kiwi', 'banana', 'cherry']))",
    ),
    Shot("What is the smallest number in 12, 7, 30?", "answer = min([12, 7, 30])"),
    Shot("What is 42 in binary?", "answer = format(42, 'b')"),
    Shot("What is the decimal value of the binary number 1011?", "answer = int('1011', 2)"),
    Shot(
        "What day of the week was July 4, 1976?",
        "import datetime\nanswer = datetime.date(1976, 7, 4).strftime('%A')",
    ),
    Shot(
        "How many days are there from January 10, 2023 to February 20, 2023?",
        "import datetime\nanswer = (datetime.date(2023, 2, 20) - datetime.date(2023, 1, 10)).days",
    ),
    Shot(
        "Was 1900 a leap year? Answer yes or no.",
        "import calendar\nanswer = 'yes' if calendar.isleap(1900) else 'no'",
    ),
    Shot("How many ways are there to pick 2 cards from 6?", "import math\nanswer = math.comb(6, 2)"),
    Shot("In how many orders can 5 books stand on a shelf?", "import math\nanswer = math.factorial(5)"),
    Shot("What is the median of 7, 2, 9, 4?", "import statistics\nanswer = statistics.median([7, 2, 9, 4])"),
    Shot("What is the average of 3, 8 and 10?", "import statistics\nanswer = statistics.mean([3, 8, 10])"),
    Shot(
        "What is the largest ocean on Earth?",
        text="The Pacific Ocean is larger than the Atlantic, Indian, Southern and Arctic oceans. <<<Pacific Ocean>>>",
    ),
    Shot("What is the capital of Italy?", text="The capital of Italy is Rome. <<<Rome>>>"),
    Shot(
        "Who wrote the play Romeo and Juliet?",
        text="It was written by William Shakespeare. <<<William Shakespeare>>>",
    ),
    Shot("What is the chemical symbol for iron?", text="Iron's symbol comes from the Latin ferrum. <<<Fe>>>"),
    Shot("How many legs does a spider have?", text="A spider has eight legs. <<<8>>>"),
    Shot(
        "Which gas do plants take in from the air?",
        text="Plants take in carbon dioxide. <<<carbon dioxide>>>",
    ),
)

_STOP_TEXT = (
    "a an the is are was were of in on to from for and or what which who how many much do does there "
    "these this that it its be by with as at answer yes no"
)
_STOPWORDS = frozenset(_STOP_TEXT.split())


def _words(text: str) -> set[str]:
    """Content words, a plural's s dropped ("primes" meets "prime")."""
    words = (w for w in re.findall(r"[a-z]+", text.lower()) if w not in _STOPWORDS)
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words}


def select(question: str, count: int = SHOTS_PER_PROMPT, pool: tuple[Shot, ...] = POOL) -> list[Shot]:
    """The `count` shots closest to `question` by shared words, at least one code and one text example,
    closest last. Ties keep pool order, so the choice is the same on every run."""
    wanted = _words(question)
    ranked = sorted(range(len(pool)), key=lambda i: (-len(wanted & _words(pool[i].question)), i))
    chosen = ranked[:count]
    for is_code in (True, False):  # both reply formats stay in view, whatever the question
        if not any(pool[i].is_code == is_code for i in chosen):
            chosen[-1] = next(i for i in ranked if pool[i].is_code == is_code)
    return [pool[i] for i in sorted(chosen, key=lambda i: (len(wanted & _words(pool[i].question)), -i))]
