"""The PATCH engine (RFC 7644 §3.5.2).

- `messages`: the PatchOp message, its operations, `parse_patch`;
- `targets`: a path resolved against a resource type (cached);
- `engine`: `apply_patch`.

`parse_patch` checks the message; `apply_patch` applies its operations to a copy of a
data dict (copying only what changes) and returns the new dict, normalized as
`resource.normalize` would, plus a Group's membership changes.

Decisions where the RFC is silent or real IdPs disagree with it
(/work/shared/idp/behaviour.md §0.3, §0.4):
- `op` and the member names of the message match case-insensitively (Entra "Replace").
- Without `path`, `value` is a map of attributes of the resource (§3.5.2.1, §3.5.2.3);
  its keys may be paths (`name.givenName`, `urn:…:User:employeeNumber`, Entra). Keys that
  are unknown, readOnly (`id`, `meta`, Okta's rename) or `schemas` are ignored, like in
  a POST body; a `path` that names a readOnly attribute is `mutability`, one that names
  no attribute is `invalidPath`, one under an unknown schema URN is ignored.
- `password` (writeOnly) is accepted and discarded; a `schemas` path is a no-op.
- `add` on a single-valued attribute replaces it (§3.5.2.1). `add`/`replace` on a
  complex attribute, the extension, or the elements a filter selects merge the given
  sub-attributes (§3.5.2.3 "Sub-attributes that are not specified … are left
  unchanged"). A `manager.value` change without `$ref` drops the old `$ref`.
- A value that is null, "" or empty: for `replace` the target becomes unassigned
  (RFC 7643 §2.5), for `add` nothing changes.
- `add` to a multi-valued attribute appends the values not already present (§3.5.2.1
  "no changes SHOULD be made" when it already holds the value).
- A value filter that matches nothing, in `add`/`replace`, creates the element it
  describes (its `eq` terms joined by `and`) with the value (Entra; SCIM-SDK#680), so
  later operations on the same filter merge into it; any other filter is `noTarget`.
- A path `attr.sub` on a multi-valued attribute without filter applies to every element.
- `remove` of an unassigned attribute, or with a filter that matches nothing, is a
  no-op success (IdPs remove what is already gone). With a `value` on a multi-valued
  path, only the listed elements are removed (Entra, JumpCloud); an empty list removes
  nothing. A `remove` without path is `noTarget` (§3.5.2.2).
- An operation that unassigns a required attribute is `mutability` (§3.5.2.2), even
  if a later operation would set it again; so is an immutable attribute that had a
  value and differs after the request (§3.5.2).
- Setting `primary` true on an element sets it false on the others (§3.5.2).
- Group `members` are not written to the dict: each operation on them becomes a
  `MemberChange` (add/remove/replace), in order; member elements are immutable, so an
  `add`/`replace` through a filter or a sub-attribute is `mutability`.
"""

from scimhub.scim.patch.engine import apply_patch
from scimhub.scim.patch.messages import (
    PATCH_OP_URN,
    MemberChange,
    Op,
    PatchOperation,
    PatchResult,
    parse_patch,
)

__all__ = [
    "PATCH_OP_URN",
    "MemberChange",
    "Op",
    "PatchOperation",
    "PatchResult",
    "apply_patch",
    "parse_patch",
]
