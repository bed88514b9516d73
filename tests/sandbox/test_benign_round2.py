"""Benign corpus, round 2 (issue 15): the kinds of code solutions use, exactly as plain Python runs them.

Each program must print exactly its expected output under the policy (warm), and the expected output is
checked against plain `python3` too, so the corpus itself cannot drift from Python's behaviour.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from csteer.sandbox import Limits, Sandbox

# (id, program, exact expected stdout)
PROGRAMS: list[tuple[str, str, str]] = [
    (
        "game24-fraction-eval-in-function",
        """
        from fractions import Fraction
        from itertools import permutations, product

        def value(expr):
            return eval(expr.replace("/", "*Fraction(1,1)/"))

        def solve(nums):
            for a, b, c, d in permutations(nums):
                for o1, o2, o3 in product("+-*/", repeat=3):
                    for expr in (f"(({a}{o1}{b}){o2}{c}){o3}{d}", f"({a}{o1}{b}){o2}({c}{o3}{d})",
                                 f"{a}{o1}({b}{o2}({c}{o3}{d}))", f"({a}{o1}({b}{o2}{c})){o3}{d}"):
                        try:
                            if value(expr) == 24:
                                return expr
                        except ZeroDivisionError:
                            pass
            return None

        e = solve([3, 3, 8, 8])
        print(e, value(e))
    """,
        "8/(3-(8/3)) 24\n",
    ),
    (
        "eval-sees-locals-and-closures",
        """
        scale = 10
        def outer():
            k = 3
            def inner(x):
                m = k  # a local (and k a free variable): both visible to eval, as in Python
                return eval("x * k + scale + m - m")
            return [inner(i) for i in range(3)]
        print(outer())
        print(eval("a + b", {"a": 1}, {"b": 2}), eval("len(s)", {"s": "abc"}))
        print(eval("sum(range(n))", {"__builtins__": {"sum": sum, "range": range}}, {"n": 5}))
    """,
        "[10, 13, 16]\n3 3\n10\n",
    ),
    (
        "exec-built-functions",
        """
        ns = {}
        src = "\\n".join(["def f(x):", "    return x ** 2 + 1"])
        exec(src, ns)
        print(ns["f"](4))
        exec("y = 40 + 2")
        print(y)
        def g():
            scope = {}
            exec("z = [i * i for i in range(4)]", None, scope)
            return scope["z"]
        print(g())
    """,
        "17\n42\n[0, 1, 4, 9]\n",
    ),
    (
        "eval-syntax-error-is-catchable",
        """
        bad = 0
        for expr in ["1+", "2*3", "(4", "5-1"]:
            try:
                print(eval(expr))
            except SyntaxError:
                bad += 1
        print("bad", bad)
    """,
        "6\n4\nbad 2\n",
    ),
    (
        "decimal-precision",
        """
        from decimal import Decimal, getcontext, ROUND_HALF_UP
        getcontext().prec = 30
        print(Decimal(1) / Decimal(7))
        print(Decimal("2.675").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    """,
        "0.142857142857142857142857142857\n2.68\n",
    ),
    (
        "itertools-heavy-search",
        """
        from itertools import combinations, permutations, accumulate, chain, groupby
        best = max(combinations(range(1, 13), 4), key=lambda c: (sum(c) % 7, c))
        perms = sum(1 for p in permutations(range(7)) if all(abs(a - b) != 1 for a, b in zip(p, p[1:])))
        runs = [(k, len(list(g))) for k, g in groupby("aaabccdddd")]
        print(best, perms, list(accumulate([1, 2, 3, 4])), runs, list(chain([1], (2, 3))))
    """,
        "(8, 10, 11, 12) 646 [1, 3, 6, 10] [('a', 3), ('b', 1), ('c', 2), ('d', 4)] [1, 2, 3]\n",
    ),
    (
        "deep-recursion-with-setrecursionlimit",
        """
        import sys
        sys.setrecursionlimit(20000)
        def depth(n):
            return 0 if n == 0 else 1 + depth(n - 1)
        print(depth(8000))
    """,
        "8000\n",
    ),
    (
        "dataclass-frozen-and-ordering",
        """
        from dataclasses import dataclass, field, replace, asdict
        @dataclass(frozen=True, order=True)
        class State:
            cost: int
            path: tuple = field(default=(), compare=False)
        s = State(3, ("a",))
        t = replace(s, cost=1)
        print(sorted([s, t])[0], asdict(t), s == State(3, ("b",)))
    """,
        "State(cost=1, path=('a',)) {'cost': 1, 'path': ('a',)} True\n",
    ),
    (
        "regex-parse",
        """
        import re
        text = "move A->B (3), move B->C (12); skip; move C->A (7)"
        moves = [(m["src"], m["dst"], int(m["n"])) for m in re.finditer(r"(?P<src>\\w)->(?P<dst>\\w) \\((?P<n>\\d+)\\)", text)]
        print(moves, re.sub(r"\\d+", lambda m: str(int(m[0]) * 2), "a1b22"), re.split(r"[;,]\\s*", text)[1])
    """,
        "[('A', 'B', 3), ('B', 'C', 12), ('C', 'A', 7)] a2b44 move B->C (12)\n",
    ),
    (
        "datetime-arithmetic",
        """
        from datetime import date, datetime, timedelta
        d = date(2024, 2, 28) + timedelta(days=2)
        t = datetime(2024, 1, 1, 23, 30) + timedelta(minutes=45)
        print(d.isoformat(), d.strftime("%A"), t.strftime("%Y-%m-%d %H:%M"), (date(2025, 1, 1) - date(2024, 1, 1)).days)
    """,
        "2024-03-01 Friday 2024-01-02 00:15 366\n",
    ),
    (
        "collections-mix",
        """
        from collections import Counter, defaultdict, deque, OrderedDict, namedtuple
        P = namedtuple("P", "x y")
        c = Counter("mississippi")
        g = defaultdict(list)
        for a, b in [(1, 2), (1, 3), (2, 3)]:
            g[a].append(b)
        q = deque([1, 2, 3], maxlen=3)
        q.append(4)
        od = OrderedDict(a=1, b=2)
        od.move_to_end("a")
        print(c.most_common(2), dict(g), list(q), list(od), P(1, 2)._replace(y=5))
    """,
        "[('i', 4), ('s', 4)] {1: [2, 3], 2: [3]} [2, 3, 4] ['b', 'a'] P(x=1, y=5)\n",
    ),
    (
        "heapq-dijkstra",
        """
        import heapq
        graph = {"A": {"B": 4, "C": 1}, "C": {"B": 2, "D": 7}, "B": {"D": 1}, "D": {}}
        dist, heap = {"A": 0}, [(0, "A")]
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist.get(u, 1e9):
                continue
            for v, w in graph[u].items():
                if d + w < dist.get(v, 1e9):
                    dist[v] = d + w
                    heapq.heappush(heap, (d + w, v))
        print(sorted(dist.items()), heapq.nsmallest(2, [5, 1, 4, 2]))
    """,
        "[('A', 0), ('B', 3), ('C', 1), ('D', 4)] [1, 2]\n",
    ),
    (
        "lru-cache-dp",
        """
        from functools import lru_cache, reduce, partial
        @lru_cache(maxsize=None)
        def ways(n, k):
            if n == 0:
                return 1
            return sum(ways(n - i, i) for i in range(1, min(n, k) + 1))
        print(ways(100, 100), ways.cache_info().hits > 0, reduce(lambda a, b: a * b, range(1, 11)), partial(pow, 2)(10))
    """,
        "190569292 True 3628800 1024\n",
    ),
    (
        "big-output-just-under-the-cap",
        """
        line = "0123456789" * 9 + "abcdefghi"
        for _ in range(630):
            print(line)
    """,
        ("0123456789" * 9 + "abcdefghi\n") * 630,
    ),
    (
        "sympy-and-fractions-together",
        """
        import sympy as sp
        from fractions import Fraction
        x = sp.symbols("x")
        roots = sp.solve(sp.Eq(x**2 - 5*x + 6, 0), x)
        print(roots, sum(Fraction(1, r) for r in roots), sp.nsimplify(0.125))
    """,
        "[2, 3] 5/6 1/8\n",
    ),
    (
        "json-roundtrip-and-sorting",
        """
        import json
        data = json.loads('{"b": [3, 1, 2], "a": {"x": null, "y": true}}')
        data["b"].sort(reverse=True)
        print(json.dumps(data, sort_keys=True), json.dumps([1.5, "é"], ensure_ascii=False))
    """,
        '{"a": {"x": null, "y": true}, "b": [3, 2, 1]} [1.5, "é"]\n',
    ),
    (
        "class-with-dunder-protocols",
        """
        class Vec:
            def __init__(self, *xs):
                self.xs = xs
            def __add__(self, o):
                return Vec(*(a + b for a, b in zip(self.xs, o.xs)))
            def __mul__(self, k):
                return Vec(*(a * k for a in self.xs))
            def __iter__(self):
                return iter(self.xs)
            def __eq__(self, o):
                return self.xs == o.xs
            def __hash__(self):
                return hash(self.xs)
            def __repr__(self):
                return f"Vec{self.xs}"
        v = Vec(1, 2) + Vec(3, 4) * 2
        print(v, list(v), len({v, Vec(7, 10)}), "{:>6}".format(str(v.xs[0])))
    """,
        "Vec(7, 10) [7, 10] 1      7\n",
    ),
    (
        "random-seeded-reproducible",
        """
        import random
        rng = random.Random(42)
        print([rng.randint(1, 6) for _ in range(5)], rng.choice("abc"))
    """,
        "[6, 1, 1, 6, 3] a\n",
    ),
]


def test_corpus_size() -> None:
    assert len(PROGRAMS) >= 15
    assert len({name for name, _, _ in PROGRAMS}) == len(PROGRAMS)


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return Sandbox(Limits(timeout_s=30, cpu_s=30, memory_mb=512))


@pytest.mark.parametrize(("name", "code", "expected"), PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_benign_program(name: str, code: str, expected: str, box: Sandbox) -> None:
    result = box.run(textwrap.dedent(code))
    assert (result.status, result.stderr) == ("ok", ""), result.stderr
    assert result.stdout == expected
    assert result.exit_code == 0 and not result.truncated


@pytest.mark.parametrize(("name", "code", "expected"), PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_expected_output_is_plain_pythons(name: str, code: str, expected: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected


def test_big_output_is_under_the_default_cap() -> None:
    expected = next(p[2] for p in PROGRAMS if p[0] == "big-output-just-under-the-cap")
    assert 0.95 * Limits().output_bytes < len(expected.encode()) < Limits().output_bytes
