"""scimhub: a self-hosted, multi-tenant SCIM 2.0 service provider."""

__version__ = "0.1.0"
