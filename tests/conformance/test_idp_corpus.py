"""The Okta and Entra request corpus (`data/corpus-okta-entra.jsonl`, behaviour.md §9)
replayed in order against a live scimhub, one sequence per IdP, with each change read
back and checked (behaviour.md §0-§2; RFC 7644 §3.3-§3.6, §3.12).

Capture rules (worked out from the corpus, see `Replay.fill` and `Replay.capture`):

1. Generated values: `{randomEmail}`, `{randomUsername}`, `{randomGivenName}`,
   `{randomFamilyName}`, `{RANDOMUSERNAMECAPS}` (the upper-cased username), `{randomGuid}`
   and `{newPassword}` are made once per sequence (Okta's spec-test initial script).
2. `{existingUserId}`: the first user a list response returns (Okta's `ISVUserid`).
3. A 201 from `POST /Users` (`/Groups`) binds the new id to `{userId}` (`{groupId}`)
   when that slot is free or was bound in an earlier *phase*, otherwise to the next
   numbered slot (`{userId2}`, `{userId3}`, ...). The phase is the step name's prefix
   before `:` ("spec-test", "create", "group push"); steps without one share a phase.
   So Okta's "create: POST user" rebinds `{userId}` after the spec test's user, its
   second create is `{userId2}`, and Entra's three creates are `{userId}`..`{userId3}`.
4. A 204 from a DELETE ends the resource. A slot whose resource was deleted names the
   earliest-created resource of the same type that is still alive (Entra hard-deletes
   `{userId}`, then adds `{userId}` to a group: a live user, not a 404).

After each line: the status is in `expect.status`; every response is
`application/scim+json` (an error one a SCIM Error with `status` a string), carries no
traceback and never `password`; a 200/201 resource has `ETag` == `meta.version` and
equals what a GET returns next. Then the step's own check (`CHECKS`, one function per
step, derived from `expect.notes` where they state an outcome) reads the resource back.
Some checks send extra requests (a setup PATCH or a follow-up query); they are marked
`extra` in the report."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conformance_support import (
    DATA_DIR,
    ENTERPRISE_URN,
    GROUP_URN,
    LIST_URN,
    USER_URN,
    Exchange,
    LiveServer,
    ScimClient,
    encode_wire_path,
    error_body_problems,
    patch_body,
    response_problems,
)

CORPUS_FILE = DATA_DIR / "corpus-okta-entra.jsonl"
SHARED_COPY = Path(__file__).resolve().parents[3] / "shared" / "idp" / CORPUS_FILE.name
KNOWN_SCHEMAS = {USER_URN, GROUP_URN, ENTERPRISE_URN}


@dataclass(frozen=True)
class Line:
    index: int
    idp: str
    step: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    statuses: tuple[int, ...]
    notes: str
    source: str
    reconstructed: bool

    @property
    def phase(self) -> str:
        return self.step.split(":", 1)[0] if ":" in self.step else ""

    @property
    def label(self) -> str:
        return f"#{self.index} {self.idp} {self.step!r}"


def load_corpus() -> list[Line]:
    lines = []
    for index, raw in enumerate(CORPUS_FILE.read_text().splitlines()):
        if not raw.strip():
            continue
        d = json.loads(raw)
        status = d["expect"]["status"]
        lines.append(
            Line(
                index=index,
                idp=d["idp"],
                step=d["step"],
                method=d["method"],
                path=d["path"],
                headers=dict(d.get("headers") or {}),
                body=d.get("body"),
                statuses=tuple(status) if isinstance(status, list) else (int(status),),
                notes=d["expect"].get("notes", ""),
                source=d.get("source", ""),
                reconstructed=bool(d.get("reconstructed", False)),
            )
        )
    return lines


# -- the replay state -----------------------------------------------------------------------------


class StepFailed(AssertionError):
    pass


@dataclass
class Created:
    kind: str  # "user" | "group"
    id: str
    phase: str
    alive: bool = True


@dataclass
class Replay:
    idp: str
    client: ScimClient
    generated: dict[str, str]
    slots: dict[str, str] = field(default_factory=dict)
    created: list[Created] = field(default_factory=list)
    slot_phase: dict[str, str] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)
    extra: list[Exchange] = field(default_factory=list)
    memo: dict[str, Any] = field(default_factory=dict)

    # -- placeholders -----------------------------------------------------------------------

    def resolve_slot(self, name: str) -> str | None:
        if name in self.generated:
            return self.generated[name]
        bound = self.slots.get(name)
        if bound is None:
            return None
        record = next((c for c in self.created if c.id == bound), None)
        if record is None or record.alive:
            return bound
        # Rule 4: a deleted resource's slot names the earliest live one of its type.
        alive = [c for c in self.created if c.kind == record.kind and c.alive]
        return alive[0].id if alive else None

    def fill(self, text: str) -> str:
        out, pos = [], 0
        while True:
            start = text.find("{", pos)
            if start < 0:
                out.append(text[pos:])
                return "".join(out)
            end = text.find("}", start)
            name = text[start + 1 : end] if end > start else ""
            if end < 0 or not name.isidentifier():
                out.append(text[pos : start + 1])
                pos = start + 1
                continue
            value = self.resolve_slot(name)
            if value is None:
                raise StepFailed(f"placeholder {{{name}}} is not bound (an earlier step failed)")
            out.append(text[pos:start])
            out.append(value)
            pos = end + 1

    def fill_json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.fill(value)
        if isinstance(value, list):
            return [self.fill_json(v) for v in value]
        if isinstance(value, dict):
            return {self.fill(k): self.fill_json(v) for k, v in value.items()}
        return value

    def slot(self, name: str) -> str:
        value = self.resolve_slot(name)
        assert value is not None, f"{{{name}}} is not bound"
        return value

    # -- captures ---------------------------------------------------------------------------

    def capture(self, line: Line, ex: Exchange) -> None:
        body = ex.json
        if (
            "existingUserId" not in self.slots
            and ex.status == 200
            and isinstance(body, dict)
            and LIST_URN in (body.get("schemas") or [])
            and body.get("Resources")
            and line.path.startswith("/Users")
        ):
            self.slots["existingUserId"] = body["Resources"][0]["id"]
        if line.method == "POST" and ex.status == 201 and isinstance(body, dict) and body.get("id"):
            kind = "user" if line.path.startswith("/Users") else "group"
            base = f"{kind}Id"
            name = base
            if base in self.slots and self.slot_phase.get(base) == line.phase:
                n = 2
                while (
                    f"{base}{n}" in self.slots and self.slot_phase.get(f"{base}{n}") == line.phase
                ):
                    n += 1
                name = f"{base}{n}"
            self.slots[name] = body["id"]
            self.slot_phase[name] = line.phase
            self.created.append(Created(kind, body["id"], line.phase))
        if line.method == "DELETE" and ex.status == 204:
            gone = ex.url.rstrip("/").rsplit("/", 1)[-1]
            for c in self.created:
                if c.id == gone:
                    c.alive = False

    # -- reading back -----------------------------------------------------------------------

    def send_extra(self, method: str, path: str, body: Any = None) -> Exchange:
        ex = self.client.request(method, path, json_body=body)
        self.extra.append(ex)
        problems = response_problems(ex)
        assert not problems, "extra request: " + "; ".join(problems) + "\n" + ex.describe()
        return ex

    def get(self, kind: str, id: str, query: str = "") -> dict[str, Any]:
        ex = self.send_extra("GET", f"/{'Users' if kind == 'user' else 'Groups'}/{id}{query}")
        assert ex.status == 200, f"read back {kind} {id}: {ex.status}\n{ex.describe()}"
        return ex.json  # type: ignore[no-any-return]

    def user(self, slot: str = "userId") -> dict[str, Any]:
        return self.get("user", self.slot(slot))

    def group(self, slot: str = "groupId") -> dict[str, Any]:
        return self.get("group", self.slot(slot))

    def gone(self, kind: str, id: str) -> None:
        ex = self.send_extra("GET", f"/{'Users' if kind == 'user' else 'Groups'}/{id}")
        assert ex.status == 404, f"{kind} {id} should be gone\n{ex.describe()}"

    def search(self, path: str) -> dict[str, Any]:
        ex = self.send_extra("GET", path)
        assert ex.status == 200, f"query {path}: {ex.status}\n{ex.describe()}"
        return ex.json  # type: ignore[no-any-return]

    def find_users(self, filter_expr: str) -> list[dict[str, Any]]:
        body = self.search(f"/Users?filter={filter_expr}")
        return list(body.get("Resources") or [])

    def patch(self, kind: str, id: str, *ops: dict[str, Any]) -> None:
        ex = self.send_extra(
            "PATCH", f"/{'Users' if kind == 'user' else 'Groups'}/{id}", patch_body(*ops)
        )
        assert ex.status in (200, 204), f"setup PATCH failed\n{ex.describe()}"


# -- small readers --------------------------------------------------------------------------------


def member_ids(group: dict[str, Any]) -> set[str]:
    members = group.get("members")
    assert members is None or isinstance(members, list), f"members is {members!r}"
    return {m["value"] for m in members or []}


def group_ids(user: dict[str, Any]) -> set[str]:
    return {g["value"] for g in user.get("groups") or []}


def typed(user: dict[str, Any], attr: str, type_: str) -> list[dict[str, Any]]:
    return [e for e in user.get(attr) or [] if str(e.get("type", "")).lower() == type_]


def enterprise(user: dict[str, Any]) -> dict[str, Any]:
    return user.get(ENTERPRISE_URN) or {}


def assert_list_response(body: Any, *, total: int | None = None) -> None:
    assert isinstance(body, dict) and LIST_URN in (body.get("schemas") or []), body
    for key in ("totalResults", "startIndex", "itemsPerPage"):
        if key == "startIndex" and body.get("totalResults") == 0 and key not in body:
            continue
        assert isinstance(body.get(key), int) and not isinstance(body.get(key), bool), (
            f"{key} is {body.get(key)!r}, not an integer"
        )
    resources = body.get("Resources")
    if body["totalResults"]:
        assert isinstance(resources, list), "Resources must be an array when totalResults > 0"
    if total is not None:
        assert body["totalResults"] == total, f"totalResults {body['totalResults']} != {total}"
    if resources is not None:
        assert body["itemsPerPage"] == len(resources), "itemsPerPage != len(Resources)"


def no_nulls(value: Any, where: str = "") -> None:
    if value is None:
        raise AssertionError(f"null at {where or 'the top'} (null means absent: omit it)")
    if isinstance(value, dict):
        for k, v in value.items():
            no_nulls(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            no_nulls(v, f"{where}[{i}]")


def active_and_findable(r: Replay, expected: bool) -> None:
    """behaviour.md §0.11: a (de)activated user stays readable and filterable."""
    user = r.user()
    assert user.get("active") is expected, f"active is {user.get('active')!r}, expected {expected}"
    hits = r.find_users(f'userName eq "{user["userName"]}"')
    assert [h["id"] for h in hits] == [user["id"]], f"filter by userName returned {hits}"
    assert hits[0].get("active") is expected, "the filter result has a different active"
    everyone = r.search("/Users?startIndex=1&count=1000")
    assert user["id"] in [u["id"] for u in everyone["Resources"]], "missing from the list"


def ensure_active(r: Replay) -> None:
    """Setup before a disable step: the user is active, so the step must change it."""
    r.patch("user", r.slot("userId"), {"op": "replace", "path": "active", "value": True})
    assert r.user().get("active") is True, "setup: could not re-activate the user"


# -- per-step checks ------------------------------------------------------------------------------

Check = Callable[[Replay, Line, Exchange], None]
CHECKS: dict[tuple[str, str], Check] = {}
PREPARE: dict[tuple[str, str], Callable[[Replay], None]] = {}


def check(idp: str, step: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[(idp, step)] = fn
        return fn

    return register


def prepare(idp: str, step: str) -> Callable[[Callable[[Replay], None]], Callable[[Replay], None]]:
    def register(fn: Callable[[Replay], None]) -> Callable[[Replay], None]:
        PREPARE[(idp, step)] = fn
        return fn

    return register


def _empty_list(r: Replay, line: Line, ex: Exchange) -> None:
    assert_list_response(ex.json, total=0)
    assert ex.json.get("Resources", []) == [], "an empty result has Resources []"


# ---- Okta ---------------------------------------------------------------------------------------


@check("okta", "connect-test (Test Connector Configuration)")
def _okta_connect(r: Replay, line: Line, ex: Exchange) -> None:
    assert_list_response(ex.json)
    assert ex.json["startIndex"] == 1 and len(ex.json["Resources"]) <= 2


@check("okta", "connect-test groups (only if Import Groups enabled)")
def _okta_connect_groups(r: Replay, line: Line, ex: Exchange) -> None:
    assert_list_response(ex.json)
    assert "resources" not in ex.json, "send 'Resources', not lowercase"


def _okta_user_shape(u: dict[str, Any]) -> None:
    for path in ("id", "userName"):
        assert u.get(path), f"{path} missing"
    assert u.get("name", {}).get("givenName") and u["name"].get("familyName"), "name missing"
    assert isinstance(u.get("active"), bool), "active missing or not a boolean"
    assert (u.get("emails") or [{}])[0].get("value"), "emails[0].value missing"


@check("okta", "spec-test: list 1 user")
def _okta_list1(r: Replay, line: Line, ex: Exchange) -> None:
    assert_list_response(ex.json)
    assert len(ex.json["Resources"]) == 1, "count=1 must return one user"
    _okta_user_shape(ex.json["Resources"][0])


@check("okta", "spec-test: get user by id")
def _okta_get_existing(r: Replay, line: Line, ex: Exchange) -> None:
    assert ex.json["id"] == r.slot("existingUserId")
    _okta_user_shape(ex.json)


CHECKS[("okta", "spec-test: filter unknown userName")] = _empty_list
CHECKS[("okta", "spec-test: random user must not exist")] = _empty_list
CHECKS[("okta", "create: lookup by userName")] = _empty_list


@check("okta", "spec-test: get unknown id")
def _okta_404(r: Replay, line: Line, ex: Exchange) -> None:
    assert ex.json.get("detail"), "detail must be non-empty"


CHECKS[("okta", "spec-test: 404 shape")] = _okta_404


@check("okta", "spec-test: create user")
def _okta_spec_create(r: Replay, line: Line, ex: Exchange) -> None:
    g = r.generated
    body = ex.json
    assert body["active"] is True and body["userName"] == g["randomUsername"]
    assert body["name"] == {"givenName": g["randomGivenName"], "familyName": g["randomFamilyName"]}
    assert USER_URN in body["schemas"]
    assert body["emails"] == [{"primary": True, "value": g["randomEmail"], "type": "work"}]


@check("okta", "spec-test: read back created user")
def _okta_spec_readback(r: Replay, line: Line, ex: Exchange) -> None:
    g = r.generated
    assert ex.json["userName"] == g["randomUsername"]
    assert ex.json["name"]["givenName"] == g["randomGivenName"]
    assert ex.json["name"]["familyName"] == g["randomFamilyName"]


def _duplicate(filter_expr: str) -> Check:
    def run(r: Replay, line: Line, ex: Exchange) -> None:
        assert ex.json.get("scimType") == "uniqueness", "409 must carry scimType uniqueness"
        hits = r.find_users(r.fill(filter_expr))
        assert len(hits) == 1, f"the failed duplicate left {len(hits)} users"

    return run


CHECKS[("okta", "spec-test: duplicate create")] = _duplicate('userName eq "{randomUsername}"')


@check("okta", "spec-test: userName case-insensitivity")
def _okta_caps(r: Replay, line: Line, ex: Exchange) -> None:
    # Notes: userName is caseExact=false, so the upper-cased filter finds the user.
    assert_list_response(ex.json, total=1)
    hit = ex.json["Resources"][0]
    assert hit["id"] == r.slot("userId")
    assert hit["userName"] == r.generated["randomUsername"], "the stored case must be kept"


@check("okta", "spec-test: groups endpoint")
def _okta_groups(r: Replay, line: Line, ex: Exchange) -> None:
    assert_list_response(ex.json)
    if ex.json["totalResults"] >= 1:
        assert isinstance(ex.json["Resources"], list)


@check("okta", "spec-test: bad credentials")
def _okta_401(r: Replay, line: Line, ex: Exchange) -> None:
    assert ex.json.get("detail") and ex.json.get("status") == "401"
    assert "www-authenticate" in ex.response_headers, "401 without WWW-Authenticate"


@check("okta", "create: lookup (legacy '+' encoding)")
def _okta_plus_lookup(r: Replay, line: Line, ex: Exchange) -> None:
    _empty_list(r, line, ex)


@check("okta", "create: POST user")
def _okta_create(r: Replay, line: Line, ex: Exchange) -> None:
    u = r.user()
    assert u["externalId"] == "00ujl29u0le5T6Aj10h7" and u["locale"] == "en-US"
    assert u["userName"] == "test.user@okta.local" and u["displayName"] == "Test User"
    assert not u.get("groups"), "groups is readOnly: the POSTed value is ignored"


@check("okta", "create: POST user with enterprise extension (department mapped)")
def _okta_create_ext(r: Replay, line: Line, ex: Exchange) -> None:
    u = r.get("user", r.slot("userId2"))
    assert ENTERPRISE_URN in u["schemas"], "the extension URN is listed in schemas"
    assert enterprise(u).get("department") == "Sales" and u["title"] == "Sales Manager"


@check("okta", "update: read before write")
def _okta_read_before_write(r: Replay, line: Line, ex: Exchange) -> None:
    assert ex.json["id"] == r.slot("userId")
    r.memo["created"] = ex.json["meta"]["created"]


@check("okta", "update: PUT full user")
def _okta_put(r: Replay, line: Line, ex: Exchange) -> None:
    u = r.user()
    assert u["id"] == r.slot("userId"), "id is stable"
    assert u["name"] == {"givenName": "Another", "middleName": "Excited", "familyName": "User"}
    assert u["emails"] == [
        {
            "primary": True,
            "value": "test.user@okta.local",
            "type": "work",
            "display": "test.user@okta.local",
        }
    ]
    assert u["meta"]["resourceType"] == "User" and u["meta"]["created"] == r.memo["created"]


@check("okta", "update: PUT echoing server meta + password (legacy sample)")
def _okta_put_legacy(r: Replay, line: Line, ex: Exchange) -> None:
    u = r.user()
    assert u["userName"] == "jane.doe@example.com" and u["externalId"] == "00uq2kqg7YTkFo3cY0g3"
    assert u["meta"]["created"] == r.memo["created"], "meta from the body must be ignored"
    assert u["meta"]["version"] != "v1.0" and u["meta"]["lastModified"] != "04-12-2018 00:00:00"
    # behaviour.md §0.5: the legacy '+' lookup (an earlier line) now finds this user.
    hits = r.search("/Users?filter=userName+eq+%22jane.doe%40example.com%22&startIndex=1&count=100")
    assert [h["id"] for h in hits["Resources"]] == [u["id"]], "'+' must decode to a space"


@check("okta", "deactivate (OIN: PATCH, no path)")
def _okta_deactivate(r: Replay, line: Line, ex: Exchange) -> None:
    active_and_findable(r, False)


@check("okta", "deactivate (AIW/classic: GET then PUT active=false)")
def _okta_deactivate_put(r: Replay, line: Line, ex: Exchange) -> None:
    active_and_findable(r, False)
    u = r.user()
    assert u["userName"] == "octocat@github.com" and u["name"]["formatted"] == "Mona Octocat"


@prepare("okta", "deactivate (OIN: PATCH, no path)")
def _okta_prepare_deactivate(r: Replay) -> None:
    assert r.user()["active"] is True, "the user must be active before deactivation"


@check("okta", "reactivate (OIN: PATCH active=true)")
def _okta_reactivate(r: Replay, line: Line, ex: Exchange) -> None:
    active_and_findable(r, True)


@prepare("okta", "password sync (OIN PATCH)")
def _okta_prepare_password(r: Replay) -> None:
    r.memo["before_password"] = r.user()


@check("okta", "password sync (OIN PATCH)")
def _okta_password(r: Replay, line: Line, ex: Exchange) -> None:
    before, after = r.memo["before_password"], r.user()
    assert "password" not in after
    strip = lambda u: {k: v for k, v in u.items() if k != "meta"}  # noqa: E731
    assert strip(after) == strip(before), "a password sync must not change other attributes"


@check("okta", "import page 1")
def _okta_import1(r: Replay, line: Line, ex: Exchange) -> None:
    assert_list_response(ex.json)
    ids = [u["id"] for u in ex.json["Resources"]]
    assert len(ids) == len(set(ids)) == ex.json["totalResults"], "one page holds every user"
    r.memo["total_users"] = ex.json["totalResults"]


@check("okta", "import page 2")
def _okta_import2(r: Replay, line: Line, ex: Exchange) -> None:
    assert_list_response(ex.json, total=r.memo["total_users"])
    assert ex.json["startIndex"] == 101 and ex.json.get("Resources", []) == []


CHECKS[("okta", "group push: lookup by displayName")] = _empty_list


@check("okta", "group push: create")
def _okta_group_create(r: Replay, line: Line, ex: Exchange) -> None:
    g = r.group()
    assert g["displayName"] == "Test SCIMv2" and member_ids(g) == set()


@check("okta", "group push: create with members (legacy)")
def _okta_group_create_members(r: Replay, line: Line, ex: Exchange) -> None:
    g = r.group("groupId2")
    assert member_ids(g) == {r.slot("userId"), r.slot("userId2")}
    assert g["id"] in group_ids(r.user()), "the user's groups show the new membership"


@check("okta", "group: read")
def _okta_group_read(r: Replay, line: Line, ex: Exchange) -> None:
    assert ex.json["id"] == r.slot("groupId") and member_ids(ex.json) == set()


@check("okta", "group: rename (OIN PATCH, value has read-only id)")
def _okta_group_rename(r: Replay, line: Line, ex: Exchange) -> None:
    g = r.group()
    assert g["id"] == r.slot("groupId") and g["displayName"] == "Test SCIMv2"


@check("okta", "group: remove + add members")
def _okta_group_remove_add(r: Replay, line: Line, ex: Exchange) -> None:
    assert member_ids(r.group()) == {r.slot("userId")}


@check("okta", "group: full push replace members")
def _okta_group_replace(r: Replay, line: Line, ex: Exchange) -> None:
    assert member_ids(r.group()) == {r.slot("userId"), r.slot("userId2")}


@check("okta", "group: push empty group")
def _okta_group_empty(r: Replay, line: Line, ex: Exchange) -> None:
    assert member_ids(r.group()) == set()
    assert r.slot("groupId") not in group_ids(r.user())


@check("okta", "group: update (AIW/classic PUT)")
def _okta_group_put(r: Replay, line: Line, ex: Exchange) -> None:
    g = r.group()
    assert g["displayName"] == "SCIM_test1"
    assert member_ids(g) == {r.slot("userId"), r.slot("userId2")}


@prepare("okta", "group: delete (unlink pushed group, delete in app)")
def _okta_prepare_group_delete(r: Replay) -> None:
    r.memo["deleted_group"] = r.slot("groupId")


@check("okta", "group: delete (unlink pushed group, delete in app)")
def _okta_group_delete(r: Replay, line: Line, ex: Exchange) -> None:
    gid = r.memo["deleted_group"]
    r.gone("group", gid)
    assert gid not in group_ids(r.user()), "a deleted group leaves the users' groups"
    assert member_ids(r.group("groupId2")) == {r.slot("userId"), r.slot("userId2")}


# ---- Entra --------------------------------------------------------------------------------------

CHECKS[("entra", "connect-test (Test Connection): user probe")] = _empty_list
CHECKS[("entra", "connect-test: group probe")] = _empty_list
CHECKS[("entra", "match user by userName")] = _empty_list
CHECKS[("entra", "match user - zero results")] = _empty_list
CHECKS[("entra", "match user by externalId (wire form)")] = _empty_list
CHECKS[("entra", "match user by work email")] = _empty_list
CHECKS[("entra", "validator: filter with '+' and raw quotes")] = _empty_list
CHECKS[("entra", "match group by displayName")] = _empty_list


@check("entra", "schema discovery (on save / edit of provisioning config)")
def _entra_schemas(r: Replay, line: Line, ex: Exchange) -> None:
    assert_list_response(ex.json)
    ids = {s["id"] for s in ex.json["Resources"]}
    assert ids >= KNOWN_SCHEMAS, f"schemas missing: {KNOWN_SCHEMAS - ids}"
    no_nulls(ex.json)
    mutabilities: set[str] = set()

    def walk(attrs: list[dict[str, Any]]) -> None:
        for a in attrs:
            mutabilities.add(a["mutability"])
            walk(a.get("subAttributes", []))

    for s in ex.json["Resources"]:
        walk(s["attributes"])
    assert mutabilities <= {"readOnly", "readWrite", "immutable", "writeOnly"}, mutabilities


@check("entra", "create user")
def _entra_create(r: Replay, line: Line, ex: Exchange) -> None:
    u = r.user()
    sent = line.body
    assert u["userName"] == sent["userName"] and u["externalId"] == sent["externalId"]
    assert u["emails"] == sent["emails"] and u["name"] == sent["name"], "stored exactly as sent"
    assert u["active"] is True and u["meta"]["resourceType"] == "User"
    assert not u.get("roles"), "roles [] is absent"
    # The matching lookups of the earlier lines now find the user (behaviour.md §2).
    hits = r.find_users('emails[type eq "work"].value eq "' + sent["emails"][0]["value"] + '"')
    assert [h["id"] for h in hits] == [u["id"]], "value-path filter on the work email"
    hits = r.find_users(f'userName eq "{sent["userName"]}"')
    assert [h["id"] for h in hits] == [u["id"]]
    hits = r.search(f"/Users?filter=externalId+eq+%22{sent['externalId']}%22")["Resources"]
    assert [h["id"] for h in hits] == [u["id"]], "'+'-encoded externalId filter"


@check("entra", "create user (nulls + malformed extension URN)")
def _entra_create_nulls(r: Replay, line: Line, ex: Exchange) -> None:
    u = r.get("user", r.slot("userId2"))
    no_nulls(u)
    for attr in ("addresses", "phoneNumbers", "preferredLanguage", "title"):
        assert attr not in u, f"{attr}: null means absent"
    assert u["emails"][0]["value"] == "jyoung@Contoso.com", "values are stored byte for byte"
    assert set(u["schemas"]) <= KNOWN_SCHEMAS, f"unknown URN echoed: {u['schemas']}"
    assert "department" not in u and "manager" not in u, "unknown core attributes are ignored"


@check("entra", "create user with string boolean (legacy)")
def _entra_create_string_bool(r: Replay, line: Line, ex: Exchange) -> None:
    u = r.get("user", r.slot("userId3"))
    assert u["active"] is True, f"active 'True' must become true, got {u['active']!r}"
    assert USER_URN in u["schemas"]


CHECKS[("entra", "duplicate create")] = _duplicate(
    'userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"'
)


@check("entra", "get user")
def _entra_get(r: Replay, line: Line, ex: Exchange) -> None:
    assert ex.json["id"] == r.slot("userId")


@check("entra", "get unknown user")
def _entra_404(r: Replay, line: Line, ex: Exchange) -> None:
    assert not error_body_problems(ex.json, 404)


def _one_work_email(u: dict[str, Any], value: str) -> None:
    """Check (c): exactly one work email, with the new value; no other email dropped."""
    work = typed(u, "emails", "work")
    assert [e["value"] for e in work] == [value], f"work emails: {work}"


@check("entra", "update multi-valued (email) + name")
def _entra_email_name(r: Replay, line: Line, ex: Exchange) -> None:
    u = r.user()
    _one_work_email(u, "updatedEmail@microsoft.com")
    assert len(u["emails"]) == 1
    assert u["name"] == {
        "formatted": "givenName familyName",
        "familyName": "updatedFamilyName",
        "givenName": "givenName",
    }


@check("entra", "update single-valued (rename userName)")
def _entra_rename(r: Replay, line: Line, ex: Exchange) -> None:
    u = r.user()
    new = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    assert u["userName"] == new and u["id"] == r.slot("userId")
    assert [h["id"] for h in r.find_users(f'userName eq "{new}"')] == [u["id"]]
    assert r.find_users('userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"') == []


@check("entra", "update mixed (real tenant)")
def _entra_mixed(r: Replay, line: Line, ex: Exchange) -> None:
    u = r.user()
    _one_work_email(u, "AdeleV2@REDACTED.onmicrosoft.com")
    work = typed(u, "addresses", "work")
    assert len(work) == 1 and work[0].get("formatted") == "18/2111", (
        f"addresses {u.get('addresses')}"
    )
    assert enterprise(u).get("department") == "Retail"
    assert ENTERPRISE_URN in u["schemas"]


@check("entra", "update: Add sub-attributes of not-yet-existing work address")
def _entra_address_merge(r: Replay, line: Line, ex: Exchange) -> None:
    work = typed(r.user(), "addresses", "work")
    assert len(work) == 1, f"must yield ONE work address, got {work}"
    assert {k: work[0].get(k) for k in ("formatted", "locality", "region")} == {
        "formatted": "USZLTUSJXBYV",
        "locality": "OSGODHEVDCVD",
        "region": "YMVMOEMXAYGD",
    }


@check("entra", "update manager (string value)")
def _entra_manager_string(r: Replay, line: Line, ex: Exchange) -> None:
    manager = enterprise(r.user()).get("manager")
    assert (
        isinstance(manager, dict) and manager.get("value") == "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"
    )


@check("entra", "update manager (doc form: path 'manager', array value)")
def _entra_manager_array(r: Replay, line: Line, ex: Exchange) -> None:
    manager = enterprise(r.user()).get("manager")
    assert isinstance(manager, dict), f"manager is {manager!r}"
    assert manager.get("value") == "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"


@check("entra", "update roles (app role assignments)")
def _entra_roles(r: Replay, line: Line, ex: Exchange) -> None:
    values = [x["value"] for x in r.user().get("roles") or []]
    assert values == [v["value"] for v in line.body["Operations"][0]["value"]], values


@check("entra", "update single-value Add (default mode)")
def _entra_nickname(r: Replay, line: Line, ex: Exchange) -> None:
    assert r.user().get("nickName") == "Babs"


@check("entra", "update multiple attrs (aadOptscim062020 mode)")
def _entra_value_map(r: Replay, line: Line, ex: Exchange) -> None:
    u = r.user()
    _one_work_email(u, "TestMhvaes@test.microsoft.com")
    assert u["displayName"] == "Bjfe"
    assert u["name"]["givenName"] == "Kkom" and u["name"]["familyName"] == "Unua"
    ext = enterprise(u)
    assert ext.get("employeeNumber") == "Aklq" and ext.get("department") == "Retail"
    text = json.dumps(u)
    assert '"name.givenName"' not in text and '"name.familyName"' not in text
    assert f'"{ENTERPRISE_URN}:employeeNumber"' not in text


for _step in (
    "disable (default mode: string 'False')",
    "disable (aadOptscim062020 mode)",
    "disable (tutorial form, Operations before schemas)",
    "disable (lowercase string 'false')",
    "disable via op 'Add'",
):
    PREPARE[("entra", _step)] = ensure_active
    CHECKS[("entra", _step)] = lambda r, line, ex: active_and_findable(r, False)


@check("entra", "re-enable")
def _entra_reenable(r: Replay, line: Line, ex: Exchange) -> None:
    active_and_findable(r, True)


@prepare("entra", "delete user (hard delete / 30 days after soft delete)")
def _entra_prepare_delete(r: Replay) -> None:
    r.memo["deleted_user"] = r.user()


@check("entra", "delete user (hard delete / 30 days after soft delete)")
def _entra_delete(r: Replay, line: Line, ex: Exchange) -> None:
    gone = r.memo["deleted_user"]
    r.gone("user", gone["id"])
    assert r.find_users(f'userName eq "{gone["userName"]}"') == []


@check("entra", "create group (empty)")
def _entra_group_create(r: Replay, line: Line, ex: Exchange) -> None:
    g = r.group()
    assert g["displayName"] == "displayName"
    assert g["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert member_ids(g) == set() and GROUP_URN in g["schemas"]
    assert set(g["schemas"]) <= KNOWN_SCHEMAS, f"unknown URN echoed: {g['schemas']}"


@check("entra", "get group")
def _entra_group_get(r: Replay, line: Line, ex: Exchange) -> None:
    assert "members" not in ex.json, "excludedAttributes=members"
    assert ex.json["id"] == r.slot("groupId") and ex.json["displayName"] == "displayName"


def _membership_filter(r: Replay) -> str:
    return (
        f'/Groups?filter=id eq "{r.slot("groupId")}" and members eq "{r.slot("userId")}"'
        "&excludedAttributes=members"
    )


@check("entra", "group membership check")
def _entra_membership(r: Replay, line: Line, ex: Exchange) -> None:
    # The live {userId} (rule 4) is not a member yet.
    assert_list_response(ex.json, total=0)


@check("entra", "rename group")
def _entra_group_rename(r: Replay, line: Line, ex: Exchange) -> None:
    assert r.group()["displayName"] == "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"


@check("entra", "add member")
def _entra_add_member(r: Replay, line: Line, ex: Exchange) -> None:
    uid, gid = r.slot("userId"), r.slot("groupId")
    assert member_ids(r.group()) == {uid}
    # Notes: Entra re-sends adds; a second add of the same member is idempotent.
    again = r.send_extra("PATCH", f"/Groups/{gid}", r.fill_json(line.body))
    assert again.status in (200, 204), f"re-add failed\n{again.describe()}"
    assert member_ids(r.group()) == {uid}
    assert gid in group_ids(r.get("user", uid))
    body = r.search(_membership_filter(r))
    assert [g["id"] for g in body["Resources"]] == [gid], "membership filter finds the group"
    assert "members" not in body["Resources"][0]


@prepare("entra", "remove member (default mode: value array)")
def _entra_prepare_remove(r: Replay) -> None:
    # A second member, so that removing one must leave the other (check (a)).
    other = r.slot("userId3")
    r.patch(
        "group", r.slot("groupId"), {"op": "add", "path": "members", "value": [{"value": other}]}
    )
    assert member_ids(r.group()) == {r.slot("userId"), other}, "setup: two members"


@check("entra", "remove member (default mode: value array)")
def _entra_remove_value_array(r: Replay, line: Line, ex: Exchange) -> None:
    assert member_ids(r.group()) == {r.slot("userId3")}, "only the listed member is removed"


@check("entra", "remove member (aadOptscim062020 mode)")
def _entra_remove_filter(r: Replay, line: Line, ex: Exchange) -> None:
    assert member_ids(r.group()) == {r.slot("userId3")}, "removing a non-member is a no-op"


@prepare("entra", "delete group")
def _entra_prepare_group_delete(r: Replay) -> None:
    r.memo["deleted_group"] = r.slot("groupId")


@check("entra", "delete group")
def _entra_group_delete(r: Replay, line: Line, ex: Exchange) -> None:
    gid = r.memo["deleted_group"]
    r.gone("group", gid)
    assert gid not in group_ids(r.get("user", r.slot("userId3")))


# -- the runner -----------------------------------------------------------------------------------


def generated_values(rng: random.Random) -> dict[str, str]:
    given = f"Runscope{rng.randint(100, 999)}"
    family = f"Tester{rng.randint(100, 999)}"
    username = f"{given}{family}@example.com"
    return {
        "randomGivenName": given,
        "randomFamilyName": family,
        "randomUsername": username,
        "randomEmail": username,
        "RANDOMUSERNAMECAPS": username.upper(),
        "randomGuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "newPassword": f"Pw-{rng.getrandbits(64):x}",
    }


def leaks_password(body: Any) -> bool:
    """RFC 7643 §4.1.1: password is returned "never" (resources, lists, bulk)."""
    if not isinstance(body, dict):
        return False
    if any(k.lower() == "password" for k in body):
        return True
    nested = body.get("Resources") or body.get("Operations") or []
    return any(
        leaks_password(item)
        or leaks_password(item.get("response") if isinstance(item, dict) else None)
        for item in nested
    )


def generic_problems(r: Replay, line: Line, ex: Exchange) -> list[str]:
    """What every line's response must satisfy (see the module doc)."""
    problems = list(response_problems(ex))
    if ex.status not in line.statuses:
        problems.insert(0, f"status {ex.status} not in expected {list(line.statuses)}")
    body = ex.json
    if leaks_password(body):
        problems.append("the response carries password (returned: never)")
    if ex.status in (200, 201) and isinstance(body, dict) and "meta" in body and "id" in body:
        version = body["meta"].get("version")
        if ex.response_headers.get("etag") != version:
            problems.append(f"ETag {ex.response_headers.get('etag')!r} != meta.version {version!r}")
        if ex.status == 201 and ex.response_headers.get("location") != body["meta"].get("location"):
            problems.append("201 Location header != meta.location")
        if line.method in ("POST", "PUT", "PATCH") and "?" not in line.path:
            kind = "user" if line.path.startswith("/Users") else "group"
            again = r.get(kind, body["id"])
            if again != body:
                problems.append(
                    f"the write response differs from a later GET: {json.dumps(again)[:600]}"
                )
    return problems


def replay(server: LiveServer, idp: str, checked: list[int]) -> list[str]:
    """Replays one IdP's lines; returns the failures, appends each fully checked line."""
    lines = [line for line in load_corpus() if line.idp == idp]
    failures: list[str] = []
    with server.client() as client:
        r = Replay(idp=idp, client=client, generated=generated_values(random.Random()))
        if idp == "okta":
            # The spec test assumes >= 1 user with names and an email (corpus notes).
            client.create_user(
                "seed.user@example.com",
                name={"givenName": "Seed", "familyName": "User"},
                emails=[{"value": "seed.user@example.com", "type": "work", "primary": True}],
                active=True,
            )
        for line in lines:
            r.extra = []
            exchange: Exchange | None = None
            problems: list[str] = []
            try:
                if (idp, line.step) in PREPARE:
                    PREPARE[(idp, line.step)](r)
                path = r.fill(line.path)
                headers = {k: r.fill(v) for k, v in line.headers.items()}
                body = r.fill_json(line.body) if line.body is not None else None
                exchange = client.request(
                    line.method,
                    path,
                    content=json.dumps(body) if body is not None else None,
                    headers=headers,
                    auth=not any(k.lower() == "authorization" for k in headers),
                    content_type=None,
                )
                r.capture(line, exchange)
                problems = generic_problems(r, line, exchange)
                if exchange.status in line.statuses and (idp, line.step) in CHECKS:
                    CHECKS[(idp, line.step)](r, line, exchange)
                    checked.append(line.index)
            except AssertionError as exc:
                problems.append(f"check failed: {exc}".rstrip())
            except Exception as exc:  # a harness error is a failure of this line too
                problems.append(f"error: {type(exc).__name__}: {exc}")
            if problems:
                failures.append(
                    f"{line.label}{' (reconstructed)' if line.reconstructed else ''}:\n"
                    + "".join(f"    FAILED {p}\n" for p in problems)
                    + (exchange.describe() if exchange else "    (not sent)\n")
                    + "".join("    extra:\n" + e.describe() for e in r.extra[-2:])
                )
    return failures


@pytest.mark.parametrize("idp", ["okta", "entra"])
# behaviour.md §0-§2, §9; RFC 7644 §3.3 (create), §3.4.2 (list/filter), §3.5.1 (PUT),
# §3.5.2 (PATCH), §3.6 (DELETE), §3.12 (errors)
def test_idp_sequence_replays(live_server: LiveServer, idp: str) -> None:
    checked: list[int] = []
    failures = replay(live_server, idp, checked)
    total = len([line for line in load_corpus() if line.idp == idp])
    assert not failures, (
        f"{idp} corpus on {live_server.backend}: {len(failures)} of {total} lines failed\n"
        + "\n".join(failures)
    )
    assert len(checked) == total, "every line's own check ran"


# -- the harness itself, without a server ---------------------------------------------------------


def test_corpus_parses_and_every_step_has_a_check() -> None:
    lines = load_corpus()
    assert {line.idp for line in lines} == {"okta", "entra"}
    assert len(lines) == 76
    for line in lines:
        assert line.method in {"GET", "POST", "PUT", "PATCH", "DELETE"}
        assert all(100 <= s < 600 for s in line.statuses)
    unchecked = [line.label for line in lines if (line.idp, line.step) not in CHECKS]
    assert not unchecked, f"steps without a check function: {unchecked}"
    unknown = [k for k in [*CHECKS, *PREPARE] if k not in {(x.idp, x.step) for x in lines}]
    assert not unknown, f"checks for steps the corpus does not have: {unknown}"


def test_shared_corpus_copy_is_current() -> None:
    if SHARED_COPY.exists():
        assert CORPUS_FILE.read_bytes() == SHARED_COPY.read_bytes(), f"copy {SHARED_COPY} again"


def test_wire_encoding_of_corpus_paths() -> None:
    # behaviour.md §9: raw spaces and quotes encoded; '+' and %xx kept.
    assert encode_wire_path('/Users?filter=userName eq "non-existent user"') == (
        "/Users?filter=userName%20eq%20%22non-existent%20user%22"
    )
    assert encode_wire_path('/Users?filter=userName+eq+"dale.mohr%40romaguera.uk"') == (
        "/Users?filter=userName+eq+%22dale.mohr%40romaguera.uk%22"
    )
    assert encode_wire_path("/Users?filter=externalId+eq+%22johnwong%22") == (
        "/Users?filter=externalId+eq+%22johnwong%22"
    )


def test_capture_rules() -> None:
    r = Replay("okta", client=None, generated={"randomGuid": "g"})  # type: ignore[arg-type]

    def created(step: str, path: str, id: str) -> None:
        line = Line(0, "okta", step, "POST", path, {}, {}, (201,), "", "", False)
        ex = Exchange(
            "POST", "http://x" + path, {}, b"", 201, None, json.dumps({"id": id}).encode(), 1
        )  # type: ignore[arg-type]
        r.capture(line, ex)

    def deleted(path: str) -> None:
        line = Line(0, "okta", "d", "DELETE", path, {}, None, (204,), "", "", False)
        r.capture(line, Exchange("DELETE", "http://x" + path, {}, None, 204, None, b"", 1))  # type: ignore[arg-type]

    created("spec-test: create user", "/Users", "u1")
    assert r.fill("/Users/{userId}") == "/Users/u1"
    created("create: POST user", "/Users", "u2")
    created("create: POST user with extension", "/Users", "u3")
    assert (r.slot("userId"), r.slot("userId2")) == ("u2", "u3")
    created("create user", "/Users", "e1")  # no phase: a new phase after "create"
    created("create user (nulls)", "/Users", "e2")
    assert (r.slot("userId"), r.slot("userId2")) == ("e1", "e2")
    deleted("/Users/e1")
    assert r.slot("userId") == "u1", "a deleted slot names the earliest live user"
    assert r.fill('{"a": "{randomGuid}"}') == '{"a": "g"}'
    with pytest.raises(StepFailed):
        r.fill("/Groups/{groupId}")
