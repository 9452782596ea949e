"""Discovery documents (RFC 7644 §4; RFC 7643 §5, §6, §7; RFC 9865 §4)."""

from __future__ import annotations

import pytest
import scim2_models

from scimhub.scim import discovery
from scimhub.scim.errors import NotFound
from scimhub.scim.schema import ENTERPRISE_USER_URN, GROUP_URN, USER_URN
from scimhub.settings import Settings

BASE = "https://scim.example.com/scim/v2/acme"
SETTINGS = Settings(
    default_page_size=50, max_page_size=500, bulk_max_operations=20, bulk_max_payload_bytes=4096
)


def test_service_provider_config() -> None:
    doc = discovery.service_provider_config(SETTINGS, BASE + "/")
    assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert doc["patch"] == {"supported": True}
    # RFC 7644 §3.7.4: the limits a client may send.
    assert doc["bulk"] == {"supported": True, "maxOperations": 20, "maxPayloadSize": 4096}
    assert doc["filter"] == {"supported": True, "maxResults": 500}
    assert doc["changePassword"] == {"supported": False}
    assert doc["sort"] == {"supported": True}
    assert doc["etag"] == {"supported": True}
    [scheme] = doc["authenticationSchemes"]
    assert scheme["type"] == "oauthbearertoken" and scheme["primary"] is True
    # RFC 9865 §4; index stays the default (§2.4), no cursorTimeout (cursors do not expire).
    assert doc["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 50,
        "maxPageSize": 500,
    }
    assert doc["meta"] == {
        "resourceType": "ServiceProviderConfig",
        "location": f"{BASE}/ServiceProviderConfig",
    }
    assert "id" not in doc  # RFC 7643 §5: the SPC has no id
    assert "documentationUri" not in doc


def test_service_provider_config_parses_with_scim2_models() -> None:
    doc = discovery.service_provider_config(SETTINGS, BASE, documentation_uri="https://d.example")
    spc = scim2_models.ServiceProviderConfig.model_validate(doc)
    assert spc.documentation_uri == "https://d.example"
    assert spc.bulk is not None and spc.bulk.max_operations == 20
    assert spc.pagination is not None and spc.pagination.cursor is True
    assert spc.pagination.max_page_size == 500
    assert spc.authentication_schemes and spc.authentication_schemes[0].primary is True


def test_resource_types() -> None:
    docs = discovery.resource_types(BASE)
    assert [d["id"] for d in docs] == ["User", "Group"]
    user, group = docs
    assert user["endpoint"] == "/Users" and user["schema"] == USER_URN
    assert user["schemaExtensions"] == [{"schema": ENTERPRISE_USER_URN, "required": False}]
    assert user["meta"]["location"] == f"{BASE}/ResourceTypes/User"
    assert group["endpoint"] == "/Groups" and group["schema"] == GROUP_URN
    for doc in docs:
        parsed = scim2_models.ResourceType.model_validate(doc)
        assert parsed.endpoint == doc["endpoint"]


@pytest.mark.parametrize(("id", "endpoint"), [("User", "/Users"), ("group", "/Groups")])
def test_resource_type_by_id(id: str, endpoint: str) -> None:
    # SailPoint requires /ResourceTypes/User and /ResourceTypes/Group.
    assert discovery.resource_type(id, BASE)["endpoint"] == endpoint


def test_schemas() -> None:
    docs = discovery.schemas(BASE)
    assert [d["id"] for d in docs] == [USER_URN, GROUP_URN, ENTERPRISE_USER_URN]
    for doc in docs:
        assert doc["meta"]["location"] == f"{BASE}/Schemas/{doc['id']}"
        parsed = scim2_models.Schema.model_validate(doc)
        assert parsed.id == doc["id"] and parsed.attributes
    user = docs[0]
    password = next(a for a in user["attributes"] if a["name"] == "password")
    assert (password["returned"], password["mutability"]) == ("never", "writeOnly")


@pytest.mark.parametrize("id", [USER_URN, USER_URN.lower(), ENTERPRISE_USER_URN])
def test_schema_by_id(id: str) -> None:
    # SailPoint requires /Schemas/urn:ietf:params:scim:schemas:core:2.0:User.
    assert discovery.schema(id, BASE)["id"].lower() == id.lower()


def test_unknown_ids_are_not_found() -> None:
    with pytest.raises(NotFound):
        discovery.resource_type("Device", BASE)
    with pytest.raises(NotFound):
        discovery.schema("urn:example:Nope", BASE)
