"""Loading agents from `<module-or-file>[:<agent>]` specs, as `hivebus run` takes them.

A file is imported as a module of a private package made for its folder, so agent modules
can import their siblings relatively (`from .contracts import Transaction`) and a folder
named `agents` never clashes with another installed package of that name.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import types
from pathlib import Path

from hivebus.errors import ConfigError
from hivebus.runtime.agent import Agent


def load_agents(spec: str) -> list[Agent]:
    """The agents named by one spec: every `Agent` in the module, or the one after `:`."""
    target, _, attribute = spec.partition(":")
    module = _import(target)
    if attribute:
        agent = getattr(module, attribute, None)
        if not isinstance(agent, Agent):
            raise ConfigError(f"{target} has no agent named {attribute!r}")
        return [agent]
    agents = [value for value in vars(module).values() if isinstance(value, Agent)]
    if not agents:
        raise ConfigError(f"{target} defines no Agent")
    return agents


def _import(target: str) -> types.ModuleType:
    path = Path(target)
    if target.endswith(".py") or path.exists():
        if not path.is_file():
            raise ConfigError(f"agent file {target} does not exist")
        return import_file(path.resolve())
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as error:
        raise ConfigError(f"cannot import agent module {target!r}: {error}") from None


def import_file(path: Path) -> types.ModuleType:
    """Import a file as a module of its folder's private package."""
    folder = path.parent
    package = "hivebus_user_" + hashlib.sha1(str(folder).encode()).hexdigest()[:10]
    if package not in sys.modules:
        module = types.ModuleType(package)
        module.__path__ = [str(folder)]
        sys.modules[package] = module
    return importlib.import_module(f"{package}.{path.stem}")
