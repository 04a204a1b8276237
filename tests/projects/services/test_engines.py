"""The studio builds engines by name, the Gemini one with options from
settings (the engine itself never reads them)."""

from __future__ import annotations

import pytest

from projects.services.engines import default_engine_name, engine_names, get_engine
from studio.engines.gemini.engine import GeminiEngine
from studio.engines.local.engine import LocalEngine

SETTINGS = {
    "GEMINI_API_KEY": "key-from-settings",
    "GEMINI_MODEL": "gemini-omni-1.1-flash",
    "GEMINI_BASE_URL": "http://127.0.0.1:9/",
    "GEMINI_TIMEOUT_SECONDS": 7.5,
    "STUDIO_ENGINES": {
        "gemini": "studio.engines.gemini.engine.GeminiEngine",
        "local": "studio.engines.local.engine.LocalEngine",
    },
    "STUDIO_DEFAULT_ENGINE": "gemini",
}


@pytest.fixture
def gemini_configured(settings):
    for name, value in SETTINGS.items():
        setattr(settings, name, value)
    get_engine.cache_clear()
    yield
    get_engine.cache_clear()


def test_gemini_is_built_with_the_options_settings_give(gemini_configured) -> None:
    engine = get_engine("gemini")
    assert isinstance(engine, GeminiEngine)
    assert engine.api_key == "key-from-settings"
    assert engine.model == "gemini-omni-1.1-flash"
    assert engine.base_url == "http://127.0.0.1:9"
    assert engine.timeout == 7.5
    assert get_engine("gemini") is engine
    assert isinstance(get_engine("local"), LocalEngine)
    assert (engine_names(), default_engine_name()) == (["gemini", "local"], "gemini")
    with pytest.raises(KeyError):
        get_engine("missing")
