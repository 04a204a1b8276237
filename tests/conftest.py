import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STUDIO_PROGRESS_INTERVAL_SECONDS = 0.0


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Estimates are cached for a minute: each test learns its own.
    cache.clear()
    yield
    cache.clear()
