"""Engines make video. The studio picks one per generation by name."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from studio.engines.base import Engine


@cache
def get_engine(name: str) -> Engine:
    """The configured engine called name; KeyError when there is none."""
    path = settings.STUDIO_ENGINES[name]
    return import_string(path)()


def engine_names() -> list[str]:
    return list(settings.STUDIO_ENGINES)


def default_engine_name() -> str:
    return settings.STUDIO_DEFAULT_ENGINE
