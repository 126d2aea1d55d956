"""The Mothership's TOML configuration: the tuning guide's sections, keys and defaults."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

from aura_exporter.contract.knobs import KNOBS, unknown_knobs


class ConfigError(Exception):
    pass


def load(path: str | None = None, overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Defaults, then the TOML file, then ``overrides`` (used by scenarios' fixes)."""
    config = copy.deepcopy(KNOBS)
    layers = []
    if path:
        try:
            with open(path, "rb") as handle:
                layers.append(tomllib.load(handle))
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    if overrides:
        layers.append(overrides)
    for layer in layers:
        unknown = unknown_knobs(layer)
        if unknown:
            raise ConfigError(f"unknown Mothership setting(s): {', '.join(unknown)}")
        for section, values in layer.items():
            for key, value in values.items():
                expected = type(KNOBS[section][key])
                if expected is float and isinstance(value, int):
                    value = float(value)
                if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                    raise ConfigError(f"{section}.{key} must be {expected.__name__}, got {value!r}")
                config[section][key] = value
    if config["database"]["pool_size"] < 1 or config["sync"]["max_in_flight"] < 1 or config["sync"]["batch_size"] < 1:
        raise ConfigError("pool_size, max_in_flight and batch_size must be at least 1")
    return config
