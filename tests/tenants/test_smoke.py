def test_dashboard_requires_member(tenant_client, tenant, member_of):
    response = tenant_client.get("/")
    assert response.status_code == 302
    owner = member_of(tenant, role="owner")
    tenant_client.force_login(owner)
    response = tenant_client.get("/")
    assert response.status_code == 200
    assert tenant.name.encode() in response.content
