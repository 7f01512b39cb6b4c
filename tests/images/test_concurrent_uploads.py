"""Two first uploads of the same person's avatar at once (a double click) both succeed, in turn."""

from __future__ import annotations

import io
import threading

import pytest
from django.db import connection

from accounts.models import User
from images.checks import image_check
from images.models import Avatar
from images.services import avatar_set
from tests.images.conftest import image_bytes


@pytest.mark.django_db(transaction=True)
def test_two_first_uploads_at_once_leave_one_avatar():
    user = User.objects.create_user("double@example.com", "a-long-password-for-tests-91")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def upload(color: str) -> None:
        content = image_bytes(color=color)
        try:
            barrier.wait(timeout=10)
            avatar_set(user=user, image=image_check(file=io.BytesIO(content), size=len(content)))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(color,)) for color in ("red", "blue")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert Avatar.objects.filter(user=user).count() == 1
