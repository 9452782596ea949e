"""A Python interpreter for Runscope API-test exports, enough of it to replay Okta's
"SCIM 2.0 SPEC Test" faithfully.

Runscope runs each step as: send the request, extract the step's variables, run its
scripts, evaluate its assertions (runscope.com/docs/api-testing/scripts, "Execution
Order"). Every construct the export uses is translated here; anything else raises
`Untranslatable`, which the replay reports as a failed assertion, never as a skip.

Translation decisions (each one documented, none silent):

- Variables are `{{name}}` templates. The collection's *initial variables*
  (`SCIMBaseURL`, `auth`) and the values of Okta's *initial script*
  (`Initial_Script_Spec.txt`: `InvalidUserEmail`, `UserIdThatDoesNotExist`,
  `randomGivenName`, `randomFamilyName`, `randomUsername`, `randomEmail`,
  `randomUsernameCaps`) are made by `okta_initial_variables`, following the shapes Okta
  documents for them ("Test your SCIM API": `Runscope300`, `Hfluaklab151`,
  `Runscope300Hfluaklab151@example.com`, `RUNSCOPE300HFLUAKLAB151@example.com`,
  `abcdefgh@example.com`, `010101001010101011001010101011`). A template naming an unknown
  variable is untranslatable.
- URLs are sent the way an HTTP client must send them: raw spaces and quotes are
  percent-encoded, `+` and `%xx` are kept (behaviour.md §9).
- A request with a body and no Content-Type goes out as `application/json`, what Okta's
  spec test sends (behaviour.md §9).
- A `pause` step sleeps `duration * pause_scale` seconds. Pauses only spread Runscope's
  load; the default scale is 0 (set SCIMHUB_OKTA_PAUSE_SCALE=1 for real time).
- Properties use JavaScript notation (`Resources[0].name.familyName`). One extension: a
  name applied to an array collects that property from every element, so
  `Resources[0].emails.value` is the list of email values. Plain JavaScript would give
  `undefined` there and fail the assertion against every SCIM server.
- Comparisons follow Runscope's: `equal` compares the JavaScript string form
  (`true` == "true", `0` == "0"); `equal_number` and `is_less_than` compare numbers;
  `not_empty` is false for missing, null, "", [] and {}; `has_value` and `contains` look
  inside arrays (`has_value` with an empty target: at least one non-empty element);
  `is_a_number` wants a JSON number.
- Scripts are JavaScript; the ones the export carries are translated by hand into
  `KNOWN_SCRIPTS`, matched on their exact (whitespace-normalized) text.
"""

from __future__ import annotations

import json
import random
import re
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_MISSING: Any = type("Missing", (), {"__repr__": lambda self: "undefined"})()

_TEMPLATE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


class Untranslatable(Exception):
    """A Runscope construct this interpreter does not know: reported as a failure."""


# -- variables ------------------------------------------------------------------------------------


def okta_initial_variables(base_url: str, token: str, rng: random.Random) -> dict[str, str]:
    """Initial variables plus the values of Okta's initial script (see module doc)."""
    given = f"Runscope{rng.randint(100, 999)}"
    family = "".join(rng.choice(string.ascii_lowercase) for _ in range(8)).capitalize()
    family += str(rng.randint(100, 999))
    username = f"{given}{family}@example.com"
    local, _, domain = username.partition("@")
    return {
        "SCIMBaseURL": base_url,
        "auth": f"Bearer {token}",
        "InvalidUserEmail": "abcdefgh@example.com",
        "UserIdThatDoesNotExist": "010101001010101011001010101011",
        "randomGivenName": given,
        "randomFamilyName": family,
        "randomUsername": username,
        "randomEmail": username,
        "randomUsernameCaps": f"{local.upper()}@{domain}",
    }


def substitute(text: str, variables: dict[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in variables:
            raise Untranslatable(f"template variable {{{{{name}}}}} is not defined")
        return variables[name]

    return _TEMPLATE.sub(repl, text)


# -- JavaScript-ish values ------------------------------------------------------------------------

_PATH_TOKEN = re.compile(r"\[(\d+)\]|\[\"([^\"]*)\"\]|(?:^|\.)([A-Za-z_$][\w$]*)")


def parse_property(path: str) -> list[str | int]:
    """`a.b[0].c` -> ["a", "b", 0, "c"]; raises Untranslatable on anything else."""
    tokens: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _PATH_TOKEN.match(path, pos)
        if not m or m.end() == pos or (m.group(3) and (pos > 0) != (path[pos] == ".")):
            raise Untranslatable(f"property path {path!r} is not JavaScript notation")
        index, quoted, name = m.groups()
        tokens.append(int(index) if index is not None else (quoted if quoted is not None else name))
        pos = m.end()
    if not tokens:
        raise Untranslatable("empty property path")
    return tokens


def resolve(value: Any, path: str) -> Any:
    """The value at a JavaScript-notation path, `_MISSING` when absent."""
    current = value
    for token in parse_property(path):
        if current is _MISSING:
            return _MISSING
        if isinstance(token, int):
            current = (
                current[token] if isinstance(current, list) and token < len(current) else _MISSING
            )
        elif isinstance(current, dict):
            current = current.get(token, _MISSING)
        elif isinstance(current, list):
            # Extension (module doc): a name over an array collects it from each element.
            collected = [e.get(token, _MISSING) for e in current if isinstance(e, dict)]
            current = [c for c in collected if c is not _MISSING]
        else:
            current = _MISSING
    return current


def js_string(value: Any) -> str:
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def js_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def is_empty(value: Any) -> bool:
    return value is _MISSING or value is None or value in ("", [], {})


# -- exchanges ------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]
    elapsed_ms: float

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return _MISSING


@dataclass
class Request:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes | None


Sender = Callable[[Request], tuple[Response, str]]
"""Sends a request; returns the response and a printable description of the exchange."""


@dataclass
class StepOutcome:
    index: int
    note: str
    description: str = ""
    failures: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)


# -- assertions -----------------------------------------------------------------------------------


def evaluate_assertion(
    assertion: dict[str, Any], response: Response, variables: dict[str, str]
) -> tuple[bool, str]:
    """(passed, description). Raises Untranslatable for unknown sources or comparisons."""
    source = assertion.get("source")
    comparison = assertion.get("comparison")
    prop = assertion.get("property")
    raw_target = assertion.get("value")
    target = None if raw_target is None else substitute(str(raw_target), variables)
    label = f"{source}{'.' + prop if prop else ''} {comparison} {target!r}"

    if source == "response_status":
        actual: Any = response.status
    elif source == "response_time":
        actual = response.elapsed_ms
    elif source == "response_json":
        if not prop:
            raise Untranslatable(f"{label}: response_json without a property")
        actual = resolve(response.json(), prop)
    else:
        raise Untranslatable(f"{label}: unknown assertion source {source!r}")
    if source != "response_json" and prop:
        raise Untranslatable(f"{label}: a property on source {source!r}")

    if comparison == "equal_number":
        a, t = js_number(actual), js_number(target)
        ok = a is not None and t is not None and a == t
    elif comparison == "equal":
        ok = js_string(actual) == (target if target is not None else "")
    elif comparison == "is_less_than":
        a, t = js_number(actual), js_number(target)
        ok = a is not None and t is not None and a < t
    elif comparison == "not_empty":
        ok = not is_empty(actual)
    elif comparison == "is_a_number":
        ok = isinstance(actual, (int, float)) and not isinstance(actual, bool)
    elif comparison == "has_value":
        if isinstance(actual, list):
            ok = (
                any(not is_empty(e) for e in actual)
                if target is None or target == ""
                else target in [js_string(e) for e in actual]
            )
        else:
            ok = not is_empty(actual) if target is None else js_string(actual) == target
    elif comparison == "contains":
        if isinstance(actual, list):
            ok = target in [js_string(e) for e in actual]
        elif isinstance(actual, str):
            ok = target is not None and target in actual
        else:
            ok = False
    else:
        raise Untranslatable(f"{label}: unknown comparison {comparison!r}")
    shown = actual if not isinstance(actual, float) else round(actual, 1)
    return ok, f"{label} (actual: {js_string(shown)[:200]})"


# -- scripts --------------------------------------------------------------------------------------


def _normalize_script(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().splitlines() if line.strip())


def _groups_resources_is_array(response: Response, variables: dict[str, str]) -> list[str]:
    """var data = JSON.parse(response.body); var max = data.totalResults;
    var res = data.Resources; var exists = false;
    if (max >= 1 && Array.isArray(res)) { exists = true; }
    assert.ok(exists, "Resources is of type Array"); log(exists);"""
    data = response.json()
    if data is _MISSING:
        return ["script: JSON.parse(response.body) throws: the body is not JSON"]
    if not isinstance(data, dict):
        return ["script: data.totalResults on a non-object JSON body"]
    total = js_number(data.get("totalResults", _MISSING))
    exists = total is not None and total >= 1 and isinstance(data.get("Resources"), list)
    if not exists:
        return [
            "script: assert.ok(exists, 'Resources is of type Array') failed "
            f"(totalResults={js_string(data.get('totalResults', _MISSING))}, "
            f"Resources is {type(data.get('Resources', None)).__name__})"
        ]
    return []


KNOWN_SCRIPTS: dict[str, Callable[[Response, dict[str, str]], list[str]]] = {
    _normalize_script(
        "var data = JSON.parse(response.body);\nvar max = data.totalResults;\n"
        "var res = data.Resources;\nvar exists = false;\n"
        "if (max >= 1 && Array.isArray(res)) {\n    exists = true;\n}\n    \n"
        'assert.ok(exists, "Resources is of type Array");\nlog(exists);\n'
    ): _groups_resources_is_array,
}


def run_script(text: str, response: Response, variables: dict[str, str]) -> list[str]:
    fn = KNOWN_SCRIPTS.get(_normalize_script(text))
    if fn is None:
        raise Untranslatable(f"script not translated: {text[:120]!r}")
    return fn(response, variables)


# -- the runner -----------------------------------------------------------------------------------

_STEP_KEYS = {
    "url",
    "variables",
    "step_type",
    "auth",
    "note",
    "headers",
    "assertions",
    "scripts",
    "before_scripts",
    "method",
    "body",
    "form",
    "skipped",
    "multipart_form",
}


def build_request(
    step: dict[str, Any], variables: dict[str, str], encode: Callable[[str], str]
) -> Request:
    unknown = set(step) - _STEP_KEYS
    if unknown:
        raise Untranslatable(f"step keys not translated: {sorted(unknown)}")
    if step.get("auth"):
        raise Untranslatable(f"step auth {step['auth']!r} not translated")
    if step.get("form") or step.get("multipart_form"):
        raise Untranslatable("form bodies not translated")
    if step.get("before_scripts"):
        raise Untranslatable("before_scripts not translated")
    headers: list[tuple[str, str]] = []
    for name, values in (step.get("headers") or {}).items():
        for value in values if isinstance(values, list) else [values]:
            headers.append((name, substitute(str(value), variables)))
    body = None
    if "body" in step and step["body"] is not None:
        body = substitute(step["body"], variables).encode()
        if not any(n.lower() == "content-type" for n, _ in headers):
            headers.append(("Content-Type", "application/json"))
    url = encode(substitute(step["url"], variables))
    return Request(method=step["method"], url=url, headers=headers, body=body)


def run_collection(
    collection: dict[str, Any],
    variables: dict[str, str],
    send: Sender,
    encode: Callable[[str], str],
    pause_scale: float = 0.0,
) -> list[StepOutcome]:
    outcomes: list[StepOutcome] = []
    for index, step in enumerate(collection["steps"]):
        kind = step.get("step_type")
        if kind == "pause":
            time.sleep(float(step.get("duration", 0)) * pause_scale)
            continue
        outcome = StepOutcome(index=index, note=str(step.get("note", "")))
        outcomes.append(outcome)
        if kind != "request":
            outcome.failures.append(f"untranslatable: step type {kind!r}")
            continue
        if step.get("skipped"):
            outcome.failures.append("untranslatable: the step is marked skipped in the export")
            continue
        try:
            request = build_request(step, variables, encode)
        except Untranslatable as exc:
            outcome.failures.append(f"untranslatable: {exc}")
            continue
        response, outcome.description = send(request)
        # 2. variable extraction
        for var in step.get("variables") or []:
            if var.get("source") != "response_json":
                outcome.failures.append(f"untranslatable: variable source {var.get('source')!r}")
                continue
            value = resolve(response.json(), var["property"])
            if is_empty(value):
                outcome.failures.append(
                    f"variable {var['name']}: {var['property']} is {js_string(value)}"
                )
                continue
            variables[var["name"]] = js_string(value)
        # 3. scripts
        for script in step.get("scripts") or []:
            try:
                outcome.failures.extend(run_script(script, response, variables))
            except Untranslatable as exc:
                outcome.failures.append(f"untranslatable: {exc}")
        # 4. assertions
        for assertion in step.get("assertions") or []:
            try:
                ok, text = evaluate_assertion(assertion, response, variables)
            except Untranslatable as exc:
                outcome.failures.append(f"untranslatable: {exc}")
                continue
            (outcome.passed if ok else outcome.failures).append(text)
    return outcomes
