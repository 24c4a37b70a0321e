"""Name -> plug-in lookup, one registry per axis (devices, techniques, workloads).

A plug-in is any object with a `name` attribute in kebab-case (`cpu`, `int8-dynamic`, `digits-cnn`). The same name
appears in test ids, `-k` filters, result columns and plot legends. Third-party packages add plug-ins through an
entry-point group (for devices, `accelbench.devices`) without editing the project.
"""

from __future__ import annotations

import re
import warnings
from importlib.metadata import entry_points
from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")
NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:[-.+][a-z0-9]+)*$")  # "+" joins composed techniques


class Unavailable(RuntimeError):
    """This machine cannot run a plug-in (no GPU, an optional package missing...); the message is the reason the
    cases that need it are skipped with. Each axis subclasses it (DeviceUnavailable, WorkloadUnavailable)."""


class UnknownNameError(LookupError):
    """Raised for a name no plug-in is registered under; the message lists the valid names."""


class PluginLoadWarning(UserWarning):
    """A third-party entry point could not be loaded; the rest of the registry still works."""


class ProfileLoadWarning(PluginLoadWarning):
    """A simulated device's profile was refused; the message names the file, the field and what is expected.
    Defined here, not in `devices`, so that pytest can resolve the warning filter without loading the profiles."""


class Registry(Generic[T]):
    """Plug-ins of one kind, by name. Entry points of `group` are loaded on first lookup. A plug-in that lacks a
    member of the axis' `protocol` (or of the protocol `protocol(plugin)` picks for it) is refused, naming what
    it lacks."""

    def __init__(self, kind: str, group: str | None = None, protocol: type | Callable[[T], type] | None = None) -> None:
        self.kind = kind
        self.group = group
        self.protocol = protocol
        self._plugins: dict[str, T] = {}
        self._entry_points_loaded = group is None

    def add(self, plugin: T) -> T:
        name = getattr(plugin, "name", None)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValueError(
                f"{self.kind} {plugin!r} has name {name!r}; a name is lower-case kebab-case, e.g. 'int8-dynamic'"
            )
        protocol = self.protocol if isinstance(self.protocol, type) or self.protocol is None else self.protocol(plugin)
        missing = [m for m in protocol_members(protocol) if not hasattr(plugin, m)] if protocol else []
        if missing:
            raise ValueError(
                f"{self.kind} {name!r} ({type(plugin).__name__}) lacks {', '.join(missing)} of the "
                f"{protocol.__name__} protocol; subclass {protocol.__module__}.{protocol.__name__} "
                "to inherit the optional members' defaults"
            )
        if name in self._plugins:
            raise ValueError(f"{self.kind} name {name!r} is already registered by {self._plugins[name]!r}")
        self._plugins[name] = plugin
        return plugin

    def names(self) -> list[str]:
        self._load_entry_points()
        return list(self._plugins)

    def get(self, name: str) -> T:
        self._load_entry_points()
        try:
            return self._plugins[name]
        except KeyError:
            valid = ", ".join(self._plugins) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid {self.kind} names: {valid}") from None

    def __iter__(self) -> Iterator[T]:
        self._load_entry_points()
        return iter(list(self._plugins.values()))

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.group):
            try:
                obj = ep.load()  # a plug-in instance, or a class / factory that makes one with no arguments
                self.add(obj() if isinstance(obj, type) or not hasattr(obj, "name") else obj)
            except Exception as exc:  # a broken third-party plug-in must not take the others down
                warnings.warn(
                    f"{self.kind} entry point {ep.name!r} ({ep.value}) in group {self.group!r} was not loaded: "
                    f"{type(exc).__name__}: {exc}",
                    PluginLoadWarning,
                    stacklevel=2,
                )


def protocol_members(protocol: type) -> list[str]:
    """The attributes and methods a Protocol (and the Protocols it extends) declares, public ones only."""
    names: list[str] = []
    for klass in reversed(protocol.__mro__):
        if klass is object or not getattr(klass, "_is_protocol", False) or klass.__name__ in ("Protocol", "Generic"):
            continue
        for member in [*getattr(klass, "__annotations__", {}), *vars(klass)]:
            if not member.startswith("_") and member not in names:
                names.append(member)
    return names
