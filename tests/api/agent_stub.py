"""A small A2A agent for the tests: an HTTP server on a free port whose behaviour the test sets: answer, say busy,
fail, hang up, or stay silent. Its URL is an IP literal (no test needs name resolution); it listens on IPv6 too, so
that a test can check that colony does not reach it as [::1] either."""
import json
import socket
import urllib.parse
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class AgentStub:
    def __init__(self):
        self.mode = "echo"       # echo | busy | error | empty | close | slow | reply | raw
        self.reply_with = (200, None)  # reply mode: this status and JSON body, whatever was sent
        self.raw_reply = b""     # raw mode: 200 with these bytes as the body (application/json, whatever they are)
        self.slow_s = 0.0
        self.usage = None        # echo replies carry result.usage when set ({"input_tokens", "output_tokens"})
        self.delivered = []      # JSON bodies answered in echo mode
        self.seen = []           # (path, headers, raw body) of every request
        self.files = {}          # path -> bytes served at GET /internal/file/read?path= (chat download)
        self.file_gate = None    # a threading.Event: file reads wait for it (counted in file_waiting) before answering
        self.file_waiting = 0
        self.file_headers = {}   # extra response headers of file reads (replacing the defaults of the same name)
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with stub.lock:
                    stub.seen.append((self.path, dict(self.headers), raw))
                    mode = stub.mode
                if self.path == "/internal/chat/uploads/ingest":
                    return self.reply(200, {"received": len(raw)})
                if mode == "close":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "busy":
                    return self.reply(503, {"error": "at capacity"})
                if mode == "error":
                    return self.reply(500, {"error": "boom"})
                if mode == "empty":
                    return self.reply(200, None)
                if mode == "raw":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(stub.raw_reply)))
                    self.end_headers()
                    self.wfile.write(stub.raw_reply)
                    return
                if mode == "reply":
                    with stub.lock:
                        stub.delivered.append(json.loads(raw))
                    return self.reply(*stub.reply_with)
                if mode == "slow":
                    time.sleep(stub.slow_s)
                body = json.loads(raw)
                with stub.lock:
                    stub.delivered.append(body)
                msg = body.get("params", {}).get("message", {})
                text = next((p.get("text") for p in msg.get("parts", []) if p.get("kind") == "text"), "")
                result = {"role": "agent", "messageId": "reply-" + str(msg.get("messageId")),
                          "parts": [{"kind": "text", "text": "echo: " + text}]}
                if stub.usage is not None:
                    result["usage"] = stub.usage
                self.reply(200, {"jsonrpc": "2.0", "id": body.get("id"), "result": result})

            def do_GET(self):
                with stub.lock:
                    stub.seen.append((self.path, dict(self.headers), b""))
                    files = dict(stub.files)
                    gate = stub.file_gate
                    if gate is not None:
                        stub.file_waiting += 1
                if gate is not None:
                    gate.wait(30)
                url = urllib.parse.urlsplit(self.path)
                path = urllib.parse.parse_qs(url.query).get("path", [""])[0]
                if url.path != "/internal/file/read" or path not in files:
                    return self.reply(404, {"error": "file not found"})
                data = files[path]
                self.send_response(200)
                headers = {"Content-Type": "text/markdown",
                           "Content-Disposition": f'attachment; filename="{path.rsplit("/", 1)[-1]}"',
                           "X-Internal": "not relayed", **stub.file_headers}
                for k, v in headers.items():
                    if v is not None:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def reply(self, status, obj):
                data = b"" if obj is None else json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = _Server(("::", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def deliveries_of(self, message_id):
        with self.lock:
            return [b for b in self.delivered if b.get("params", {}).get("message", {}).get("messageId") == message_id]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
