"""factory-boy factories shared by every test package."""

from __future__ import annotations

import factory

from accounts.models import Imprint, Membership, Role, Territory, User

PASSWORD = "correct-horse-battery-staple"


class ImprintFactory(factory.django.DjangoModelFactory[Imprint]):
    class Meta:
        model = Imprint
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Imprint {n}")
    code = factory.Sequence(lambda n: f"imprint-{n}")
    consonance_id = factory.Sequence(lambda n: 1000 + n)


class TerritoryFactory(factory.django.DjangoModelFactory[Territory]):
    class Meta:
        model = Territory
        django_get_or_create = ("code",)

    code = "GB"
    name = "United Kingdom"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    imprint = factory.SubFactory(ImprintFactory)
    role = Role.VIEWER


def member(role: str, imprint: Imprint, email: str | None = None) -> User:
    """A user holding ``role`` in ``imprint``."""
    user = UserFactory(email=email) if email else UserFactory()
    MembershipFactory(user=user, imprint=imprint, role=role)
    return user
