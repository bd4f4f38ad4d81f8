"""The one door to the environment: the engine reads a variable only through these functions, which refuse a name
the catalog (engine.settings.catalog) does not declare. `environ` replaces the process environment (tests).

`env_value` is the variable as set, else its declared default (a variable set to an empty string stays empty);
`env_given` treats an empty variable as unset. Each caller keeps the semantics its variable always had.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from engine.settings.catalog import BY_NAME, FAMILIES, Setting

TRUE = ("1", "true", "yes", "on")


class UndeclaredSetting(KeyError):
    """Code asked for an environment variable the settings catalog does not declare."""


def declared(name: str) -> Setting:
    """The declaration of `name`: its own, or its family's (`REBOUND_SECRET__CASTORE` -> `REBOUND_SECRET__<BRAND>`)."""
    setting = BY_NAME.get(name)
    if setting is not None:
        return setting
    for prefix, family in FAMILIES.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            return family
    raise UndeclaredSetting(f"{name} is not declared in engine.settings.catalog: declare it there first")


def default_of(name: str) -> str:
    """The declared default of a setting that has one."""
    value = declared(name).default
    if value is None:
        raise ValueError(f"{name} has no default")
    return value


def current(environ: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """`environ`, or the process environment when None."""
    return os.environ if environ is None else environ


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The variable as set (even empty), else its declared default (None when it has none)."""
    setting = declared(name)
    env = current(environ)
    return env[name] if name in env else setting.default


def env_given(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The variable when set to something, else its declared default: an empty variable counts as unset."""
    setting = declared(name)
    return current(environ).get(name) or setting.default


def env_flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """An on/off setting: 1, true, yes or on (any case) is on; unset is its declared default."""
    return (env_value(name, environ) or "").strip().lower() in TRUE


def env_int(name: str, environ: Mapping[str, str] | None = None) -> int:
    """A whole-number setting with a default (as before: a variable set to something else raises ValueError)."""
    value = env_value(name, environ)
    return int(value if value is not None else default_of(name))


def set_members(setting: Setting, environ: Mapping[str, str] | None = None) -> list[str]:
    """The variables of a family that are set (`REBOUND_SECRET__CASTORE`, ...), sorted."""
    assert setting.family is not None
    return sorted(name for name in current(environ) if name.startswith(setting.family) and name != setting.family)
