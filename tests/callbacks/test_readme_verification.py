"""The README's Node verification snippet, run by a real ``node`` against signatures made
by ``callbacks.signing``: it accepts a good one and refuses a tampered body, a tampered
timestamp, an old timestamp and a malformed header. (No PHP interpreter here: the PHP lines
are the same steps with hash_hmac and hash_equals.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from callbacks.signing import sign

README = Path(__file__).resolve().parents[2] / "README.md"
SECRET = "readme-secret-0123456789"
BODY = b'{"id":"post-1","status":"graded"}'

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="no node here")


def node_snippet() -> str:
    section = README.read_text(encoding="utf-8").split("### Result callbacks", 1)[1]
    return re.search(r"```js\n(.*?)```", section, re.S).group(1)


def node_says(header: str, body: bytes) -> bool:
    program = (
        "const crypto = require('crypto');\n"
        f"const secret = {json.dumps(SECRET)};\n"
        f"const rawBody = Buffer.from({json.dumps(body.decode())});\n"
        f"const req = {{headers: {{'x-qualitygate-signature': {json.dumps(header)}}}}};\n"
        + node_snippet()
        + "process.stdout.write(JSON.stringify(ok));\n"
    )
    done = subprocess.run(["node", "-e", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_node_accepts_a_good_signature_and_refuses_tampering() -> None:
    now = int(time.time())
    header = sign(SECRET, BODY, timestamp=now)
    assert node_says(header, BODY) is True
    assert node_says(header, BODY.replace(b"graded", b"error!")) is False
    assert node_says(header.replace(f"t={now}", f"t={now + 1}"), BODY) is False
    assert node_says(sign(SECRET, BODY, timestamp=now - 600), BODY) is False
    assert node_says("garbage", BODY) is False
