"""Engines make video. The studio picks one per generation by name.

The engines themselves never import Django; this registry configures them
from settings.
"""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from studio.engines.base import Engine


def _options(engine_name: str) -> dict[str, object]:
    """The keyword options an engine is built with, from settings."""
    if engine_name == "gemini":
        return {
            "api_key": settings.GEMINI_API_KEY,
            "model": settings.GEMINI_MODEL,
            "base_url": settings.GEMINI_BASE_URL,
            "timeout": settings.GEMINI_TIMEOUT_SECONDS,
        }
    return {}


@cache
def get_engine(name: str) -> Engine:
    """The configured engine called name; KeyError when there is none."""
    engine_class = import_string(settings.STUDIO_ENGINES[name])
    return engine_class(**_options(engine_class.name))


def engine_names() -> list[str]:
    return list(settings.STUDIO_ENGINES)


def default_engine_name() -> str:
    return settings.STUDIO_DEFAULT_ENGINE
