"""Named shell profiles (``TermMuxApp.profiles``): what ``session.create`` may start besides the
server's own ``shell_command`` (jupyterlab#4034). Pure: parsing and checking only."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

#: The profile that stands for the terminal manager's own shell_command.
DEFAULT = "default"


@dataclass(frozen=True)
class Profile:
    """One way to start a terminal."""

    name: str
    command: list[str] | None  # None: the server's shell_command
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None

    def describe(self) -> dict[str, Any]:
        """As ``profile.list`` shows it."""
        return {"name": self.name, "default": self.command is None}


def parse(raw: list[Any]) -> list[Profile]:
    """Profiles from the trait's value, the default first; ValueError naming what is wrong."""
    profiles = [Profile(DEFAULT, None)]
    for i, item in enumerate(raw):
        where = f"profiles[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be a dict with 'name' and 'command'")  # noqa: TRY004
        unknown = set(item) - {"name", "command", "env", "cwd"}
        if unknown:
            raise ValueError(f"{where} has unknown keys {sorted(unknown)}")
        name, command = item.get("name"), item.get("command")
        if not isinstance(name, str) or not name or len(name) > 128:
            raise ValueError(f"{where}['name'] must be a non-empty string (at most 128)")
        if any(p.name == name for p in profiles):
            raise ValueError(f"{where}['name'] {name!r} is used twice (or is the default)")
        if isinstance(command, str):
            command = shlex.split(command)
        if not command or not all(isinstance(c, str) for c in command):
            raise ValueError(f"{where}['command'] must be a command line or a list of strings")
        env = item.get("env", {})
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise ValueError(f"{where}['env'] must map strings to strings")
        cwd = item.get("cwd")
        if cwd is not None and not isinstance(cwd, str):
            raise ValueError(f"{where}['cwd'] must be a string")
        profiles.append(Profile(name, list(command), dict(env), cwd))
    return profiles
