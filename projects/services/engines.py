"""Which engines this studio runs: built from settings, by name.

Engines never read Django settings; they are given their options here.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from studio.engines.base import Capabilities, Engine


@cache
def get_engine(name: str) -> Engine:
    """The configured engine called name; KeyError when there is none."""
    engine_class = import_string(settings.STUDIO_ENGINES[name])
    options = settings.STUDIO_ENGINE_OPTIONS.get(name, {})
    return engine_class(**{option: getattr(settings, key) for option, key in options.items()})


def engines_warm() -> None:
    """Build every configured engine now, so a worker's first generation does
    not wait for an SDK's imports (seconds, for google-genai)."""
    for name in settings.STUDIO_ENGINES:
        get_engine(name)


def engine_names() -> list[str]:
    return list(settings.STUDIO_ENGINES)


def default_engine_name() -> str:
    return settings.STUDIO_DEFAULT_ENGINE


def capabilities_of(name: str) -> Capabilities:
    return get_engine(name).capabilities()
