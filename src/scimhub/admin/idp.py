"""What to paste into each IdP's SCIM settings, field by field, labelled as the IdP's
admin console labels them (from each vendor's setup documentation; see
`../shared/idp/behaviour.md` for how each one then talks to scimhub)."""

from __future__ import annotations

from scimhub.admin.models import IdpField, IdpGuide

TOKEN_PLACEHOLDER = "<your SCIM token: shown once, when it is created or regenerated>"


def _token(label: str) -> IdpField:
    return IdpField(label=label, value=TOKEN_PLACEHOLDER, secret=True)


def guides(base_url: str) -> list[IdpGuide]:
    """The six IdPs' settings for a tenant whose SCIM base URL is `base_url`."""
    return [
        IdpGuide(
            id="okta",
            name="Okta",
            where="Applications → your SAML or SWA app integration (App Integration Wizard) "
            "→ General → Provisioning: SCIM; then Provisioning → Settings → Integration → Edit",
            fields=[
                IdpField(label="SCIM connector base URL", value=base_url),
                IdpField(label="Unique identifier field for users", value="userName"),
                IdpField(
                    label="Supported provisioning actions",
                    value="Import New Users and Profile Updates, Push New Users, "
                    "Push Profile Updates, Push Groups",
                ),
                IdpField(label="Authentication Mode", value="HTTP Header"),
                _token("Authorization (Bearer)"),
            ],
            notes=[
                "Select Test Connector Configuration, then Save; enable the To App actions "
                "(Create Users, Update User Attributes, Deactivate Users) under To App.",
            ],
        ),
        IdpGuide(
            id="entra",
            name="Microsoft Entra ID",
            where="Enterprise applications → New application → Create your own application "
            "(non-gallery) → Provisioning → New configuration",
            fields=[
                IdpField(label="Provisioning Mode", value="Automatic"),
                IdpField(label="Tenant URL", value=base_url),
                _token("Secret Token"),
            ],
            notes=[
                "Select Test Connection, then Save and turn Provisioning Status on.",
                f"Optional: {base_url}?aadOptscim062020 as the Tenant URL opts into "
                "Microsoft's RFC-compliant PATCH behaviour; scimhub accepts both forms.",
            ],
        ),
        IdpGuide(
            id="onelogin",
            name="OneLogin",
            where="Applications → Add App → SCIM Provisioner with SAML (SCIM v2 Enterprise) "
            "→ Configuration",
            fields=[
                IdpField(label="SCIM Base URL", value=base_url),
                _token("SCIM Bearer Token"),
                IdpField(
                    label="SCIM JSON Template",
                    value="keep the connector's default SCIM v2 Enterprise template",
                ),
            ],
            notes=[
                "Under API Connection select Enable, then on the Provisioning tab check "
                "Enable provisioning and Save.",
            ],
        ),
        IdpGuide(
            id="jumpcloud",
            name="JumpCloud",
            where="SSO Applications → your custom SAML application → Identity Management",
            fields=[
                IdpField(label="SCIM Version", value="SCIM 2.0"),
                IdpField(label="Base URL", value=base_url),
                _token("Token Key"),
                IdpField(
                    label="Test User Email",
                    value="an email address that is not yet a user of this tenant",
                ),
            ],
            notes=[
                "Test Connection creates and then deletes a real user with the test email "
                "(and a test group); select Activate, then Save.",
                "JumpCloud does not create empty groups: give a group members to push it.",
            ],
        ),
        IdpGuide(
            id="ping",
            name="Ping Identity (PingFederate SCIM Provisioner)",
            where="SP connection → Outbound Provisioning → Configure Channel → Target",
            fields=[
                IdpField(label="SCIM URL", value=base_url),
                IdpField(label="SCIM Version", value="2.0"),
                IdpField(label="Authentication Method", value="OAuth 2 Bearer Token"),
                _token("Access Token"),
                IdpField(label="Unique User Identifier", value="userName"),
            ],
            notes=[
                "PingOne (Integrations → Provisioning → New Connection → SCIM) labels them "
                f"SCIM Base URL ({base_url}), Users Resource (/Users), Authentication Method "
                "(OAuth 2 Bearer Token) and Auth Type Header (Bearer).",
            ],
        ),
        IdpGuide(
            id="sailpoint",
            name="SailPoint Identity Security Cloud",
            where="Admin → Connections → Sources → Create New → SCIM 2.0 → Connection Settings",
            fields=[
                IdpField(label="Base URL", value=base_url),
                IdpField(label="Authentication Type", value="API Token"),
                _token("API Token"),
            ],
            notes=[
                "Leave Non-Compliant Server off: scimhub serves /ServiceProviderConfig, "
                "/ResourceTypes and /Schemas, which the connector requires.",
            ],
        ),
    ]
