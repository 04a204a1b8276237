from django.urls import path

from projects.live.consumer import ProjectConsumer, SequenceConsumer

websocket_urlpatterns = [
    path("ws/projects/<int:project_id>/", ProjectConsumer.as_asgi()),
    path(
        "ws/projects/<int:project_id>/sequences/<int:sequence_id>/",
        SequenceConsumer.as_asgi(),
    ),
]
