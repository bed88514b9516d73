"""Policy layer: a RestrictedPython transformer tuned for ordinary solution code.

The policy is a *filter*, not the security boundary (that is the process jail in ``jail.py``). Its job is to
reject obvious escape attempts early with a clear ``policy`` status and a message naming the rule, while
admitting the code a task model normally writes (classes, dataclasses, the main guard, f-strings,
comprehensions, generators, ``global``/``nonlocal``, augmented assignment on attributes and items, lambdas,
``print``, ``eval``/``exec`` of built strings with Python's own scoping).

Compilation is bounded (source size, AST nodes, nesting depth) and total: any text gives code, a
SyntaxError or a PolicyError naming the rule, never RecursionError or a crash.

Compared with RestrictedPython's stock policy we keep: no dunder/inspection attributes, no ``compile``
(``eval``/``exec`` take strings only, compiled under this same policy at run time), no async, no
``try/except*``, no ``metaclass=``, every attribute *load* routed through ``_getattr_`` (checked at run
time by ``guards.py``). We drop the parts that only make sense with Zope security proxies (guarded
iteration, unpacking, item access and writes), which cost speed and reject normal code.
"""

from __future__ import annotations

import ast
import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass

from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer

# Top-level modules solution code may import (configurable per Sandbox).
DEFAULT_ALLOWED_IMPORTS: frozenset[str] = frozenset(
    {
        "__future__",
        "abc",
        "array",
        "base64",
        "binascii",
        "bisect",
        "calendar",
        "cmath",
        "collections",
        "contextlib",
        "copy",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "fractions",
        "functools",
        "hashlib",
        "heapq",
        "itertools",
        "json",
        "math",
        "numbers",
        "numpy",
        "operator",
        "pprint",
        "queue",
        "random",
        "re",
        "statistics",
        "string",
        "struct",
        "sympy",
        "sys",  # replaced by a curated proxy at run time (guards.SafeSys)
        "textwrap",
        "time",
        "typing",
        "unicodedata",
        "zlib",
    }
)

# Dunder attributes a program may read: naming and class identity, nothing that reaches frames/globals.
ALLOWED_DUNDER_ATTRS: frozenset[str] = frozenset(
    {"__name__", "__qualname__", "__doc__", "__class__", "__init__"}
)

# Dunder names a program may read as plain names.
ALLOWED_DUNDER_NAMES: frozenset[str] = frozenset({"__name__"})

# Special methods a class may define (the data model, minus hooks that change attribute lookup,
# pickling, subclass creation or finalisation).
_BINARY_OPS = [
    "add",
    "sub",
    "mul",
    "matmul",
    "truediv",
    "floordiv",
    "mod",
    "divmod",
    "pow",
    "lshift",
    "rshift",
    "and",
    "xor",
    "or",
]
ALLOWED_SPECIAL_METHODS: frozenset[str] = frozenset(
    {f"__{op}__" for op in _BINARY_OPS}
    | {f"__r{op}__" for op in _BINARY_OPS}
    | {f"__i{op}__" for op in _BINARY_OPS}
    | {
        f"__{name}__"
        for name in [
            "init",
            "new",
            "post_init",
            "repr",
            "str",
            "format",
            "bytes",
            "hash",
            "bool",
            "len",
            "length_hint",
            "iter",
            "next",
            "reversed",
            "contains",
            "getitem",
            "setitem",
            "delitem",
            "missing",
            "call",
            "enter",
            "exit",
            "eq",
            "ne",
            "lt",
            "le",
            "gt",
            "ge",
            "neg",
            "pos",
            "abs",
            "invert",
            "round",
            "trunc",
            "floor",
            "ceil",
            "int",
            "float",
            "complex",
            "index",
            "copy",
            "deepcopy",
        ]
    }
)

# Names the runtime injects; a program must not rebind or call them directly.
RUNTIME_HOOKS = frozenset({"_getattr_", "_getitem_", "_getiter_", "_write_", "_apply_", "_print_", "_print"})

EXTRA_FORBIDDEN_ATTRS: frozenset[str] = frozenset(
    {"f_trace_lines", "f_trace_opcodes", "tb_lasti", "cr_suspended"}
)


@dataclass(frozen=True)
class PolicyReport:
    ok: bool
    errors: tuple[str, ...]

    def message(self) -> str:
        return "\n".join(self.errors)


class PolicyError(Exception):
    """Code rejected by the policy (compile time or run time). The message names the rule."""


class SolutionPolicy(RestrictingNodeTransformer):
    """RestrictedPython policy for model-written solution programs."""

    # -- names -----------------------------------------------------------------------------------
    def check_name(self, node: ast.AST, name: str | None, allow_magic_methods: bool = False) -> None:
        if name is None:
            return
        if name in RUNTIME_HOOKS:
            self.error(node, f'"{name}" is reserved for the sandbox runtime (rule: reserved-name).')
        elif name.startswith("__") and name.endswith("__") and len(name) > 4:
            if allow_magic_methods and name in ALLOWED_SPECIAL_METHODS:
                return
            if name in ALLOWED_DUNDER_NAMES and not allow_magic_methods:
                return
            self.error(node, f'"{name}" is a dunder name outside the allowlist (rule: dunder-name).')
        elif name.startswith("__"):
            # Name mangling would turn it into something we did not check.
            self.error(node, f'"{name}" starts with "__" (rule: mangled-name).')
        elif name in ("breakpoint",):
            self.error(node, f'"{name}" is not available in the sandbox (rule: reserved-name).')

    def visit_Name(self, node: ast.Name) -> ast.AST:
        # Keep `print` and `printed` as ordinary names: output goes straight to stdout.
        if isinstance(node.ctx, ast.Store) and node.id in ALLOWED_DUNDER_NAMES:
            self.error(node, f'assigning "{node.id}" is not allowed (rule: dunder-name).')
        self.check_name(node, node.id)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.check_name(node, node.name, allow_magic_methods=True)
        self.check_function_argument_names(node)
        return self.node_contents_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.check_name(node, node.name)
        if any(keyword.arg == "metaclass" for keyword in node.keywords):
            self.error(node, 'the "metaclass" keyword is not allowed (rule: metaclass).')
        return self.node_contents_visit(node)

    def visit_Module(self, node: ast.Module) -> ast.AST:
        return self.node_contents_visit(node)

    # -- attributes ------------------------------------------------------------------------------
    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        attr = node.attr
        if attr in INSPECT_ATTRIBUTES or attr in EXTRA_FORBIDDEN_ATTRS:
            self.error(node, f'"{attr}" reaches interpreter frames/code (rule: inspect-attribute).')
        elif attr.startswith("__") and attr.endswith("__"):
            if attr not in ALLOWED_DUNDER_ATTRS and attr not in ALLOWED_SPECIAL_METHODS:
                self.error(
                    node, f'"{attr}" is a dunder attribute outside the allowlist (rule: dunder-attribute).'
                )
        elif attr.startswith("__"):
            self.error(node, f'"{attr}" starts with "__" (rule: mangled-name).')
        if isinstance(node.ctx, ast.Load):
            node = self.node_contents_visit(node)
            call = ast.Call(
                func=ast.Name("_getattr_", ast.Load()), args=[node.value, ast.Constant(attr)], keywords=[]
            )
            for new in (call, call.func, call.args[1]):
                ast.copy_location(new, node)
            return call
        # Stores and deletes: the name was checked; no write proxy needed without Zope security.
        return self.node_contents_visit(node)

    # -- things the stock policy guards for Zope proxies; plain Python here ----------------------
    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        return self.node_contents_visit(node)

    def guard_iter(self, node: ast.AST) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_With(self, node: ast.With) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        # exec/eval are the guarded versions (strings compiled under this policy, Python's scoping);
        # compile() would hand out code objects that skip the policy.
        if isinstance(node.func, ast.Name) and node.func.id == "compile":
            self.error(node, f"{node.func.id}() is not allowed (rule: no-exec).")
        return self.node_contents_visit(node)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> ast.AST:
        for name in node.names:
            self.check_name(node, name)
        return node

    # -- imports ---------------------------------------------------------------------------------
    def check_import_names(self, node: ast.ImportFrom | ast.Import) -> ast.AST:
        allowed = self.allowed_imports
        if isinstance(node, ast.ImportFrom):
            if node.level:
                self.error(node, "relative imports are not allowed (rule: import-allowlist).")
            modules = [node.module or ""]
        else:
            modules = [alias.name for alias in node.names]
        for module in modules:
            if module.split(".")[0] not in allowed:
                self.error(node, f'import of "{module}" is not allowed (rule: import-allowlist).')
        return super().check_import_names(node)

    allowed_imports: frozenset[str] = DEFAULT_ALLOWED_IMPORTS


def policy_class(allowed_imports: Iterable[str] | None) -> type[SolutionPolicy]:
    """A SolutionPolicy subclass bound to one import allowlist (RestrictedPython takes a class)."""
    if allowed_imports is None:
        return SolutionPolicy
    return type("BoundSolutionPolicy", (SolutionPolicy,), {"allowed_imports": frozenset(allowed_imports)})


# Bounds on what the policy compiles (rule: complexity). Python's parser and compiler, and the policy's
# own recursive transformer, recurse once per nesting level: without a bound a deeply nested expression
# (a 100,000-term sum, a chain of unary minuses) ends in RecursionError or a C stack overflow. The limits
# sit far above ordinary solution code (nesting depth ~20-40) and below where the compiler is at risk.
MAX_SOURCE_CHARS = 4_000_000
MAX_AST_NODES = 1_000_000
MAX_AST_DEPTH = 400
_RECURSION_FOR_DEPTH = 4 * MAX_AST_DEPTH + 200  # frames the transformer needs at MAX_AST_DEPTH


def _one_line(text: object, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _measure(tree: ast.AST) -> tuple[int, int]:
    """(nodes, depth) of an AST, iteratively (a recursive walk would fail on the trees this guards)."""
    nodes, deepest = 0, 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_AST_DEPTH:
                break
        if nodes > MAX_AST_NODES:
            break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return nodes, deepest


def parse_bounded(code: str, filename: str, mode: str) -> ast.AST:
    """Parse under the size and nesting bounds. SyntaxError for bad syntax; PolicyError when too complex."""
    if not isinstance(code, str):
        raise PolicyError(f"the program must be text, not {type(code).__name__} (rule: no-exec).")
    if len(code) > MAX_SOURCE_CHARS:
        raise PolicyError(
            f"the program has {len(code)} characters, more than {MAX_SOURCE_CHARS} (rule: complexity)."
        )
    try:
        tree = compile(code, filename, mode, ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError:
        raise
    except (RecursionError, MemoryError) as err:
        raise PolicyError(
            f"the program is nested too deeply to parse ({type(err).__name__}) (rule: complexity)."
        ) from None
    except (ValueError, UnicodeError) as err:  # null bytes, lone surrogates
        raise PolicyError(f"the program text cannot be compiled: {_one_line(err)} (rule: syntax).") from None
    nodes, depth = _measure(tree)
    if depth > MAX_AST_DEPTH:
        raise PolicyError(f"the program is nested more than {MAX_AST_DEPTH} levels deep (rule: complexity).")
    if nodes > MAX_AST_NODES:
        raise PolicyError(f"the program has more than {MAX_AST_NODES} syntax nodes (rule: complexity).")
    return tree


def _syntax_message(err: SyntaxError) -> str:
    where = f"Line {err.lineno}: " if err.lineno else ""
    return f"{where}SyntaxError: {_one_line(err.msg)} (rule: syntax)."


def compile_policy(
    code: str, filename: str, mode: str, allowed_imports: Iterable[str] | None
) -> types.CodeType:
    """Parse (bounded), transform under the policy, compile. SyntaxError passes through; PolicyError else.

    Never raises anything else: whatever the text, the result is code, a SyntaxError or a PolicyError."""
    tree = parse_bounded(code, filename, mode)
    errors: list[str] = []
    old_limit = sys.getrecursionlimit()
    try:
        if old_limit < _RECURSION_FOR_DEPTH:
            sys.setrecursionlimit(_RECURSION_FOR_DEPTH)
        try:
            tree = policy_class(allowed_imports)(errors, [], {}).visit(tree)
            if errors:
                raise PolicyError("\n".join(errors))
            return compile(tree, filename, mode, dont_inherit=True)
        except (RecursionError, MemoryError) as err:
            raise PolicyError(
                f"the program is too complex to compile ({type(err).__name__}) (rule: complexity)."
            ) from None
        except SyntaxError:
            raise  # e.g. `return` outside a function, found by the compiler
        except PolicyError:
            raise
        except Exception as err:  # anything else the transformer or compiler throws: still a status
            raise PolicyError(
                f"the program cannot be compiled: {type(err).__name__}: {_one_line(err)} (rule: syntax)."
            ) from None
    finally:
        if sys.getrecursionlimit() != old_limit:
            sys.setrecursionlimit(old_limit)


def compile_solution(
    code: str, filename: str = "main.py", allowed_imports: Iterable[str] | None = None
) -> types.CodeType:
    """Compile `code` under the policy; raise PolicyError (message lists every violated rule).

    Bounded (size, AST nodes, nesting depth) and total: any text gives code or a PolicyError."""
    try:
        return compile_policy(code, filename, "exec", allowed_imports)
    except SyntaxError as err:
        raise PolicyError(_syntax_message(err)) from None


def compile_expression(
    expr: str, allowed_imports: Iterable[str] | None = None, mode: str = "eval", filename: str = "<string>"
) -> types.CodeType:
    """Compile an ``eval``/``exec`` string under the same policy (used by the sandboxed ``eval``/``exec``).

    Bad syntax raises SyntaxError, as Python's own eval would; policy breaks raise PolicyError."""
    return compile_policy(expr, filename, mode, allowed_imports)


def check(code: str, allowed_imports: Iterable[str] | None = None) -> PolicyReport:
    """Run the policy over `code` without keeping the bytecode."""
    try:
        compile_solution(code, allowed_imports=allowed_imports)
    except PolicyError as err:
        return PolicyReport(False, tuple(str(err).splitlines()))
    return PolicyReport(True, ())
