"""Few-shot examples for base task models, chosen per question (dynamic few-shot).

A small base model (the embedded Gemma 3 270M) writes a working program mostly by imitating a close
example, so the transcript carries the few examples of this pool whose words overlap the question most,
the closest last. The pool holds everyday questions only: never SymBench questions or templates (the
bench must stay an honest measurement), and none of the questions in tests/data/everyday.jsonl (a test
checks this). Each program computes `answer` and prints it in the one fixed marker line, which a small
model copies far more reliably than an expression inside an f-string.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

SHOTS_PER_PROMPT = 4
MARKER_LINE = "print(f'<<<{answer}>>>')"  # how every example program ends
_PRIME = "def is_prime(n):\n    return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))\n\n"


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
        return f"```python\n{self.code}\n{MARKER_LINE}\n```"


POOL: tuple[Shot, ...] = (
    # arithmetic
    Shot("What is 123 * 456?", "answer = 123 * 456"),
    Shot("What is 9 times 8?", "answer = 9 * 8"),
    Shot("What is the product of 25 and 16?", "answer = 25 * 16"),
    Shot("What is 250 + 1375?", "answer = 250 + 1375"),
    Shot("What is 5000 minus 1234?", "answer = 5000 - 1234"),
    Shot("What is 144 divided by 12?", "answer = 144 / 12"),
    Shot("What is 20% of 150?", "answer = 150 * 20 / 100"),
    Shot("What is 8 percent of 50?", "answer = 50 * 8 / 100"),
    Shot("What is the sum of the digits of 4096?", "answer = sum(int(d) for d in str(4096))"),
    Shot("What is the sum of all the integers from 10 to 20?", "answer = sum(range(10, 20 + 1))"),
    Shot("What is the sum of the odd numbers from 1 to 19?", "answer = sum(range(1, 19 + 1, 2))"),
    Shot("What is the sum of all even numbers below 50?", "answer = sum(n for n in range(50) if n % 2 == 0)"),
    Shot(
        "How many integers from 1 to 100 are divisible by 3 or 5?",
        "answer = sum(1 for n in range(1, 100 + 1) if n % 3 == 0 or n % 5 == 0)",
    ),
    # powers and roots
    Shot("What is 5 to the power of 4?", "answer = 5 ** 4"),
    Shot("What is 2 raised to the 10th power?", "answer = 2 ** 10"),
    Shot("What is 9 cubed?", "answer = 9 ** 3"),
    Shot("What is the square root of 529?", "import math\nanswer = math.isqrt(529)"),
    # factorials
    Shot("What is 6 factorial?", "import math\nanswer = math.factorial(6)"),
    Shot("What is 4!?", "import math\nanswer = math.factorial(4)"),
    # divisors
    Shot("What is the greatest common divisor of 48 and 180?", "import math\nanswer = math.gcd(48, 180)"),
    Shot("What is the highest common factor of 27 and 45?", "import math\nanswer = math.gcd(27, 45)"),
    Shot("What is the least common multiple of 4 and 10?", "import math\nanswer = math.lcm(4, 10)"),
    Shot("How many divisors does 36 have?", "answer = sum(1 for d in range(1, 36 + 1) if 36 % d == 0)"),
    # primes: one helper, then the question's own condition
    Shot(
        "How many primes are there between 10 and 30?",
        _PRIME + "answer = sum(1 for n in range(10, 30 + 1) if is_prime(n))",
    ),
    Shot(
        "What is the largest prime below 60?",
        _PRIME + "answer = max(n for n in range(60) if is_prime(n))",
    ),
    Shot(
        "What is the sum of the prime numbers between 20 and 40?",
        _PRIME + "answer = sum(n for n in range(20, 40 + 1) if is_prime(n))",
    ),
    Shot(
        "What is the 5th prime number?",
        _PRIME + "primes = [n for n in range(2, 1000) if is_prime(n)]\nanswer = primes[5 - 1]",
    ),
    Shot("Is 91 a prime number? Answer yes or no.", _PRIME + "answer = 'yes' if is_prime(91) else 'no'"),
    # letters and words
    Shot(
        "How many times does the letter o appear in the words good morning?",
        "answer = 'good morning'.count('o')",
    ),
    Shot("How many e's are in the word cheese?", "answer = 'cheese'.count('e')"),
    Shot("How many vowels are in the word banana?", "answer = sum(c in 'aeiou' for c in 'banana')"),
    Shot("How many consonants are in the word rhythm?", "answer = sum(c not in 'aeiou' for c in 'rhythm')"),
    Shot("How many letters does the word butterfly have?", "answer = len('butterfly')"),
    Shot(
        "How many words are in the sentence the cat sat on the mat?",
        "answer = len('the cat sat on the mat'.split())",
    ),
    Shot("Reverse the word drawer.", "answer = 'drawer'[::-1]"),
    Shot("What is the word lived spelled backwards?", "answer = 'lived'[::-1]"),
    Shot("Reverse the string hello.", "answer = 'hello'[::-1]"),
    Shot(
        "Is the word level a palindrome? Answer yes or no.",
        "answer = 'yes' if 'level' == 'level'[::-1] else 'no'",
    ),
    # lists
    Shot(
        "Sort these numbers from smallest to largest: 8, 2, 6",
        "answer = ', '.join(str(n) for n in sorted([8, 2, 6]))",
    ),
    Shot(
        "Sort these words alphabetically: kiwi, banana, cherry",
        "answer = ', '.join(sorted(['kiwi', 'banana', 'cherry']))",
    ),
    Shot("What is the smallest number in 12, 7, 30?", "answer = min([12, 7, 30])"),
    Shot("What is the largest number in 5, 61, 23, 9?", "answer = max([5, 61, 23, 9])"),
    Shot("What is the sum of 14, 9 and 27?", "answer = sum([14, 9, 27])"),
    # number bases
    Shot("What is 42 in binary?", "answer = format(42, 'b')"),
    Shot("What is 200 in octal?", "answer = format(200, 'o')"),
    Shot("Convert 250 to hexadecimal.", "answer = format(250, 'X')"),
    Shot("What is the decimal value of the binary number 1011?", "answer = int('1011', 2)"),
    Shot("Convert the hexadecimal number 2F to decimal.", "answer = int('2F', 16)"),
    # dates
    Shot(
        "What day of the week was July 4, 1976?",
        "import datetime\nanswer = datetime.date(1976, 7, 4).strftime('%A')",
    ),
    Shot(
        "On which weekday did December 25, 2010 fall?",
        "import datetime\nanswer = datetime.date(2010, 12, 25).strftime('%A')",
    ),
    Shot(
        "How many days are there from January 10, 2023 to February 20, 2023?",
        "import datetime\nanswer = (datetime.date(2023, 2, 20) - datetime.date(2023, 1, 10)).days",
    ),
    Shot(
        "How many days are between June 3, 2021 and August 1, 2021?",
        "import datetime\nanswer = (datetime.date(2021, 8, 1) - datetime.date(2021, 6, 3)).days",
    ),
    Shot(
        "Was 1900 a leap year? Answer yes or no.",
        "import calendar\nanswer = 'yes' if calendar.isleap(1900) else 'no'",
    ),
    Shot("How many days are in February 2019?", "import calendar\nanswer = calendar.monthrange(2019, 2)[1]"),
    # counting arrangements
    Shot("How many ways are there to pick 2 cards from 6?", "import math\nanswer = math.comb(6, 2)"),
    Shot("How many ways can a team of 4 be chosen from 9 people?", "import math\nanswer = math.comb(9, 4)"),
    Shot("In how many orders can 5 books stand on a shelf?", "import math\nanswer = math.factorial(5)"),
    Shot(
        "In how many different orders can the letters x, y, z be written?",
        "import itertools\nanswer = len(list(itertools.permutations(['x', 'y', 'z'])))",
    ),
    Shot(
        "How many ways can 3 runners out of 8 finish first, second and third?",
        "import math\nanswer = math.perm(8, 3)",
    ),
    # statistics
    Shot("What is the median of 7, 2, 9, 4?", "import statistics\nanswer = statistics.median([7, 2, 9, 4])"),
    Shot("What is the median of 6, 1, 8?", "import statistics\nanswer = statistics.median([6, 1, 8])"),
    Shot("What is the average of 3, 8 and 10?", "import statistics\nanswer = statistics.mean([3, 8, 10])"),
    Shot("What is the mean of 2, 4, 4, 6?", "import statistics\nanswer = statistics.mean([2, 4, 4, 6])"),
    Shot(
        "What is the most common number in 1, 3, 3, 2?",
        "import statistics\nanswer = statistics.mode([1, 3, 3, 2])",
    ),
    Shot("What is the range of 15, 4, 9?", "answer = max([15, 4, 9]) - min([15, 4, 9])"),
    # facts: no program computes them; a text answer
    Shot(
        "What is the largest ocean on Earth?",
        text="The Pacific Ocean is larger than the Atlantic, Indian, Southern and Arctic oceans. <<<Pacific Ocean>>>",
    ),
    Shot("What is the capital of Italy?", text="The capital of Italy is Rome. <<<Rome>>>"),
    Shot("What is the capital city of Canada?", text="Canada's capital is Ottawa. <<<Ottawa>>>"),
    Shot(
        "Who wrote the play Romeo and Juliet?",
        text="It was written by William Shakespeare. <<<William Shakespeare>>>",
    ),
    Shot("What is the chemical symbol for iron?", text="Iron's symbol comes from the Latin ferrum. <<<Fe>>>"),
    Shot("What is the chemical formula of table salt?", text="Table salt is sodium chloride. <<<NaCl>>>"),
    Shot("How many legs does a spider have?", text="A spider has eight legs. <<<8>>>"),
    Shot("How many hours are in a day?", text="A day has 24 hours. <<<24>>>"),
    Shot("How many continents are there?", text="There are seven continents. <<<7>>>"),
    Shot(
        "Which gas do plants take in from the air?",
        text="Plants take in carbon dioxide. <<<carbon dioxide>>>",
    ),
    Shot(
        "Which planet is the largest in the solar system?",
        text="Jupiter is the largest planet. <<<Jupiter>>>",
    ),
    Shot("What color do you get by mixing blue and yellow?", text="Blue and yellow make green. <<<green>>>"),
    Shot("What is the opposite of cold?", text="The opposite of cold is hot. <<<hot>>>"),
)

_STOP_TEXT = (
    "a an the is are was were of in on to from for and or what which who how many much do does there "
    "these this that it its be by with as at answer yes no"
)
_STOPWORDS = frozenset(_STOP_TEXT.split())
# a sign and the word for it are one operation ("7!" and "7 factorial", "15%" and "15 percent")
_SIGN_NAMES = {"!": "factorial", "%": "percent"}


def _words(text: str) -> set[str]:
    """Content words with a crude stem ("primes" meets "prime", "orderings" meets "orders"), and the signs
    that name an operation on their own: "7!" is a factorial and "15%" a percentage, the same words as
    "7 factorial" and "15 percent"."""
    words = (w for w in re.findall(r"[a-z]+|[!%*+]", text.lower()) if w not in _STOPWORDS)
    return {_SIGN_NAMES.get(w, _stem(w)) for w in words}


def _stem(word: str) -> str:
    for suffix in ("ings", "ing", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _weights(pool: tuple[Shot, ...], words: Callable[[str], set[str]] = _words) -> dict[str, float]:
    """Inverse document frequency over the pool: a word most examples share ("number") says less about
    which example fits than a rare one ("median")."""
    counts: dict[str, int] = {}
    for shot in pool:
        for word in words(shot.question):
            counts[word] = counts.get(word, 0) + 1
    return {word: math.log((1 + len(pool)) / count) for word, count in counts.items()}


_POOL_WEIGHTS = _weights(POOL)


def select(question: str, count: int = SHOTS_PER_PROMPT, pool: tuple[Shot, ...] = POOL) -> list[Shot]:
    """Up to `count` shots closest to `question` (shared words, rare ones weighing more; none that shares
    nothing), at least one code and one text example, closest last. Ties keep pool order, so the choice is the same on every run."""
    weights = _POOL_WEIGHTS if pool is POOL else _weights(pool)
    wanted = _words(question)

    def closeness(i: int) -> float:
        return sum(weights.get(w, 0.0) for w in wanted & _words(pool[i].question))

    score = {i: closeness(i) for i in range(len(pool))}
    # between equally close examples, the one with fewer words of its own is the closer fit ("largest
    # number in ..." before "sort these numbers from smallest to largest")
    extra = {i: len(_words(pool[i].question) - wanted) for i in range(len(pool))}
    ranked = sorted(range(len(pool)), key=lambda i: (-score[i], extra[i], i))
    # only examples that share something with the question: an unrelated one is copied as readily as a
    # related one by a small model ("10 factorial" written as 10 * 10 after "123 * 456")
    chosen = [i for i in ranked[:count] if score[i] > 0]
    for is_code in (True, False):  # both reply formats stay in view, whatever the question
        if not any(pool[i].is_code == is_code for i in chosen):
            other = next(i for i in ranked if pool[i].is_code == is_code)
            chosen = [*chosen[: count - 1], other] if len(chosen) >= count else [*chosen, other]
    return [pool[i] for i in sorted(chosen, key=lambda i: (score[i], -extra[i], -i))]


CHOICE_SHOTS_PER_KIND = 3


def select_for_choice(question: str, per_kind: int = CHOICE_SHOTS_PER_KIND) -> list[Shot]:
    """The coach's first-decision examples: the `per_kind` closest code examples and as many text ones,
    closest last. Both kinds are always shown in equal number, so the decision follows which kind of
    example the question resembles rather than how many of each the pool holds; a question that names a
    number also shares a word with every example that names one (numbers are what programs compute on)."""
    wanted = _choice_words(question)

    def closeness(shot: Shot) -> float:
        shared = wanted & _choice_words(shot.question)
        return sum(_CHOICE_WEIGHTS.get(w, 0.0) for w in shared)

    chosen: list[tuple[float, int, Shot]] = []
    for is_code in (True, False):
        kind = [(closeness(shot), -i, shot) for i, shot in enumerate(POOL) if shot.is_code == is_code]
        chosen += sorted(kind, key=lambda t: (t[0], t[1]), reverse=True)[:per_kind]
    return [shot for _, _, shot in sorted(chosen, key=lambda t: (t[0], t[1]))]


def _choice_words(text: str) -> set[str]:
    return _words(text) | ({"<number>"} if re.search(r"\d", text) else set())


_CHOICE_WEIGHTS = _weights(POOL, _choice_words)
