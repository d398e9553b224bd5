"""`archc lsp`, driven by a scripted client over its protocol (JSON-RPC on stdio):
initialize, didOpen with an error, publishDiagnostics, hover, definition, formatting,
didChange that fixes the error, shutdown."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pygls")

ROOT = Path(__file__).resolve().parents[1]
BROKEN = """import std

space tiny {
    input image: [3, 64, 48]
    let k = choice(3, 5, 7)
    let x = image -> conv(16, k=k, stride=2) -> bn -> cnov(8)
    output heatmaps = x -> deconv_head([32], joints=17)
}
"""


class Client:
    """A minimal LSP client: Content-Length framed JSON-RPC over the server's pipes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "archc", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.next_id = 0
        self.notifications: list[dict] = []

    def send(self, method: str, params: dict, request: bool = True) -> int | None:
        message = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self.next_id += 1
            message["id"] = self.next_id
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        return message.get("id")

    def read(self) -> dict:
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("the server closed its output")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return json.loads(self.proc.stdout.read(length))

    def request(self, method: str, params: dict) -> dict:
        wanted = self.send(method, params)
        while True:
            message = self.read()
            if message.get("id") == wanted and "method" not in message:
                assert "error" not in message, message
                return message.get("result")
            if "method" in message:
                self.notifications.append(message)

    def notification(self, method: str) -> dict:
        for i, message in enumerate(self.notifications):
            if message["method"] == method:
                return self.notifications.pop(i)
        while True:
            message = self.read()
            if message.get("method") == method:
                return message
            self.notifications.append(message)

    def close(self) -> None:
        self.request("shutdown", {})
        self.send("exit", {}, request=False)
        self.proc.wait(timeout=20)


@pytest.fixture
def client():
    c = Client()
    yield c
    if c.proc.poll() is None:
        c.proc.kill()


def test_a_scripted_editor_session(tmp_path, client):
    path = tmp_path / "tiny.arch"
    path.write_text(BROKEN)
    uri = path.as_uri()
    caps = client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    server_caps = caps["capabilities"]
    assert server_caps["hoverProvider"] and server_caps["definitionProvider"]
    assert server_caps["documentFormattingProvider"]
    client.send("initialized", {}, request=False)
    doc = {"uri": uri, "languageId": "arch", "version": 1, "text": BROKEN}
    client.send("textDocument/didOpen", {"textDocument": doc}, request=False)

    published = client.notification("textDocument/publishDiagnostics")["params"]
    assert published["uri"] == uri
    (diagnostic,) = published["diagnostics"]
    assert (
        diagnostic["message"]
        == "unknown name `cnov`\nhint: did you mean `conv`, `mbconv`, `deconv`?"
    )
    assert diagnostic["range"]["start"] == {"line": 5, "character": 54}
    assert diagnostic["severity"] == 1 and diagnostic["code"] == "E202"

    fixed = BROKEN.replace("cnov(8)", "conv(8)")
    change = {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}
    client.send("textDocument/didChange", change, request=False)
    assert client.notification("textDocument/publishDiagnostics")["params"]["diagnostics"] == []

    at = {"textDocument": {"uri": uri}}
    hover = client.request("textDocument/hover", {**at, "position": {"line": 4, "character": 14}})
    assert hover["contents"]["value"] == "choice `k` (int): {3, 5, 7}\nrealise=elastic, default=3"
    hover = client.request("textDocument/hover", {**at, "position": {"line": 5, "character": 22}})
    assert hover["contents"]["value"] == "`conv` (conv): [16, 32, 24]"

    found = client.request(
        "textDocument/definition", {**at, "position": {"line": 6, "character": 28}}
    )
    assert found["uri"].endswith("grammars/std/heads.arch")
    assert found["range"]["start"]["character"] == 0

    edits = client.request(
        "textDocument/formatting", {**at, "options": {"tabSize": 4, "insertSpaces": True}}
    )
    assert edits == []  # already canonical
    messy = fixed.replace("let k = choice(3, 5, 7)", "let k=choice(3,5,7)")
    change = {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": messy}]}
    client.send("textDocument/didChange", change, request=False)
    client.notification("textDocument/publishDiagnostics")
    (edit,) = client.request(
        "textDocument/formatting", {**at, "options": {"tabSize": 4, "insertSpaces": True}}
    )
    assert edit["newText"] == fixed
    client.close()
    assert client.proc.returncode == 0


def test_diagnostics_for_the_largest_example_arrive(client):
    """The server answers the largest example (autopose) with its diagnostics; the time
    is printed for the record, not asserted (shared machines)."""
    path = ROOT / "examples" / "spaces" / "autopose.arch"
    client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    client.send("initialized", {}, request=False)
    doc = {"uri": path.as_uri(), "languageId": "arch", "version": 1, "text": path.read_text()}
    start = time.perf_counter()
    client.send("textDocument/didOpen", {"textDocument": doc}, request=False)
    published = client.notification("textDocument/publishDiagnostics")["params"]
    opened = time.perf_counter() - start
    assert published["diagnostics"] == []
    change = {"textDocument": {"uri": doc["uri"], "version": 2}, "contentChanges": [doc]}
    start = time.perf_counter()
    client.send("textDocument/didChange", change, request=False)
    assert client.notification("textDocument/publishDiagnostics")["params"]["diagnostics"] == []
    changed = time.perf_counter() - start
    print(f"autopose diagnostics: {opened:.2f} s on open, {changed:.2f} s on a change")
    client.close()
