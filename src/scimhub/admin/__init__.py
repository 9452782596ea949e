"""The admin API: JSON under `/admin/v1/`, OpenAPI at `/admin/openapi.json`, Swagger UI
at `/admin/docs`. See `scimhub.admin.app`."""

from scimhub.admin.app import admin_mount, create_admin_app

__all__ = ["admin_mount", "create_admin_app"]
