"""The provisioning lifecycle a SaaS app promises (docs/lifecycle.md): account states,
per-tenant delete / retention / linking policies, groups as roles, the access check.

No HTTP here: every function takes the request's `Connection`. `hooks.LifecycleHooks`
is what `resources/service.py` calls around SCIM writes."""
