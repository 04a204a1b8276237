import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
# Django must be set up before the consumers import models.
django_asgi_app = get_asgi_application()
# Media files are read a chunk at a time in a worker thread; Django warns
# about that on every response, which is noise for files of a few megabytes.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous")

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from projects.live.origins import SameOriginValidator  # noqa: E402
from projects.live.routing import websocket_urlpatterns  # noqa: E402
from studio.request_limits import RequestBodyLimit  # noqa: E402

# Load the channel layer's backend (Redis's client, on Redis) now, not while
# the first page after a start waits for its socket.
get_channel_layer()

application = ProtocolTypeRouter(
    {
        "http": RequestBodyLimit(django_asgi_app),
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
