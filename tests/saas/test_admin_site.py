import pytest
from django.conf import settings

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_names_the_product_and_lists_its_models_before_dj_stripe(public_client):
    public_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = public_client.get("/admin/").content.decode()
    assert f"{settings.SAAS_SITE_NAME} administration" in page
    positions = [
        page.index(f'class="app-{label} module')
        for label in ("tenants", "accounts", "invitations", "billing", "saas")
    ]
    assert positions == sorted(positions)
    assert positions[-1] < page.index('class="app-djstripe module')
