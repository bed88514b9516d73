from csteer.runtime.checkers import TRIVIAL_NOTE, interpret_check_output, symbolic_check


def test_words_containing_keywords_are_not_code() -> None:
    # the reference counted "information" as a `for` and "modify" as an `if`
    report = symbolic_check('information = "modify the format"\nprint(information)')
    assert report.searching == []
    assert report.score < 1


def test_from_itertools_import_is_search() -> None:
    report = symbolic_check("from itertools import permutations\nprint(len(list(permutations(range(4)))))")
    assert any("itertools" in item for item in report.searching)
    assert not report.trivial


def test_hard_coded_answer_flagged() -> None:
    report = symbolic_check("print('<<<4413562343>>>')")
    assert report.hard_coded and report.trivial
    assert TRIVIAL_NOTE in report.summary()


def test_computed_answer_not_hard_coded() -> None:
    report = symbolic_check("print(48271 * 91433)")
    assert not report.hard_coded
    assert "NUMERICAL" in report.summary()


def test_search_program_scores_high() -> None:
    code = (
        "import sympy\n"
        "def solve(n):\n    return 1 if n < 2 else n * solve(n - 1)\n"
        "for a in range(10):\n    if sympy.isprime(a):\n        print([b for b in range(a)])\n"
    )
    report = symbolic_check(code)
    assert report.score > 4
    assert any("Recursive" in s for s in report.searching)
    assert report.symbolic


def test_syntax_error_reported_not_raised() -> None:
    report = symbolic_check("def broken(:\n")
    assert report.error and "Invalid Python code" in report.summary()
    assert not report.trivial


def test_check_output_interpretation() -> None:
    assert interpret_check_output("Correct\n", "", "ok") == ("Correct", True)
    # a warning on stderr is not a failure (the reference failed on any stderr)
    assert interpret_check_output("Correct", "DeprecationWarning: x", "ok") == ("Correct", True)
    verdict, ok = interpret_check_output("Wrong: 7 is not even", "", "ok")
    assert ok is False and "7 is not even" in verdict
    verdict, ok = interpret_check_output("", "Traceback...\nNameError: x", "error")
    assert ok is None and "NameError" in verdict


def test_recomputed_value_counts_as_agreement() -> None:
    verdict, ok = interpret_check_output("4413562343\n", "", "ok", answer="4413562343")
    assert ok is True and "recomputed" in verdict
    # a different value is a disagreement, reported as the reason
    verdict, ok = interpret_check_output("4413562344\n", "", "ok", answer="4413562343")
    assert ok is False and "4413562344" in verdict
