"""The README's "Onboarding a tenant" walk, run exactly as written.

Every command of the section's `sh` blocks runs as its own `bash` process, in order,
with the venv's `scimhub` first on PATH, `SCIMHUB_DATABASE_URL` on a fresh SQLite file
and `SCIMHUB_PORT` on a free port. `VAR=$(…)` lines capture the variable the README
names and hand it to the later commands; a line ending in `&` runs in the background
(`scimhub serve`) until the end. Each step's outcome is checked, in the database and
over HTTP; a README edit that adds, removes or reorders steps fails here until the
checks follow."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimhub.db.engine import Database
from scimhub.tenancy import principals, sso, tokens
from scimhub.tenancy.tenants import get_tenant

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Onboarding a tenant"
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=\$\((.*)\)$")


def walkthrough() -> list[str]:
    """The commands of the README section's `sh` blocks, in order."""
    text = README.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end != -1 else len(text)]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


@dataclass
class Result:
    command: str
    returncode: int
    stdout: str
    stderr: str
    value: str | None = None  # the captured variable's value, for VAR=$(…)


@dataclass
class Shell:
    cwd: Path
    env: dict[str, str]
    variables: dict[str, str] = field(default_factory=dict)
    background: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, command: str) -> Result | None:
        env = {**self.env, **self.variables}
        if command.endswith("&"):
            log = open(self.cwd / f"background-{len(self.background)}.log", "wb")  # noqa: SIM115
            self.background.append(
                subprocess.Popen(
                    ["bash", "-c", f"{command}\nwait"],
                    cwd=self.cwd,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            return None
        assigned = ASSIGNMENT.match(command)
        script = command
        if assigned:
            # The line exactly, then the variable's value on stdout.
            script = f'set -e\n{command}\nprintf "%s" "${assigned.group(1)}"'
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        result = Result(command, done.returncode, done.stdout, done.stderr)
        if assigned and done.returncode == 0:
            result.value = done.stdout
            self.variables[assigned.group(1)] = done.stdout
        return result

    def stop(self) -> None:
        for process in self.background:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "SCIMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'walk.db'}",
        "SCIMHUB_HOST": "127.0.0.1",
        "SCIMHUB_PORT": str(_free_port()),
        # Written at once, so the walk's token listing is up to date.
        "SCIMHUB_TOKEN_USAGE_FLUSH_SECONDS": "0.2",
    }
    env.pop("SCIMHUB_PUBLIC_URL", None)
    walker = Shell(tmp_path, env)
    try:
        yield walker
    finally:
        walker.stop()


class Walk:
    """What the checks need: the database, the server's origin, what earlier steps saw."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell
        self.db = Database(shell.env["SCIMHUB_DATABASE_URL"])
        self.origin = f"http://127.0.0.1:{shell.env['SCIMHUB_PORT']}"
        self.seen: dict[str, Any] = {}

    def authenticates(self, token: str) -> bool:
        with self.db.read() as conn:
            return tokens.authenticate(conn, "acme", token) is not None

    def tenant_tokens(self) -> list[tokens.TokenInfo]:
        with self.db.read() as conn:
            tenant = get_tenant(conn, "acme")
            assert tenant is not None
            return tokens.list_tokens(conn, tenant.id)

    def wait_for_server(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.origin}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("scimhub serve did not start")


def ok(result: Result | None) -> Result:
    assert result is not None
    assert result.returncode == 0, f"{result.command}\n{result.stdout}\n{result.stderr}"
    return result


# -- the checks, one per README command, in order ------------------------------------------


def upgraded(walk: Walk, result: Result | None) -> None:
    assert "up to date" in ok(result).stdout


def tenant_created(walk: Walk, result: Result | None) -> None:
    assert "created tenant acme" in ok(result).stdout
    with walk.db.read() as conn:
        tenant = get_tenant(conn, "acme")
    assert tenant is not None and tenant.name == "Acme Corp"
    assert tenant.plan_includes_scim and tenant.scim_enabled and tenant.status == "active"


def token_refused_without_sso(walk: Walk, result: Result | None) -> None:
    assert result is not None and result.returncode == 1
    assert "no SSO connection" in result.stderr and result.stdout == ""
    assert walk.tenant_tokens() == []


def sso_configured(walk: Walk, result: Result | None) -> None:
    assert "configured" in ok(result).stdout
    with walk.db.read() as conn:
        tenant = get_tenant(conn, "acme")
        assert tenant is not None
        connection = sso.get_connection(conn, tenant.id)
    assert connection is not None and connection.state == "configured"
    assert (connection.protocol, connection.idp_id) == ("saml", "https://sts.example.com/acme")
    assert connection.metadata_url == "https://sts.example.com/acme/metadata"


def sso_active(walk: Walk, result: Result | None) -> None:
    assert "active" in ok(result).stdout
    with walk.db.read() as conn:
        tenant = get_tenant(conn, "acme")
        assert tenant is not None
        connection = sso.get_connection(conn, tenant.id)
    assert connection is not None and connection.state == "active"


def token_created(walk: Walk, result: Result | None) -> None:
    token = ok(result).value
    assert token is not None and re.fullmatch(r"scimhub_[A-Za-z0-9_-]{43}", token)
    assert walk.authenticates(token)
    walk.seen["first_token"] = token


def owner_key_created(walk: Walk, result: Result | None) -> None:
    key = ok(result).value
    assert key is not None and key.startswith(principals.ADMIN_KEY_PREFIX)
    with walk.db.read() as conn:
        principal = principals.authenticate_admin(conn, key)
        tenant = get_tenant(conn, "acme")
    assert principal is not None and tenant is not None
    assert (principal.role, principal.tenant_id) == ("owner", tenant.id)


def tokens_listed(walk: Walk, result: Result | None) -> None:
    listed = json.loads(ok(result).stdout)
    assert isinstance(listed, list) and len(listed) == 1
    item = listed[0]
    assert {"id", "prefix", "last_used_at", "expires_at", "revoked"} <= set(item)
    assert item["prefix"] == walk.seen["first_token"][:12]
    assert item["revoked"] is False and item["expires_at"] is None
    walk.seen["first_id"] = item["id"]


def id_captured(walk: Walk, result: Result | None) -> None:
    assert ok(result).value == walk.seen["first_id"]


def regenerated_with_grace(walk: Walk, result: Result | None) -> None:
    new = ok(result).value
    old = walk.seen["first_token"]
    assert new is not None and new.startswith("scimhub_") and new != old
    # Both work during the grace period, which ends in 24 hours.
    assert walk.authenticates(new) and walk.authenticates(old)
    previous = next(t for t in walk.tenant_tokens() if t.id == walk.seen["first_id"])
    assert previous.expires_at is not None
    left = previous.expires_at - datetime.now(UTC)
    assert timedelta(hours=23, minutes=59) < left <= timedelta(hours=24)


def old_token_revoked(walk: Walk, result: Result | None) -> None:
    ok(result)
    assert not walk.authenticates(walk.seen["first_token"])
    assert walk.authenticates(walk.shell.variables["TOKEN"])
    previous = next(t for t in walk.tenant_tokens() if t.id == walk.seen["first_id"])
    assert previous.revoked


def served(walk: Walk, result: Result | None) -> None:
    assert result is None  # in the background
    walk.wait_for_server()
    # Over HTTP too: the revoked token is refused, the new one accepted.
    old = {"Authorization": f"Bearer {walk.seen['first_token']}"}
    assert httpx.get(f"{walk.origin}/scim/v2/acme/Users", headers=old).status_code == 401


def user_provisioned(walk: Walk, result: Result | None) -> None:
    created = json.loads(ok(result).stdout)
    assert created["userName"] == "ada@example.com" and created["id"]
    assert created["meta"]["location"] == f"{walk.origin}/scim/v2/acme/Users/{created['id']}"
    walk.seen["user_id"] = created["id"]


def users_listed(walk: Walk, result: Result | None) -> None:
    listing = json.loads(ok(result).stdout)
    assert listing["totalResults"] == 1
    assert [u["id"] for u in listing["Resources"]] == [walk.seen["user_id"]]


def settings_read(walk: Walk, result: Result | None) -> None:
    view = json.loads(ok(result).stdout)
    assert view["base_url"] == f"{walk.origin}/scim/v2/acme"
    assert view["ready"] is True and view["refusal"] is None
    assert view["active_tokens"] == 1
    okta = next(g for g in view["idps"] if g["id"] == "okta")
    fields = {f["label"]: f["value"] for f in okta["fields"]}
    assert fields["SCIM connector base URL"] == view["base_url"]


Check = Callable[[Walk, Result | None], None]

URL = r'"http://127\.0\.0\.1:\$\{SCIMHUB_PORT:-8000\}'
STEPS: list[tuple[str, Check]] = [
    (r"scimhub db upgrade", upgraded),
    (r'scimhub tenant create acme --name "Acme Corp"', tenant_created),
    (r"scimhub token create --tenant acme", token_refused_without_sso),
    (
        r"scimhub sso set --tenant acme --protocol saml --idp-id \S+ --metadata-url \S+",
        sso_configured,
    ),
    (r"scimhub sso verify --tenant acme", sso_active),
    (r"TOKEN=\$\(scimhub token create --tenant acme\)", token_created),
    (r"KEY=\$\(scimhub admin-key create --tenant acme --role owner\)", owner_key_created),
    (r"scimhub token list --tenant acme --json", tokens_listed),
    (r"ID=\$\(scimhub token list --tenant acme --json \| .*\)", id_captured),
    (
        r'TOKEN=\$\(scimhub token regenerate --tenant acme "\$ID" --grace 24h\)',
        regenerated_with_grace,
    ),
    (r'scimhub token revoke --tenant acme "\$ID"', old_token_revoked),
    (r"scimhub serve &", served),
    (r"curl .*\$TOKEN.* -d .* " + URL + r'/scim/v2/acme/Users"', user_provisioned),
    (r'curl -s -H "Authorization: Bearer \$TOKEN" ' + URL + r'/scim/v2/acme/Users"', users_listed),
    (
        r'curl -s -H "Authorization: Bearer \$KEY" ' + URL + r'/admin/v1/tenants/acme/scim"',
        settings_read,
    ),
]


def test_the_readme_walkthrough_runs_as_written(shell: Shell) -> None:
    commands = walkthrough()
    assert len(commands) == len(STEPS), commands
    walk = Walk(shell)
    try:
        for command, (pattern, check) in zip(commands, STEPS, strict=True):
            assert re.fullmatch(pattern, command), (command, pattern)
            check(walk, shell.run(command))
    finally:
        walk.db.dispose()
