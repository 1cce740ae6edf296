"""The console's files (issue 23): served at / from the binary, with their types, a strict CSP and revalidation,
never in the way of an API route."""
import pathlib
import re
import subprocess

import pytest

from conftest import ADMIN

CONSOLE = pathlib.Path(__file__).resolve().parents[2] / "console"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
TYPES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
         "app.css": "text/css; charset=utf-8"}


@pytest.mark.parametrize("path, name", [("/", "index.html"), ("/console/index.html", "index.html"),
                                        ("/console/app.js", "app.js"), ("/console/app.css", "app.css")])
def test_console_files_are_served_with_their_type_and_policy(server, path, name):
    r = server.get(path)
    assert r.status_code == 200
    assert r.content == (CONSOLE / name).read_bytes()
    assert r.headers["Content-Type"] == TYPES[name]
    assert r.headers["Content-Security-Policy"] == CSP
    assert r.headers["Cache-Control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{20}"', r.headers["ETag"])
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Referrer-Policy"] == "no-referrer"
    assert int(r.headers["Content-Length"]) == len(r.content)


def test_the_whole_console_is_small_and_has_no_inline_code():
    files = sorted(p.name for p in CONSOLE.iterdir())
    assert files == ["app.css", "app.js", "index.html"]
    assert sum(p.stat().st_size for p in CONSOLE.iterdir()) < 48 * 1024
    html = (CONSOLE / "index.html").read_text()
    # the CSP would refuse these anyway; the page must not need them
    assert re.findall(r"<script\b[^>]*>", html) == ['<script src="/console/app.js" defer>']
    assert not re.search(r"<style\b|\son[a-z]+\s*=|\sstyle\s*=|javascript:", html, re.I)
    assert not re.search(r"https?://", html + (CONSOLE / "app.css").read_text()), "no CDN, no external font"
    js = (CONSOLE / "app.js").read_text()
    assert not re.search(r"\binnerHTML\b|\beval\(|new Function|https?://", js)


def test_a_fresh_machine_gets_the_browser_the_tests_drive():
    """CI (.ci/run) starts from a bare Debian 12 and installs only scripts/deps.sh's list: Debian's package that
    provides the tests' Chromium, fonts for its screenshots and the DevTools client must be in it."""
    root = CONSOLE.parent
    assert "bash scripts/deps.sh" in (root / ".ci" / "run").read_text()
    block = re.search(r"^PACKAGES=\((.*?)^\)", (root / "scripts" / "deps.sh").read_text(), re.S | re.M).group(1)
    packages = set(re.sub(r"#.*", "", block).split())
    owner = subprocess.run(["dpkg-query", "-S", "/usr/bin/chromium"], capture_output=True, text=True, check=True)
    assert owner.stdout == "chromium: /usr/bin/chromium\n"
    assert {"chromium", "fonts-dejavu-core", "python3-websocket"} <= packages


def test_a_browser_revalidates_with_the_etag(server):
    first = server.get("/console/app.js")
    tag = first.headers["ETag"]
    again = server.get("/console/app.js", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert "Content-Length" not in again.headers  # RFC 9110 8.6: a 304 would describe the body it does not send
    assert again.headers["ETag"] == tag and again.headers["Cache-Control"] == "no-cache"
    assert server.get("/console/app.js", headers={"If-None-Match": f'W/"x", {tag}'}).status_code == 304
    assert server.get("/console/app.js", headers={"If-None-Match": "*"}).status_code == 304
    other = server.get("/console/app.js", headers={"If-None-Match": '"0123456789abcdef0123"'})
    assert other.status_code == 200 and other.content == first.content
    assert server.get("/", headers={"If-None-Match": tag}).status_code == 200  # another file, another tag


def test_head_answers_the_headers_alone(server):
    r = server.request("HEAD", "/")
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["Content-Length"]) == (CONSOLE / "index.html").stat().st_size
    assert r.headers["Content-Type"] == TYPES["index.html"]


@pytest.mark.parametrize("path", ["/console/nope.js", "/console/%2e%2e%2fCMakeLists.txt", "/console/app.js.map",
                                  "/console", "/console/a/b"])
def test_anything_else_under_console_is_the_routers_404(server, path):
    r = server.get(path)
    assert r.status_code == 404
    assert r.json() == {"error": f"no route for {r.request.path_url}", "code": "not_found"}
    if path.count("/") == 2:  # a name /console/:file does not know: the console's policy all the same
        assert r.headers["Content-Security-Policy"] == CSP
        assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
        assert "ETag" not in r.headers


def test_other_methods_on_the_console_are_405(server):
    r = server.post("/", data=b"x")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"


def test_the_api_keeps_its_answers_next_to_the_console(server):
    assert server.get("/health").json() == {"status": "ok"}
    assert server.get("/workspaces").status_code == 401
    assert server.get("/workspaces", headers=ADMIN).headers["Content-Type"] == "application/json; charset=utf-8"
