"""Instructions per `POST /Users`, counted by valgrind: a measure of the create path's
cost that this VM's drifting speed does not move (CPU time per request drifts by up to
2x within minutes here; two counts of the same code agree within ~2%).

The app runs in-process (ASGI, no HTTP, no event worker) on a fresh SQLite database.
Two runs, with `--warm` and with `--warm + --creates` creates, under
`valgrind --tool=cachegrind --cache-sim=no`; their difference over `--creates` is the
count per create, start-up and imports cancelled out. ~80 s; needs valgrind.

    python bench/instructions.py                       # this checkout
    python bench/instructions.py --pythonpath ../old/src   # another checkout's code

Not part of `run.py`: instructions leave out system calls, waiting and the HTTP stack.
It is for comparing two versions of the code, which `docs/benchmarks.md` does."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from load import user_body


def _child(creates: int, workdir: Path) -> None:
    from scimhub.db.migrate import upgrade
    from scimhub.settings import Settings
    from scimhub.web.app import create_app

    url = f"sqlite:///{workdir / 'scimhub.db'}"
    upgrade(url)
    scimhub = [sys.executable, "-m", "scimhub"]
    subprocess.run(
        [*scimhub, "demo", "--database-url", url, "--base-url", "http://bench"],
        capture_output=True,
        check=True,
    )
    token = subprocess.run(
        [*scimhub, "token", "create", "--tenant", "demo", "--database-url", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    app = create_app(Settings(database_url=url, worker_in_serve=False))

    async def post(body: bytes) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/scim/v2/demo/Users",
            "raw_path": b"/scim/v2/demo/Users",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"bench"),
                (b"authorization", f"Bearer {token}".encode()),
                (b"content-type", b"application/scim+json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "server": ("bench", 80),
            "client": ("bench", 1),
        }
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    async def main() -> None:
        async with app.router.lifespan_context(app):
            for i in range(creates):
                body = json.dumps(user_body(i, f"user{i}@example.com")).encode()
                status = await post(body)
                if status != 201:
                    raise SystemExit(f"POST /Users answered {status}")

    asyncio.run(main())


def _count(creates: int, pythonpath: str | None) -> int:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    with tempfile.TemporaryDirectory(prefix="scimhub-instructions-") as workdir:
        command = ["valgrind", "--tool=cachegrind", "--cache-sim=no"]
        command += ["--cachegrind-out-file=/dev/null", sys.executable, __file__]
        command += ["--child", str(creates), "--workdir", workdir]
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=500, help="creates counted (500)")
    parser.add_argument("--warm", type=int, default=200, help="creates before them (200)")
    parser.add_argument("--pythonpath", help="run another checkout's code (its src/)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child, args.workdir)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    short = _count(args.warm, args.pythonpath)
    long = _count(args.warm + args.creates, args.pythonpath)
    per_create = (long - short) / args.creates
    print(f"{per_create / 1e6:.3f} M instructions per POST /Users ({short:,} / {long:,})")


if __name__ == "__main__":
    main()
