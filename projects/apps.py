from django.apps import AppConfig


def close_sockets_on_logout(sender, request, user, **kwargs) -> None:
    """A user who signs out is disconnected from every open page at once."""
    from projects.services.broadcast import session_ended

    if user is not None:
        session_ended(user_id=user.pk)


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        # A module-level receiver: a nested function connected weakly would
        # be garbage-collected, and sign-out would close nothing.
        user_logged_out.connect(close_sockets_on_logout, dispatch_uid="projects.close_sockets")
