import factory

from accounts.models import User

DEFAULT_PASSWORD = "correct-horse-battery-staple-42"


def _save_user(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
    if create:
        obj.save()


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)
    _save = factory.post_generation(_save_user)
