import factory
from django.contrib.auth import get_user_model

from projects.models import Membership, Project, Version, Workspace


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Membership.Role.OWNER


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    workspace = factory.SubFactory(WorkspaceFactory)
    title = factory.Sequence(lambda n: f"Project {n}")
    default_engine = "local"


class VersionFactory(factory.django.DjangoModelFactory):
    """A version row as the tree shows it; generation goes through services."""

    class Meta:
        model = Version

    project = factory.SubFactory(ProjectFactory)
    number = factory.Sequence(lambda n: n + 1)
    kind = Version.Kind.TEXT_TO_VIDEO
    prompt = "A marble on a chain-reaction track"
    aspect_ratio = "16:9"
    resolution = "480p"
    duration_seconds = 3
    engine = "local"
    status = Version.Status.READY
