"""Run-time half of the policy: the builtins and hooks policy-compiled code executes with.

Catches what a static check cannot see: attribute names built at run time (``getattr(x, "__" + ...)``),
hops from an allowed module to a forbidden one (``typing.sys``, ``random._os``), format strings that walk
attributes, and ``eval`` of strings. A violation raises ``PolicyViolation`` (a BaseException, so a bare
``except Exception`` in the program does not swallow it) and is also recorded, so the run reports
``policy`` even if the program catches it anyway.
"""

from __future__ import annotations

import _string
import builtins
import operator
import os
import string
import sys
import types
from collections.abc import Iterable
from typing import Any

from csteer.sandbox import policy

_MISSING = object()


class PolicyViolation(BaseException):
    """Raised inside the sandboxed program when it breaks a policy rule at run time."""


class Recorder:
    """The first run-time violation: kept here and sent at once on the job's violation channel.

    The channel (`channel`, a datagram socket whose other end the caller reads) is append-only from the
    program's point of view: a record that left the process cannot be taken back, so a program that
    catches the PolicyViolation and then resets `first` (by walking frames to this class) still ends with
    status `policy`; the caller keeps the first record it received."""

    first: str | None = None
    channel: Any = None  # socket.socket of the violation channel, in a job

    @classmethod
    def violation(cls, message: str) -> PolicyViolation:
        if cls.first is None:
            cls.first = message
        report(cls.channel, {"violation": message})
        return PolicyViolation(message)


def report(channel: Any, record: dict[str, Any]) -> None:
    """Send one record on the violation channel (SOCK_SEQPACKET: one record per message, in order).

    It blocks while the channel is full (the caller reads it as the job runs), up to the socket's
    timeout, so a program that floods the channel first cannot make the real record be dropped."""
    if channel is None:
        return
    import json

    try:
        channel.send(json.dumps(record).encode()[:8192])
    except OSError:
        pass  # the caller is gone


def _check_attr_name(name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError("attribute name must be a string")
    if name in policy.INSPECT_ATTRIBUTES or name in policy.EXTRA_FORBIDDEN_ATTRS:
        raise Recorder.violation(f'"{name}" reaches interpreter frames/code (rule: inspect-attribute).')
    if (
        name.startswith("__")
        and name not in policy.ALLOWED_DUNDER_ATTRS
        and name not in policy.ALLOWED_SPECIAL_METHODS
    ):
        raise Recorder.violation(
            f'"{name}" is a dunder attribute outside the allowlist (rule: dunder-attribute).'
        )


class _SafeFormatter(string.Formatter):
    """str.format without attribute walks into private names (``"{0.__class__.__init__...}"``)."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        first, rest = _string.formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attr, key in rest:
            if is_attr:
                if key.startswith("_") or key in _INSPECT:
                    raise Recorder.violation(f'format field ".{key}" is private (rule: format-attribute).')
                obj = getattr(obj, key)
            else:
                obj = obj[key]
        return obj, first


_FORMATTER = _SafeFormatter()
_INSPECT = policy.INSPECT_ATTRIBUTES | policy.EXTRA_FORBIDDEN_ATTRS  # gi_frame, f_back, tb_frame, ...


class Runtime:
    """Builds the globals for one program under one import allowlist."""

    def __init__(self, allowed_imports: Iterable[str] | None = None) -> None:
        self.allowed = frozenset(
            allowed_imports if allowed_imports is not None else policy.DEFAULT_ALLOWED_IMPORTS
        )
        self.safe_sys = self._make_safe_sys()

    # -- hooks ------------------------------------------------------------------------------------
    def getattr_hook(self, obj: Any, name: str, default: Any = _MISSING) -> Any:
        if name[:1] == "_" or name in _INSPECT:
            _check_attr_name(name)
            if isinstance(obj, types.ModuleType):
                raise Recorder.violation(f'private module attribute "{name}" (rule: module-private).')
        value = getattr(obj, name) if default is _MISSING else getattr(obj, name, default)
        if isinstance(value, types.ModuleType):
            return self._check_module(value)
        if type(obj) is str and name in ("format", "format_map"):
            if name == "format":
                return lambda *a, **k: _FORMATTER.vformat(obj, a, k)
            return lambda mapping: _FORMATTER.vformat(obj, (), mapping)
        if obj is str and name in ("format", "format_map"):  # unbound: str.format("{0.__class__}", x)
            if name == "format":
                return lambda fmt, *a, **k: _FORMATTER.vformat(str(fmt), a, k)
            return lambda fmt, mapping: _FORMATTER.vformat(str(fmt), (), mapping)
        return value

    def _check_module(self, module: types.ModuleType) -> Any:
        root = module.__name__.split(".")[0]
        if root == "sys":
            return self.safe_sys
        if root not in self.allowed:
            raise Recorder.violation(
                f'module "{module.__name__}" is not in the import allowlist (rule: import-allowlist).'
            )
        return module

    def import_hook(
        self, name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
    ) -> Any:
        if level != 0:
            raise Recorder.violation("relative imports are not allowed (rule: import-allowlist).")
        root = name.split(".")[0]
        if root not in self.allowed:
            raise Recorder.violation(f'import of "{name}" is not allowed (rule: import-allowlist).')
        if root == "sys":
            return self.safe_sys
        module = builtins.__import__(name, globals, locals, fromlist, 0)
        for item in fromlist or ():
            if item.startswith("_"):
                raise Recorder.violation(f'import of private name "{item}" (rule: module-private).')
            value = getattr(module, item, None)
            if isinstance(value, types.ModuleType):
                self._check_module(value)
        return module

    def _make_safe_sys(self) -> types.ModuleType:
        safe = types.ModuleType("sys", "Curated view of sys for sandboxed programs.")
        for name in [
            "argv",
            "byteorder",
            "exit",
            "float_info",
            "getrecursionlimit",
            "getsizeof",
            "hexversion",
            "int_info",
            "maxsize",
            "maxunicode",
            "platform",
            "setrecursionlimit",
            "version",
            "version_info",
            "get_int_max_str_digits",
            "set_int_max_str_digits",
            "float_repr_style",
        ]:
            if hasattr(sys, name):
                setattr(safe, name, getattr(sys, name))
        # Streams are looked up when used: the child rebinds sys.stdout after forking.
        for stream in ("stdin", "stdout", "stderr"):
            setattr(safe, stream, getattr(sys, stream))
        return safe

    def refresh_streams(self) -> None:
        for stream in ("stdin", "stdout", "stderr"):
            setattr(self.safe_sys, stream, getattr(sys, stream))

    # -- guarded builtins ------------------------------------------------------------------------
    def builtins(self) -> dict[str, Any]:
        denied = {"compile", "breakpoint", "help", "copyright", "credits", "license"}
        table = {k: v for k, v in vars(builtins).items() if not k.startswith("_") and k not in denied}
        table["__build_class__"] = builtins.__build_class__
        table["__import__"] = self.import_hook
        table["getattr"] = self.getattr_hook

        def guarded_setattr(obj: Any, name: str, value: Any) -> None:
            _check_attr_name(name)
            if isinstance(obj, (types.ModuleType, type)) and name.startswith("_"):
                raise Recorder.violation(f'setting private attribute "{name}" (rule: module-private).')
            setattr(obj, name, value)

        def guarded_delattr(obj: Any, name: str) -> None:
            _check_attr_name(name)
            delattr(obj, name)

        def guarded_hasattr(obj: Any, name: str) -> bool:
            try:
                self.getattr_hook(obj, name)
            except AttributeError:
                return False
            return True

        def guarded_vars(*args: Any) -> Any:
            if args and isinstance(args[0], (types.ModuleType, type)):
                raise Recorder.violation("vars() of a module or class (rule: dunder-attribute).")
            return vars(*args)

        def guarded_eval(source: Any, globals_: Any = None, locals_: Any = None) -> Any:
            if isinstance(source, str):
                source = source.lstrip(" \t")  # as Python's eval does
            code = self._compile_string(source, "eval")
            scope, local_scope = self._scopes(globals_, locals_)
            with self._builtins_for(scope, table):
                return eval(code, scope, local_scope)

        def guarded_exec(source: Any, globals_: Any = None, locals_: Any = None) -> None:
            code = self._compile_string(source, "exec")
            scope, local_scope = self._scopes(globals_, locals_)
            with self._builtins_for(scope, table):
                exec(code, scope, local_scope)

        def guarded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            # Relative paths inside the working directory only (the jail enforces this for real).
            if not isinstance(file, (str, bytes, os.PathLike)):
                raise Recorder.violation("open() of a file descriptor (rule: open-path).")
            path = os.path.realpath(os.fsdecode(file))
            cwd = os.path.realpath(os.getcwd())
            if path != cwd and not path.startswith(cwd + os.sep):
                raise Recorder.violation(
                    f"open() outside the working directory: {os.fsdecode(file)!r} (rule: open-path)."
                )
            return open(file, mode, *args, **kwargs)

        def guarded_exit(code: Any = None) -> None:
            raise SystemExit(code)

        table.update(
            setattr=guarded_setattr,
            delattr=guarded_delattr,
            hasattr=guarded_hasattr,
            vars=guarded_vars,
            eval=guarded_eval,
            exec=guarded_exec,
            open=guarded_open,
            exit=guarded_exit,
            quit=guarded_exit,
        )
        # The hooks policy-compiled code calls, also as builtins: code that eval/exec run with globals of
        # the program's own making (no hooks in them) still finds them.
        table.update(self._hooks())
        return table

    def _hooks(self) -> dict[str, Any]:
        return {"_getattr_": self.getattr_hook, "_getitem_": operator.getitem}

    def _compile_string(self, source: Any, mode: str) -> Any:
        """Compile an eval/exec argument under the policy (bad syntax raises SyntaxError, like Python)."""
        if isinstance(source, (bytes, bytearray)):
            source = bytes(source).decode("utf-8")
        if not isinstance(source, str):
            raise Recorder.violation(f"{mode}() of a code object (rule: no-exec).")
        try:
            return policy.compile_expression(source, self.allowed, mode=mode)
        except policy.PolicyError as err:
            raise Recorder.violation(f"{mode}() of code the policy rejects: {err}") from None

    def _scopes(self, globals_: Any, locals_: Any) -> tuple[dict[str, Any], Any]:
        """The globals and locals Python's own eval/exec would use: the calling frame's when not given."""
        if globals_ is None:
            frame = sys._getframe(2)  # 0: here, 1: guarded_eval/exec, 2: the program's frame
            globals_ = frame.f_globals
            if locals_ is None:
                locals_ = frame.f_locals
            del frame
        elif locals_ is None:
            locals_ = globals_
        if not isinstance(globals_, dict):
            raise TypeError("globals must be a dict")
        hooks = self._hooks()
        for mapping in (globals_, locals_):
            for name in policy.RUNTIME_HOOKS:
                try:
                    value = mapping[name]
                except Exception:  # noqa: BLE001 - KeyError, or whatever a mapping of the program's raises
                    continue
                if name not in hooks or value != hooks[name]:
                    raise Recorder.violation(f'eval/exec with its own "{name}" (rule: reserved-name).')
        return globals_, locals_

    class _builtins_for:
        """Run eval/exec with the guarded builtins whatever `__builtins__` the given globals hold.

        Python puts its own builtins into globals that lack them; here that is the guarded table. Globals
        with builtins of the program's own making (`{"__builtins__": {}}`) keep them, plus the hooks, for
        the duration of the call."""

        def __init__(self, scope: dict[str, Any], table: dict[str, Any]) -> None:
            self.scope, self.table = scope, table
            self.saved: Any = _MISSING

        def __enter__(self) -> None:
            current = self.scope.get("__builtins__", _MISSING)
            if current is _MISSING:
                self.scope["__builtins__"] = self.table
            elif current is not self.table:
                self.saved = current
                if isinstance(current, dict):
                    merged = dict(current)
                elif isinstance(current, types.ModuleType):
                    merged = dict(vars(current))
                else:
                    merged = {}
                merged.update({k: self.table[k] for k in policy.RUNTIME_HOOKS if k in self.table})
                self.scope["__builtins__"] = merged

        def __exit__(self, *exc: object) -> None:
            if self.saved is not _MISSING:
                self.scope["__builtins__"] = self.saved

    def _namespace_base(self) -> dict[str, Any]:
        return {"__name__": "__main__", "_getattr_": self.getattr_hook, "_getitem_": operator.getitem}

    def namespace(self) -> dict[str, Any]:
        """Fresh globals for one program run under the policy."""
        ns = self._namespace_base()
        ns["__builtins__"] = self.builtins()
        return ns
