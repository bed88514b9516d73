"""Benign corpus: realistic solution programs must run unchanged under the policy and the jail."""

from __future__ import annotations

import textwrap

import pytest

from csteer.sandbox import Limits, Sandbox

# (id, program, exact expected stdout)
PROGRAMS: list[tuple[str, str, str]] = [
    (
        "game24-itertools",
        """
        from itertools import permutations, product
        nums = [4, 7, 8, 8]
        ops = ['+', '-', '*', '/']
        found = None
        for p in permutations(nums):
            for o in product(ops, repeat=3):
                for expr in (f"(({p[0]}{o[0]}{p[1]}){o[1]}{p[2]}){o[2]}{p[3]}",
                             f"({p[0]}{o[0]}{p[1]}){o[1]}({p[2]}{o[2]}{p[3]})",
                             f"{p[0]}{o[0]}(({p[1]}{o[1]}{p[2]}){o[2]}{p[3]})"):
                    try:
                        if abs(eval(expr) - 24) < 1e-9:
                            found = expr
                            break
                    except ZeroDivisionError:
                        pass
                if found: break
            if found: break
        print(found is not None)
    """,
        "True\n",
    ),
    (
        "main-guard",
        """
        def solve():
            return sum(range(101))
        if __name__ == "__main__":
            print(solve())
    """,
        "5050\n",
    ),
    (
        "dataclass",
        """
        from dataclasses import dataclass, field
        @dataclass(order=True)
        class Item:
            weight: int
            name: str = "box"
            tags: list = field(default_factory=list)
        items = sorted([Item(3, "c"), Item(1, "a"), Item(2, "b")])
        print([i.name for i in items], items[0])
    """,
        "['a', 'b', 'c'] Item(weight=1, name='a', tags=[])\n",
    ),
    (
        "class-counter",
        """
        class Counter:
            def __init__(self):
                self.count = 0
                self._history = []
            def add(self, k):
                self.count += k
                self._history.append(k)
            def __repr__(self):
                return f"Counter({self.count})"
            def __len__(self):
                return len(self._history)
        c = Counter()
        for k in range(5):
            c.add(k)
        print(c, len(c))
    """,
        "Counter(10) 5\n",
    ),
    (
        "inheritance-super",
        """
        class Shape:
            def __init__(self, name):
                self.name = name
            def area(self):
                raise NotImplementedError
        class Rect(Shape):
            def __init__(self, w, h):
                super().__init__("rect")
                self.w, self.h = w, h
            def area(self):
                return self.w * self.h
        r = Rect(3, 4)
        print(r.name, r.area(), type(r).__name__, r.__class__.__name__, isinstance(r, Shape))
    """,
        "rect 12 Rect Rect True\n",
    ),
    (
        "heapq-dijkstra",
        """
        import heapq
        graph = {'A': [('B', 1), ('C', 4)], 'B': [('C', 2), ('D', 5)], 'C': [('D', 1)], 'D': []}
        dist = {n: float('inf') for n in graph}
        dist['A'] = 0
        pq = [(0, 'A')]
        while pq:
            d, u = heapq.heappop(pq)
            if d > dist[u]:
                continue
            for v, w in graph[u]:
                if d + w < dist[v]:
                    dist[v] = d + w
                    heapq.heappush(pq, (dist[v], v))
        print(dist)
    """,
        "{'A': 0, 'B': 1, 'C': 3, 'D': 4}\n",
    ),
    (
        "regex",
        """
        import re
        text = "Order 66 shipped on 2024-05-17; order 7 on 2023-01-02."
        print(re.findall(r"\\d{4}-\\d{2}-\\d{2}", text))
        print(re.sub(r"(?i)order (\\d+)", lambda m: f"#{m.group(1)}", text))
    """,
        "['2024-05-17', '2023-01-02']\n#66 shipped on 2024-05-17; #7 on 2023-01-02.\n",
    ),
    (
        "big-integers",
        """
        import math
        print(2 ** 200)
        print(math.factorial(30), len(str(math.factorial(500))))
        print(pow(3, 10**18, 10**9 + 7))
    """,
        "1606938044258990275541962092341162602522202993782792835301376\n"
        "265252859812191058636308480000000 1135\n"
        f"{pow(3, 10**18, 10**9 + 7)}\n",
    ),
    (
        "recursion-memo",
        """
        import sys
        from functools import lru_cache
        sys.setrecursionlimit(10000)
        @lru_cache(maxsize=None)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        print(fib(300) % 1000000007)
    """,
        f"{__import__('functools').reduce(lambda a, _: (a[1], a[0] + a[1]), range(300), (0, 1))[0] % 1000000007}\n",
    ),
    (
        "global-statement",
        """
        calls = 0
        def tick():
            global calls
            calls += 1
        for _ in range(7):
            tick()
        print(calls)
    """,
        "7\n",
    ),
    (
        "nonlocal-closure",
        """
        def make():
            best = 0
            def offer(x):
                nonlocal best
                best = max(best, x)
                return best
            return offer
        f = make()
        print([f(x) for x in (3, 1, 4, 1, 5)])
    """,
        "[3, 3, 4, 4, 5]\n",
    ),
    (
        "generators",
        """
        def primes():
            n = 2
            while True:
                if all(n % p for p in range(2, int(n ** 0.5) + 1)):
                    yield n
                n += 1
        g = primes()
        print([next(g) for _ in range(10)], sum(x * x for x in range(10)))
    """,
        "[2, 3, 5, 7, 11, 13, 17, 19, 23, 29] 285\n",
    ),
    (
        "comprehensions",
        """
        grid = [[r * 3 + c for c in range(3)] for r in range(3)]
        print({k: v for k, v in zip('abc', grid)}, {x % 4 for x in range(10)})
        print([(i, j) for i in range(3) for j in range(i)])
    """,
        "{'a': [0, 1, 2], 'b': [3, 4, 5], 'c': [6, 7, 8]} {0, 1, 2, 3}\n[(1, 0), (2, 0), (2, 1)]\n",
    ),
    (
        "try-except-finally",
        """
        def parse(s):
            try:
                return int(s)
            except ValueError as e:
                return type(e).__name__
            finally:
                print("checked", s)
        print(parse("12"), parse("x"))
    """,
        "checked 12\nchecked x\n12 ValueError\n",
    ),
    (
        "lambdas-sorting",
        """
        people = [("bob", 25), ("alice", 30), ("carol", 25)]
        print(sorted(people, key=lambda p: (p[1], p[0])))
        print(list(map(lambda x: x ** 2, filter(lambda x: x % 2, range(8)))))
    """,
        "[('bob', 25), ('carol', 25), ('alice', 30)]\n[1, 9, 25, 49]\n",
    ),
    (
        "augassign-items",
        """
        from collections import defaultdict, Counter
        counts = defaultdict(int)
        grid = [[0] * 3 for _ in range(2)]
        for ch in "mississippi":
            counts[ch] += 1
        grid[1][2] += 5
        grid[0][0] -= 1
        print(dict(counts), grid, Counter("banana").most_common(1))
    """,
        "{'m': 1, 'i': 4, 's': 4, 'p': 2} [[-1, 0, 0], [0, 0, 5]] [('a', 3)]\n",
    ),
    (
        "sympy-solve",
        """
        import sympy as sp
        x = sp.symbols('x')
        print(sp.solve(x**2 - 5*x + 6, x), sp.factor(x**3 - 1))
    """,
        "[2, 3] (x - 1)*(x**2 + x + 1)\n",
    ),
    (
        "sympy-sympify-expression",
        """
        from sympy import sympify, simplify
        print(simplify(sympify("(x**2 - 1)/(x - 1)")), sympify("2**10 + 3"))
    """,
        "x + 1 1027\n",
    ),
    (
        "numpy-linear-algebra",
        """
        import numpy as np
        a = np.array([[2.0, 1.0], [1.0, 3.0]])
        b = np.array([3.0, 5.0])
        x = np.linalg.solve(a, b)
        print(np.round(x, 6).tolist(), int(a.sum()), a.shape)
        m = np.zeros((3, 3), dtype=int)
        m[1, :] += 2
        print(m.tolist())
    """,
        "[0.8, 1.4] 7 (2, 2)\n[[0, 0, 0], [2, 2, 2], [0, 0, 0]]\n",
    ),
    (
        "fractions-decimal",
        """
        from fractions import Fraction
        from decimal import Decimal, getcontext
        getcontext().prec = 30
        print(sum(Fraction(1, n) for n in range(1, 6)), Decimal(1) / Decimal(7))
    """,
        "137/60 0.142857142857142857142857142857\n",
    ),
    (
        "stdin-input",
        """
        import sys
        data = sys.stdin.read().split()
        print(sum(map(int, data)))
        print(input.__name__)
    """,
        "10\ninput\n",
    ),
    (
        "bfs-grid",
        """
        from collections import deque
        grid = ["..#.", ".##.", "....", "#..."]
        start, goal = (0, 0), (0, 3)
        q = deque([(start, 0)])
        seen = {start}
        while q:
            (r, c), d = q.popleft()
            if (r, c) == goal:
                print(d)
                break
            for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                nr, nc = r + dr, c + dc
                if 0 <= nr < 4 and 0 <= nc < 4 and grid[nr][nc] == '.' and (nr, nc) not in seen:
                    seen.add((nr, nc))
                    q.append(((nr, nc), d + 1))
    """,
        "7\n",
    ),
    (
        "n-queens-backtracking",
        """
        def solve(n):
            count = 0
            cols, d1, d2 = set(), set(), set()
            def place(r):
                nonlocal count
                if r == n:
                    count += 1
                    return
                for c in range(n):
                    if c in cols or r - c in d1 or r + c in d2:
                        continue
                    cols.add(c); d1.add(r - c); d2.add(r + c)
                    place(r + 1)
                    cols.remove(c); d1.remove(r - c); d2.remove(r + c)
            place(0)
            return count
        print(solve(8))
    """,
        "92\n",
    ),
    (
        "enum-and-typing",
        """
        from enum import Enum
        from typing import List, Optional
        class Color(Enum):
            RED = 1
            GREEN = 2
        def pick(xs: List[int], default: Optional[int] = None) -> Optional[int]:
            return xs[0] if xs else default
        print(Color.GREEN.name, Color(1), pick([]), pick([4]))
    """,
        "GREEN Color.RED None 4\n",
    ),
    (
        "datetime",
        """
        from datetime import date, timedelta
        d = date(2024, 2, 28) + timedelta(days=2)
        print(d.isoformat(), d.strftime("%A"))
    """,
        "2024-03-01 Friday\n",
    ),
    (
        "json-roundtrip",
        """
        import json
        data = {"a": [1, 2, {"b": None}], "c": "d"}
        s = json.dumps(data, sort_keys=True)
        print(s, json.loads(s) == data)
    """,
        '{"a": [1, 2, {"b": null}], "c": "d"} True\n',
    ),
    (
        "string-formatting",
        """
        name, value = "pi", 3.14159265
        print("%s=%.3f" % (name, value), "{}={:.2f}".format(name, value), f"{name!r:>6}|{value:8.4f}|")
        print("{n}-{v}".format(n=1, v=2), "{0[1]}".format([7, 8]))
    """,
        "pi=3.142 pi=3.14   'pi'|  3.1416|\n1-2 8\n",
    ),
    (
        "statistics-random-seeded",
        """
        import random, statistics
        random.seed(42)
        xs = [random.randint(1, 100) for _ in range(5)]
        print(len(xs), statistics.mean([1, 2, 3, 4]), statistics.median([5, 1, 3]))
    """,
        "5 2.5 3\n",
    ),
    (
        "bisect-binary-search",
        """
        import bisect
        xs = [1, 3, 5, 7, 9]
        print(bisect.bisect_left(xs, 6), bisect.bisect_right(xs, 7))
        lo, hi = 0, 10**6
        while lo < hi:
            mid = (lo + hi) // 2
            if mid * mid >= 123456789:
                hi = mid
            else:
                lo = mid + 1
        print(lo)
    """,
        "3 4\n11112\n",
    ),
    (
        "eval-literal-and-arith",
        """
        answer = eval("[1, 2, 3]")
        total = eval("3 * (4 + 5) - 2 ** 3")
        print(answer, total, eval("x + y", {"x": 1, "y": 2}))
    """,
        "[1, 2, 3] 19 3\n",
    ),
    (
        "copy-and-deepcopy",
        """
        import copy
        a = [[1, 2], [3]]
        b = copy.deepcopy(a)
        b[0].append(9)
        print(a, b)
    """,
        "[[1, 2], [3]] [[1, 2, 9], [3]]\n",
    ),
    (
        "exit-code-zero",
        """
        import sys
        print("done")
        sys.exit(0)
    """,
        "done\n",
    ),
    (
        "write-own-workdir-file",
        """
        with open("notes.txt", "w") as fh:
            fh.write("hello")
        with open("notes.txt") as fh:
            print(fh.read())
    """,
        "hello\n",
    ),
    (
        "matrix-transform",
        """
        m = [[1, 2, 3], [4, 5, 6]]
        t = [list(row) for row in zip(*m)]
        rot = [list(r) for r in zip(*m[::-1])]
        print(t, rot)
    """,
        "[[1, 4], [2, 5], [3, 6]] [[4, 1], [5, 2], [6, 3]]\n",
    ),
]

STDIN = {"stdin-input": "1 2 3 4"}


def test_corpus_size() -> None:
    assert len(PROGRAMS) >= 30


@pytest.mark.parametrize(("name", "code", "expected"), PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_benign_program(name: str, code: str, expected: str, sandbox: Sandbox) -> None:
    result = sandbox.run(textwrap.dedent(code), stdin=STDIN.get(name))
    assert (result.status, result.stderr) == ("ok", ""), result.stderr
    assert result.stdout == expected
    assert result.exit_code == 0 and not result.truncated


@pytest.mark.parametrize("name", ["main-guard", "sympy-solve", "numpy-linear-algebra", "class-counter"])
def test_benign_cold_path(name: str) -> None:
    """The fresh-interpreter path (no warm pool) gives the same results."""
    _, code, expected = next(p for p in PROGRAMS if p[0] == name)
    result = Sandbox(Limits(timeout_s=30), pool=False).run(textwrap.dedent(code))
    assert (result.status, result.stdout) == ("ok", expected), result.stderr
