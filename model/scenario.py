"""Scenario files: a base scenario plus overrides of registry parameters (TOML, in ``scenarios/``).

A file holds ``description``, ``base`` (the scenario it overrides; only ``baseline`` has none), a
``[params]`` table and, optionally, an array ``[[timeline]]`` of dated lever changes (:mod:`.timeline`; a file's
entries must lie inside its own run and are added to its base's; a shorter run stops before later entries).
Bases are looked up beside the file first, then among the built-in scenarios.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import timeline
from .params import ConfigError, Params, defaults, did_you_mean

TOP_LEVEL_KEYS = ("description", "base", "params", "timeline")
MAX_FILE_BYTES = 1 << 20
"""Largest scenario or experiment file read (1 MiB; the built-in ones are under 4 KiB)."""
MAX_DEPTH = 32
"""Deepest nesting of tables and arrays accepted in such a file (the formats need 3)."""


@dataclass(frozen=True)
class Scenario:
    """A resolved scenario: its own overrides, the chain of bases, and the complete parameters."""

    name: str
    description: str
    path: str
    params: Params
    overrides: dict[str, Any] = field(default_factory=dict)
    chain: tuple[str, ...] = ()


def builtin_dir() -> Path:
    """Folder of the built-in scenario files."""
    return Path(str(resources.files("jjjsim.scenarios")))


def builtin_names() -> list[str]:
    """Names of the built-in scenarios."""
    return sorted(p.stem for p in builtin_dir().glob("*.toml"))


def locate(ref: str | Path, what: str, builtin: Path, near: Path | None = None) -> Path:
    """A TOML file from a path (``*.toml`` or with a folder; relative to ``near``, the folder of the file naming
    it, if there) or a name (looked up beside ``near`` first, then in ``builtin``); an unknown name is a
    ConfigError listing the built-in ones."""
    p = Path(ref)
    if p.suffix == ".toml" or len(p.parts) > 1:
        beside = near / p if near is not None and not p.is_absolute() else None
        return beside if beside is not None and beside.exists() else p
    for folder in ([near] if near else []) + [builtin]:
        cand = folder / f"{ref}.toml"
        if cand.exists():
            return cand
    names = sorted(x.stem for x in builtin.glob("*.toml"))
    article = "an" if what[0] in "aeiou" else "a"
    raise ConfigError(
        what,
        str(ref),
        f"{article} {what} name ({', '.join(names)}) or a .toml file",
        str(ref),
        did_you_mean(str(ref), names),
    )


def read_toml(path: Path, what: str = "scenario") -> dict[str, Any]:
    """A TOML file's contents; a missing, unreadable, oversized, too deeply nested or invalid file is a
    ConfigError naming it. Only regular files are read (not devices, pipes or folders), at most
    :data:`MAX_FILE_BYTES`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO would block an ordinary open
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ConfigError(str(path), "(file)", f"a regular {what} file", "not a regular file")
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", f"an existing {what} file", "no such file") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "(file)", f"a regular {what} file", "a folder") from None
    except OSError as err:
        raise ConfigError(str(path), "(file)", f"a readable {what} file", err.strerror or type(err).__name__) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(str(path), "(file)", f"a {what} file of at most {MAX_FILE_BYTES >> 20} MiB", "a larger file")
    depth = _max_depth(raw)
    if depth > MAX_DEPTH:
        raise ConfigError(str(path), "(file)", f"tables and arrays nested at most {MAX_DEPTH} deep", f"{depth} deep")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ConfigError(str(path), "(file)", "a UTF-8 text file", f"byte {err.start} is not UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(path), "(file)", "valid TOML", str(err)) from None
    except RecursionError:
        raise ConfigError(str(path), "(file)", f"tables and arrays nested at most {MAX_DEPTH} deep", "deeper") from None


def _max_depth(raw: bytes) -> int:
    """An upper bound on the nesting of brackets and braces in TOML text (strings and comments included, so it
    can over-count but never under-count)."""
    depth = top = 0
    for b in raw.translate(None, bytes(set(range(256)) - set(b"[]{}"))):
        depth += 1 if b in b"[{" else -1
        top = max(top, depth)
    return top


def read_file(path: Path) -> dict[str, Any]:
    """Read and check one scenario file's structure (not yet its parameter values)."""
    data = read_toml(path)
    if not data:
        raise ConfigError(
            str(path), "(file)", "a scenario: description, base and [params] (at least one)", "an empty file"
        )
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(
                str(path), key, f"one of {', '.join(TOP_LEVEL_KEYS)}", key, did_you_mean(key, TOP_LEVEL_KEYS)
            )
    if not isinstance(data.get("params", {}), dict):
        raise ConfigError(str(path), "params", "a table of parameter overrides", data["params"])
    if timeline.NAME in data.get("params", {}):
        raise ConfigError(
            str(path), "params.timeline", "dated changes as [[timeline]] entries at the top level", "a [params] key"
        )
    if not isinstance(data.get("timeline", []), list):
        raise ConfigError(str(path), "timeline", "an array of tables [[timeline]], each a dated lever change",
                          data["timeline"])  # fmt: skip
    if "base" in data and not isinstance(data["base"], str):
        raise ConfigError(str(path), "base", "the name of a scenario", data["base"])
    if not isinstance(data.get("description", ""), str):
        raise ConfigError(str(path), "description", "a paragraph of text", data["description"])
    return data


def load_scenario(ref: str | Path) -> Scenario:
    """Resolve a scenario by name or path, following its bases, into complete parameters."""
    path = locate(ref, "scenario", builtin_dir())
    files: list[tuple[Path, dict[str, Any]]] = []
    seen: list[Path] = []
    while True:
        real = path.resolve()
        if real in seen:
            raise ConfigError(str(files[-1][0]), "base", "a scenario that does not extend itself", files[-1][1]["base"])
        seen.append(real)
        data = read_file(path)
        files.append((path, data))
        if "base" not in data:
            break
        try:
            path = locate(data["base"], "scenario", builtin_dir(), near=path.parent)
        except ConfigError as err:
            raise ConfigError(str(path), "base", err.expected, data["base"], err.hint) from None
    params = defaults()
    for p, data in reversed(files):
        params = params.replace(data.get("params", {}), where=str(p))
        if "timeline" in data:  # added to the base's entries; this file's dates inside this file's run
            entries = timeline.extend(params.values[timeline.NAME], data["timeline"], str(p), params.values)
            params = params.replace({timeline.NAME: entries}, where=str(p))
    own_path, own = files[0]
    return Scenario(
        name=own_path.stem,
        description=" ".join(own.get("description", "").split()),
        path=str(own_path),
        params=params,
        overrides=own.get("params", {}),
        chain=tuple(p.stem for p, _ in files),
    )


def list_scenarios() -> list[Scenario]:
    """All built-in scenarios, resolved."""
    return [load_scenario(n) for n in builtin_names()]
