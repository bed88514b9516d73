"""`csteer ask` with the trained coach behind an OpenAI-compatible server: exactly the reference's messages
and the trained sampling go over the wire. A recording server on loopback plays both models."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from csteer.runtime import prompts
from csteer.runtime.checkers import reference_summary
from tests.helpers import run_csteer

Q = "What is 6 * 7?"
CODE = "print(f'<<<{6 * 7}>>>')"
PROGRAM = f"Sure.\n```python\n{CODE}\n```"
CHECKER = "```python\nprint('Correct')\n```"
FIRST = "Exact arithmetic: code.\n<<<Code>>>"
GUIDE = "Print it once more in the format <<<answer>>>."
STOP = "Both agree. Return Answer"
CLOSING = "The final returned guidance prompt should be of the format <<<guidance prompt content>>>."


class Recorder:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.coach_replies = [FIRST, GUIDE, STOP]

    def reply(self, body: dict[str, Any]) -> str:
        self.bodies.append(body)
        if body["model"] == "coach":
            return self.coach_replies.pop(0)
        return CHECKER if "Your checking code:" in body["messages"][-1]["content"] else PROGRAM


@pytest.fixture
def server() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = recorder.reply(body)
            out = json.dumps(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", recorder
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_ask_sends_the_trained_interface_over_the_wire(server: tuple[str, Recorder], tmp_path: Path) -> None:
    url, recorder = server
    args = ["ask", "--no-server", "--no-log", "--json", "--profile", "codesteer-v1", "--max-turns", "2"]
    args += ["--coach", f"openai:coach@{url}", "-m", f"openai:task@{url}", Q]
    done = run_csteer(args, tmp_path / "home", timeout=300)
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["answer"] == "42" and run["stop_reason"] == "return_answer"
    assert "own wording" in done.stderr  # no trained prompt.py stored: csteer's wording, said once

    interface = prompts.PROFILES["codesteer-v1"].interface
    assert interface is not None
    texts = interface.texts
    shown = PROGRAM + "\nThe execution result from the generated code is:\noutput: <<<42>>>\n, errors: "
    summary = reference_summary(CODE).text
    review = (
        f"The response from TaskLLM is: {shown}\n\nThe feedback from the checking agent is:\noutput: Correct\n\n\n"
        f"The summary of generated code complexity is: {summary}\n\n{CLOSING}"
    )
    coach = [b for b in recorder.bodies if b["model"] == "coach"]
    task = [b for b in recorder.bodies if b["model"] == "task" and "Your checking code:" not in str(b)]
    checks = [b for b in recorder.bodies if b["model"] == "task" and "Your checking code:" in str(b)]
    first = {"role": "user", "content": texts["choice"] + Q}
    assert [b["messages"] for b in coach] == [
        [first],
        [first, {"role": "assistant", "content": FIRST}, {"role": "user", "content": review}],
        [
            first,
            {"role": "assistant", "content": FIRST},
            {"role": "user", "content": review},
            {"role": "assistant", "content": GUIDE},
            {"role": "user", "content": review},
        ],
    ]
    for body in coach:  # sampled as trained; no grammar or other constraint
        assert (body["temperature"], body["top_p"], body["top_k"], body["max_tokens"]) == (
            0.95,
            0.7,
            50,
            1024,
        )
        assert "grammar" not in body and "response_format" not in body
    assert task[0]["messages"] == [{"role": "user", "content": FIRST + Q}]
    assert task[1]["messages"][-1] == {"role": "user", "content": GUIDE}  # verbatim, inner marker kept
    assert all((b["temperature"], b["max_tokens"]) == (0.0, 2000) for b in task + checks)
    assert all("top_p" not in b and "top_k" not in b for b in task + checks)
    check = f"{texts['checker']}\nThe question is:\n{Q}\nThe response is:\n{shown}\nYour checking code:\n"
    assert [b["messages"] for b in checks] == [[{"role": "user", "content": check}]] * 2
