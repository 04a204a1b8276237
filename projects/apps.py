from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from projects.services import session_ended

        def close_sockets(sender, request, user, **kwargs) -> None:
            if user is not None:
                session_ended(user_id=user.pk)

        user_logged_out.connect(close_sockets, dispatch_uid="projects.close_sockets")
