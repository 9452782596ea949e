"""Okta's "SCIM 2.0 SPEC Test" (a Runscope export) replayed against a live scimhub, step
by step, with every assertion and script translated by `runscope.py`
(behaviour.md §1 "Spec test"; RFC 7644 §3.4.2, §3.12, §4)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from conformance_support import (
    DATA_DIR,
    GROUP_URN,
    USER_URN,
    Exchange,
    LiveServer,
    ScimClient,
    encode_wire_path,
    response_problems,
)
from runscope import (
    Request,
    Response,
    Untranslatable,
    evaluate_assertion,
    okta_initial_variables,
    resolve,
    run_collection,
    run_script,
)

COLLECTION_FILE = DATA_DIR / "Okta-SCIM-20-SPEC-Test.json"
SHARED_COPY = Path(__file__).resolve().parents[3] / "shared" / "conformance" / COLLECTION_FILE.name


def _collection() -> dict[str, Any]:
    return json.loads(COLLECTION_FILE.read_text())  # type: ignore[no-any-return]


def _seed(server: LiveServer) -> None:
    """The collection's precondition: `GET /Users?count=1` must find a user with name,
    userName, active and an email; its Groups script wants totalResults >= 1."""
    with server.client() as c:
        user = c.create_user(
            "seed.user@example.com",
            name={"givenName": "Seed", "familyName": "User"},
            emails=[{"value": "seed.user@example.com", "type": "work", "primary": True}],
            active=True,
        )
        ex = c.post(
            "/Groups",
            {
                "schemas": [GROUP_URN],
                "displayName": "Seed Group",
                "members": [{"value": user["id"]}],
            },
        )
        assert ex.status == 201, f"setup: seeding a group failed\n{ex.describe()}"


def _sender(http: httpx.Client) -> Any:
    def send(req: Request) -> tuple[Response, str]:
        request = http.build_request(req.method, req.url, headers=req.headers, content=req.body)
        response = http.send(request)
        elapsed = response.elapsed.total_seconds() * 1000
        body = response.content
        shown = [(k, v if k.lower() != "authorization" else v[:12] + "…") for k, v in req.headers]
        description = (
            f"  > {req.method} {request.url}\n  > {shown}\n"
            + (f"  > {req.body.decode()[:800]}\n" if req.body else "")
            + f"  < {response.status_code} {response.headers.get('content-type', '')}"
            f" ({elapsed:.0f} ms)\n  < {body.decode('utf-8', 'replace')[:1200]}\n"
        )
        res = Response(response.status_code, body, dict(response.headers), elapsed)
        # The harness's own check on every response (not part of Okta's collection).
        problems = response_problems(
            Exchange(
                req.method,
                str(request.url),
                dict(req.headers),
                req.body,
                response.status_code,
                response.headers,
                body,
                elapsed,
            )
        )
        if problems:
            description += "  ! scimhub response check: " + "; ".join(problems) + "\n"
            send.problems.append((str(request.url), problems))  # type: ignore[attr-defined]
        return res, description

    send.problems = []  # type: ignore[attr-defined]
    return send


# behaviour.md §1 (Okta spec test), RFC 7644 §3.4.2 (list), §3.12 (errors), §4 (discovery)
def test_okta_scim20_spec_test_passes(live_server: LiveServer) -> None:
    _seed(live_server)
    rng = random.Random()
    variables = okta_initial_variables(live_server.base_url, live_server.token, rng)
    scale = float(os.environ.get("SCIMHUB_OKTA_PAUSE_SCALE", "0"))
    with httpx.Client(timeout=30) as http:
        send = _sender(http)
        outcomes = run_collection(_collection(), variables, send, encode_wire_path, scale)

    requests = [s for s in _collection()["steps"] if s["step_type"] == "request"]
    assert len(outcomes) == len(requests) == 16, "every request step ran"
    report = []
    for o in outcomes:
        if o.failures:
            report.append(
                f"step {o.index} {o.note!r}:\n"
                + "".join(f"    FAILED {f}\n" for f in o.failures)
                + o.description
            )
    for url, problems in send.problems:
        report.append(f"scimhub response check on {url}: {'; '.join(problems)}")
    generated = {k: v for k, v in variables.items() if k != "auth"}
    assert not report, (
        f"Okta SCIM 2.0 SPEC Test on {live_server.backend}: "
        f"{sum(len(o.failures) for o in outcomes)} failed assertion(s); variables {generated}\n"
        + "\n".join(report)
    )
    # Every assertion of the export was evaluated (and passed), none silently dropped.
    expected = sum(len(s.get("assertions", [])) for s in requests)
    assert sum(len(o.passed) for o in outcomes) == expected
    # What the run captured: the seeded user, then the created one (Runscope variables).
    assert variables["ISVUserid"] and variables["idUserOne"] != variables["ISVUserid"]


# -- the translation itself, without a server -----------------------------------------------------


def test_shared_collection_copy_is_current() -> None:
    if not SHARED_COPY.exists():
        # The copy under data/ is what runs; ../shared exists only beside the project.
        assert COLLECTION_FILE.exists()
        return
    assert COLLECTION_FILE.read_bytes() == SHARED_COPY.read_bytes(), (
        f"{COLLECTION_FILE} differs from {SHARED_COPY}: copy the new export"
    )


def test_every_construct_of_the_export_is_translated() -> None:
    """No assertion, extractor, script or step kind of the export is left untranslated."""
    collection = _collection()
    fake = Response(200, b'{"totalResults": 1, "Resources": []}', {}, 1.0)
    variables = okta_initial_variables("http://x/scim/v2/t", "tok", random.Random(1))
    variables.update(ISVUserid="1", idUserOne="2")
    kinds = set()
    for step in collection["steps"]:
        kinds.add(step["step_type"])
        for assertion in step.get("assertions", []):
            evaluate_assertion(assertion, fake, variables)  # raises Untranslatable
        for script in step.get("scripts", []):
            run_script(script, fake, variables)
        for var in step.get("variables", []):
            assert var["source"] == "response_json"
    assert kinds == {"request", "pause"}


@pytest.mark.parametrize(
    ("assertion", "body", "status", "expected"),
    [
        (
            {"source": "response_status", "comparison": "equal_number", "value": "200"},
            {},
            200,
            True,
        ),
        (
            {"source": "response_status", "comparison": "equal_number", "value": "200"},
            {},
            201,
            False,
        ),
        (
            {
                "source": "response_json",
                "comparison": "equal",
                "property": "active",
                "value": "true",
            },
            {"active": True},
            200,
            True,
        ),
        (
            {
                "source": "response_json",
                "comparison": "equal",
                "property": "active",
                "value": "true",
            },
            {"active": "True"},
            200,
            False,
        ),
        (
            {
                "source": "response_json",
                "comparison": "equal",
                "property": "totalResults",
                "value": "0",
            },
            {"totalResults": 0},
            200,
            True,
        ),
        (
            {"source": "response_json", "comparison": "is_a_number", "property": "startIndex"},
            {"startIndex": "1"},
            200,
            False,
        ),
        (
            {"source": "response_json", "comparison": "not_empty", "property": "Resources"},
            {"Resources": []},
            200,
            False,
        ),
        (
            {"source": "response_json", "comparison": "not_empty", "property": "a.b"},
            {"a": {"b": False}},
            200,
            True,
        ),
        (
            {
                "source": "response_json",
                "comparison": "has_value",
                "property": "schemas",
                "value": "urn:x",
            },
            {"schemas": ["urn:y", "urn:x"]},
            200,
            True,
        ),
        (
            {
                "source": "response_json",
                "comparison": "has_value",
                "property": "Resources[0].emails.value",
                "value": None,
            },
            {"Resources": [{"emails": [{"value": "a@b"}]}]},
            200,
            True,
        ),
        (
            {
                "source": "response_json",
                "comparison": "has_value",
                "property": "Resources[0].emails.value",
                "value": None,
            },
            {"Resources": [{"emails": []}]},
            200,
            False,
        ),
        (
            {
                "source": "response_json",
                "comparison": "contains",
                "property": "schemas",
                "value": USER_URN,
            },
            {"schemas": [USER_URN]},
            200,
            True,
        ),
    ],
)
def test_assertion_semantics(
    assertion: dict[str, Any], body: Any, status: int, expected: bool
) -> None:
    response = Response(status, json.dumps(body).encode(), {}, 5.0)
    ok, text = evaluate_assertion(assertion, response, {})
    assert ok is expected, text


def test_unknown_constructs_fail_rather_than_pass() -> None:
    response = Response(200, b"{}", {}, 1.0)
    for bad in (
        {"source": "response_headers", "comparison": "equal", "property": "x", "value": "1"},
        {"source": "response_json", "comparison": "matches_regex", "property": "x", "value": "."},
    ):
        with pytest.raises(Untranslatable):
            evaluate_assertion(bad, response, {})
    with pytest.raises(Untranslatable):
        run_script("assert.ok(true)", response, {})
    with pytest.raises(Untranslatable):
        evaluate_assertion(
            {
                "source": "response_json",
                "comparison": "equal",
                "property": "id",
                "value": "{{nope}}",
            },
            response,
            {},
        )
    outcomes = run_collection(
        {"steps": [{"step_type": "condition"}]}, {}, lambda r: (response, ""), encode_wire_path
    )
    assert outcomes[0].failures


def test_groups_script_translation() -> None:
    script = _collection()["steps"][-1]["scripts"][0]
    assert (
        run_script(script, Response(200, b'{"totalResults":1,"Resources":[{}]}', {}, 1), {}) == []
    )
    assert run_script(script, Response(200, b'{"totalResults":0,"Resources":[]}', {}, 1), {})
    assert run_script(script, Response(200, b'{"totalResults":2}', {}, 1), {})
    assert run_script(script, Response(200, b"oops", {}, 1), {})


def test_initial_variables_follow_okta_shapes() -> None:
    v = okta_initial_variables("http://h/scim/v2/t", "tok", random.Random(7))
    assert v["auth"] == "Bearer tok"
    assert v["randomUsername"] == f"{v['randomGivenName']}{v['randomFamilyName']}@example.com"
    assert v["randomUsernameCaps"].split("@")[0] == v["randomUsername"].split("@")[0].upper()
    assert v["randomUsernameCaps"] != v["randomUsername"]
    assert resolve({"a": [{"b": 1}]}, "a[0].b") == 1


def test_runscope_urls_are_encoded_like_a_client() -> None:
    # behaviour.md §9: raw spaces and quotes encoded, `+` and `%xx` kept.
    assert (
        encode_wire_path('/Users?filter=userName eq "a@b"')
        == "/Users?filter=userName%20eq%20%22a@b%22"
    )
    assert encode_wire_path("/Users?filter=userName+eq+%22x%40y%22") == (
        "/Users?filter=userName+eq+%22x%40y%22"
    )
    client = ScimClient("http://127.0.0.1:1/scim/v2/t", None)
    url = httpx.URL(client.url('/Users?filter=emails[type eq "work"].value eq "x"'))
    assert (
        url.raw_path
        == b"/scim/v2/t/Users?filter=emails[type%20eq%20%22work%22].value%20eq%20%22x%22"
    )
    client.close()
