"""A scripted OpenAI-compatible chat server on 127.0.0.1 (a real HTTP server, driven by the official client)."""

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "test-model"
GOOD = '{"dimensions": [{"index": 3, "pole": "positive"}, {"index": 17, "pole": "negative"}]}'


HOLD_LIMIT = 60.0  # a held answer goes out after this long anyway: it bounds a hang, it proves nothing


def answer(text, hold=None):
    """An answer `text`, sent at once or, when `hold` is set, once `hold` (a threading.Event or Barrier) lets the
    request's thread through."""
    return {"status": 200, "content": text, "hold": hold}


def error(status, message="error"):
    return {"status": status, "message": message, "hold": None}


class FakeServer:
    """`POST /v1/chat/completions` answers the next scripted behaviour (then `default`); records every request.
    `respond`, when set, is asked first with the request body: a behaviour it returns wins (None: the script)."""

    def __init__(self, models=(MODEL,)):
        self.models, self.script, self.default = models, deque(), answer(GOOD)
        self.respond = None
        self.requests, self.keys = [], []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_port}/v1"

    def handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != "/v1/models" or server.models is None:
                    return self.reply(404, {"error": {"message": "not found"}})
                data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in server.models]
                self.reply(200, {"object": "list", "data": data})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.keys.append(self.headers.get("Authorization"))
                    step = server.respond(body) if server.respond else None
                    if step is None:
                        step = server.script.popleft() if server.script else server.default
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if step["hold"] is not None:
                        # An Event: until the test sets it. A Barrier: until all its parties wait (a broken or
                        # timed-out one raises here, and the request gets no answer at all).
                        step["hold"].wait(HOLD_LIMIT)
                    if step["status"] != 200:
                        return self.reply(step["status"], {"error": {"message": step["message"]}})
                    self.reply(200, {
                        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": body["model"],
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": step["content"]}}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def reply(self, status, payload):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("retry-after-ms", "10")  # the client's backoff, kept short
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout) and closed the connection
                    pass

        return Handler

    def __enter__(self):
        threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.http.shutdown()
        self.http.server_close()
