"""The kind of answer a question's wording asks for, and the answers that cannot be of it."""

from __future__ import annotations

import pytest

from csteer.runtime.answer_kind import asked_kind, fits, mismatch


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many days are in a week?", "quantity"),
        ("how much is 20% of 150?", "quantity"),
        ("What day of the week was January 1, 2000?", "weekday"),
        ("On which weekday did December 25, 2010 fall?", "weekday"),
        ("Is 91 a prime number? Answer yes or no.", "yes/no"),
        ("How many primes are below 10? Answer yes or no.", "yes/no"),  # the stated format wins
        ("What is 3 * 41?", None),
        ("Which planet is known as the Red Planet?", None),
        ("What is the date 10 days after March 1, 2024?", None),  # a date is the answer here
    ],
)
def test_the_kind_is_read_from_the_question(question: str, kind: str | None) -> None:
    assert asked_kind(question) == kind


def test_a_quantity_is_a_number_in_digits_or_words_and_not_a_date() -> None:
    for answer in ("7", "45.5", "seven", "Count: 3, Positions: [1, 4, 9]", "a dozen", "1,234"):
        assert fits(answer, "quantity"), answer
    for answer in ("2026-12-07", "2024-03-01 10:30:00", "Monday", "red", ""):
        assert not fits(answer, "quantity"), answer


def test_weekday_and_yes_no() -> None:
    assert fits("Saturday", "weekday") and fits("It was a Saturday.", "weekday")
    assert not fits("2000-01-01", "weekday") and not fits("6", "weekday")
    assert fits("yes", "yes/no") and fits("No.", "yes/no") and not fits("91", "yes/no")
    with pytest.raises(ValueError):
        fits("x", "colour")


def test_mismatch_names_what_was_asked() -> None:
    assert mismatch("7", "How many days are in a week?") is None
    assert mismatch("Mars", "Which planet is red?") is None  # no kind stated: anything goes
    why = mismatch("Monday", "How many days are there from March 1, 2024 to April 15, 2024?")
    assert why == "answers 'Monday', not a number as the question asks"
    assert mismatch("1990-01-01", "What day of the week was January 1, 2000?") is not None
