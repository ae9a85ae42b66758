#!/usr/bin/env python3
"""Tell my teacher, timed end to end: a real kiosk (release build) under Xvfb + openbox,
enrolled to a real satchel-server on loopback, with the teacher's report inbox open in
headless Chromium.

For each of --clicks presses of the toolbar's Tell button (xdotool), on a lesson page that
fills the content view with one colour, three times from the moment the click is sent (XTEST):
  covered  - the page's colour has left the screen (pixel read with XGetImage, ~5 ms apart);
  stored   - the report is in the server's database (read with sqlite3, ~5 ms apart);
  visible  - the report's row is in the console page in Chromium, put there over SSE without
             a reload (WebDriver script, a few ms per read).
Prints median and p95 of each; goals: covered <= 100 ms, visible <= 1 s.

Needs the release binaries (cargo build --release), Xvfb, openbox, xdotool (to reach the
lesson page), chromium and chromium-driver.
"""

import argparse
import http.cookiejar
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kiosk_startup as ks  # noqa: E402  (the X11 reader, the display and process helpers)

REPO = Path(__file__).resolve().parent.parent
GREEN = 0x33CC33
TILE = (178, 294)
TELL = (1158, 40)
PROBE = (640, 600)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_green_page():
    import http.server

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'<!doctype html><body style="margin:0;background:#33cc33;height:100vh"></body>'
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def admin(data, *args):
    return subprocess.run([str(REPO / "target/release/satchel-server"), "--data", str(data), *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def console_session(base, name, password, chosen):
    """A logged-in urllib opener and the session's CSRF token, the one-time password from
    add-user replaced by `chosen` (the console asks for that at the first login)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    page = opener.open(f"{base}/login", urllib.parse.urlencode({"csrf": csrf, "name": name, "password": password}).encode())
    if page.geturl().endswith("/password"):
        csrf = re.search(r'name="csrf" (?:value|content)="([^"]+)"', page.read().decode()).group(1)
        fields = {"csrf": csrf, "current": password, "new": chosen, "repeat": chosen}
        opener.open(f"{base}/password", urllib.parse.urlencode(fields).encode())
    page = opener.open(f"{base}/lessons").read().decode()
    return opener, re.search(r'name="csrf" content="([^"]+)"', page).group(1)


class WebDriver:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", f"--user-data-dir={tempfile.mkdtemp()}"]}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(request))["value"]

    def run(self, script):
        return self.call("POST", f"/session/{self.session}/execute/sync", {"script": script, "args": []})

    def element(self, selector):
        found = self.call("POST", f"/session/{self.session}/element", {"using": "css selector", "value": selector})
        return next(iter(found.values()))


class Pointer:
    """Clicks through the XTEST extension directly: xdotool takes about 100 ms to start and
    send a click, which would swamp the figures."""

    def __init__(self, display):
        import ctypes
        self.x11 = ctypes.CDLL("libX11.so.6")
        self.xtst = ctypes.CDLL("libXtst.so.6")
        self.x11.XOpenDisplay.restype = ctypes.c_void_p
        self.x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.x11.XFlush.argtypes = [ctypes.c_void_p]
        self.xtst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_ulong]
        self.xtst.XTestFakeButtonEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
        self.display = self.x11.XOpenDisplay(display.encode())

    def move(self, x, y):
        self.xtst.XTestFakeMotionEvent(self.display, -1, x, y, 0)
        self.x11.XFlush(self.display)

    def click(self):
        self.xtst.XTestFakeButtonEvent(self.display, 1, True, 0)
        self.xtst.XTestFakeButtonEvent(self.display, 1, False, 0)
        self.x11.XFlush(self.display)


def wait(what, condition, timeout=30, poll=0.005):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(poll)
    return time.monotonic()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=20)
    args = parser.parse_args()
    ks.become_subreaper()
    work = Path(tempfile.mkdtemp(prefix="satchel-tell-"))
    processes = []
    try:
        data = work / "server"
        page_port, server_port, driver_port = serve_green_page(), free_port(), free_port()
        base = f"http://127.0.0.1:{server_port}"
        admin(data, "add-room", "Class 1")
        (work / "sites").write_text("http://allowed.test/ | Page | 🌳\n")
        admin(data, "add-lesson", "Colours", "--sites", str(work / "sites"))
        password = admin(data, "add-user", "teacher", "--role", "teacher", "--room", "Class 1")
        processes.append(subprocess.Popen([str(REPO / "target/release/satchel-server"), "--data", str(data), "--listen", f"127.0.0.1:{server_port}"],
                                          stderr=open(work / "server.log", "wb"), start_new_session=True))
        wait("the server", lambda: subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{server_port}"], capture_output=True).returncode == 0, poll=0.1)
        password, one_time = "a bench teacher's own password", password
        opener, csrf = console_session(base, "teacher", one_time, password)
        opener.open(f"{base}/lessons/1/start", urllib.parse.urlencode({"csrf": csrf, "room": "1", "minutes": "240"}).encode())

        config = work / "kiosk.toml"
        config.write_text(f'state_dir = "state"\n[hosts]\n"allowed.test" = "127.0.0.1:{page_port}"\n')
        code = admin(data, "enrol-code", "--room", "Class 1")
        subprocess.run([str(REPO / "target/release/satchel"), "enrol", "--server", base, "--code", code, "--name", "PC-01", "--config", str(config)],
                       check=True, capture_output=True)
        display, helpers = ks.start_display(work)
        processes += helpers
        env = dict(os.environ, DISPLAY=display, SATCHEL_LOG=os.environ.get("SATCHEL_LOG", "warn"))
        processes.append(subprocess.Popen([str(REPO / "target/release/satchel"), "--config", str(config)], env=env,
                                          stderr=open(work / "kiosk.log", "wb"), start_new_session=True))
        processes.append(subprocess.Popen(["chromedriver", f"--port={driver_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        wait("chromedriver", lambda: subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{driver_port}"], capture_output=True).returncode == 0, poll=0.1)
        browser = WebDriver(driver_port)
        browser.call("POST", f"/session/{browser.session}/url", {"url": f"{base}/login"})
        browser.call("POST", f"/session/{browser.session}/element/{browser.element('input[name=name]')}/value", {"text": "teacher"})
        browser.call("POST", f"/session/{browser.session}/element/{browser.element('input[name=password]')}/value", {"text": password})
        browser.call("POST", f"/session/{browser.session}/element/{browser.element('form.login button')}/click", {})
        time.sleep(1)
        browser.call("POST", f"/session/{browser.session}/url", {"url": f"{base}/reports"})

        screen = ks.X11(display)
        pointer = Pointer(display)
        database = sqlite3.connect(data / "satchel.db")
        reports = lambda: database.execute("SELECT count(*) FROM reports").fetchone()[0]
        rows = lambda: browser.run("return document.querySelectorAll('#reports tbody tr').length")
        covered, stored, visible = [], [], []
        for click in range(args.clicks):
            def on_page():
                if screen.pixel(*PROBE) == GREEN:
                    return True
                # Home (the thank-you page of the last click is showing), then the lesson's tile.
                subprocess.run(["xdotool", "mousemove", "68", "40", "click", "1"], env=env)
                time.sleep(0.4)
                subprocess.run(["xdotool", "mousemove", str(TILE[0]), str(TILE[1]), "click", "1"], env=env)
                time.sleep(0.4)
                return False
            wait("the lesson page", on_page, poll=0)
            pointer.move(*TELL)
            time.sleep(0.5)
            start = time.monotonic()
            pointer.click()
            covered.append(wait("the page to be covered", lambda: screen.pixel(*PROBE) != GREEN) - start)
            stored.append(wait("the report on the server", lambda: reports() == click + 1) - start)
            visible.append(wait("the report in the console", lambda: rows() == click + 1, poll=0.002) - start)
            print(f"click {click + 1}: covered {covered[-1] * 1e3:.0f} ms, stored {stored[-1] * 1e3:.0f} ms, visible {visible[-1] * 1e3:.0f} ms", file=sys.stderr)

        def row(name, values, goal):
            values = sorted(v * 1e3 for v in values)
            p95 = values[min(len(values) - 1, int(round(0.95 * len(values) + 0.5)) - 1)]
            met = "" if goal is None else ("yes" if p95 <= goal else "no")
            return f"| {name} | {statistics.median(values):.0f} ms | {p95:.0f} ms | {'' if goal is None else f'≤ {goal} ms'} | {met} |"
        print(f"## Tell my teacher, {args.clicks} clicks (release build, loopback, {os.cpu_count()} CPUs)\n")
        print("| from the click to | median | p95 | goal | met (p95)? |\n|---|---|---|---|---|")
        print(row("the page covered", covered, 100))
        print(row("the report stored on the server", stored, None))
        print(row("the report visible in the console", visible, 1000))
    finally:
        ks.kill_everything(processes)


if __name__ == "__main__":
    main()
