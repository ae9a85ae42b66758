#!/usr/bin/env python3
"""Satchel's kiosk against Debian's Chromium in --kiosk mode: start-up time and idle memory.

What it measures, per browser, over --runs runs each (interleaved: satchel, chromium,
satchel, chromium, ... so that slow drift of the machine hits both alike), after --warmup
discarded rounds that bring both browsers' files into the page cache:

1. Cold start to the Home page painted (ms): from just before the browser process is
   spawned until a known pixel inside the Home page's first tile has the tile's colour on
   the screen. The pixel is read straight from the X server (libX11's XGetImage on a 1x1
   region of the root window, through ctypes) every --poll-ms milliseconds; the achieved
   polling interval and the worst gap between two reads are printed, since the figure is
   only as fine as they are. "Cold" means a new process with a fresh profile (Satchel: a new
   state_dir; Chromium: a new --user-data-dir) and a new X display; the system's own caches
   (page cache, fontconfig, Mesa shaders) stay as warm as the warm-up round left them.

2. Idle memory (MiB): about --idle seconds after the page is painted, the PSS of every
   process the browser started, read from /proc/<pid>/smaps_rollup and summed. PSS shares
   each shared page out between the processes mapping it, so the sum neither counts shared
   libraries twice nor forgets them. "Every process" means the main process and all of its
   descendants (WebKitWebProcess and WebKitNetworkProcess and their bubblewrap sandboxes;
   Chromium's zygotes, renderer, GPU and utility processes), including helpers that
   double-fork away from their parent such as chrome_crashpad_handler: this script makes
   itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so such orphans are re-parented
   to it instead of to init and stay findable. Xvfb and openbox are not counted.

Each run gets its own Xvfb display (1280x800x24, a free number picked by -displayfd) with
openbox as window manager (both browsers go fullscreen through the window manager), and
everything the run started is killed before the next one. A run that has not painted
after --timeout seconds is killed and reported as failed; the figures use the runs that
succeeded.

The page: Satchel shows its own Home page (satchel://pupil/home.html, the built-in KS1
tiles) under its 80 px toolbar. Chromium is given the same page: assets/pupil/home.html
filled in the way the kiosk fills it (assets/README.md: en-GB messages, the tiles of
allowlists/ks1-tiles.toml, the Google search form), with pupil.css and pupil.js beside it,
served by Python's http.server on 127.0.0.1 from a thread of this script.

The probe points (inside the first tile, away from its rounded corners, emoji and title)
were chosen from screenshots of both browsers at 1280x800; Satchel's is lower because of
its toolbar and its Listen button (see SATCHEL_POINT). --screenshots DIR saves a
screenshot of every run (taken after the memory reading) to check them; --satchel-point
and --chromium-point move them.

Both browsers inherit this script's environment (with DISPLAY set to the run's display),
so a WebKitGTK setting can be tried on Satchel alone, e.g.
`WEBKIT_DISABLE_COMPOSITING_MODE=1 bench/kiosk_startup.py`.

Needs: Xvfb, openbox, chromium, libX11.so.6, Python 3.11+ (tomllib); imagemagick's
`import` only for --screenshots and for the screenshot saved when a run fails.
"""

import argparse
import ctypes
import functools
import html
import http.server
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCREEN = (1280, 800)

# The first tile's colour (allowlists/ks1-tiles.toml, Bitesize): nothing else on either
# screen has it, so seeing it at the probe point means the tile grid has been painted with
# pupil.css applied (the colour reaches the background through the stylesheet).
TILE_COLOUR = 0xCFE5F7
# Per channel, for colour rounding between renderers; the page background (#f4f8fb) and the
# tile's border are far outside this.
COLOUR_TOLERANCE = 3

# Inside the first tile, left of its emoji and clear of its rounded corners, chosen from
# screenshots at 1280x800. In Chromium the tile spans x 33-323, y 85-268. In Satchel it is
# 117 px lower (y 202-385): 80 px of toolbar, plus the Listen button, which pupil.js shows
# only when the browser offers an en-GB voice (WebKitGTK here does, Chromium does not) and
# which makes the sentence row taller. The tile is drawn before pupil.js runs, 37 px higher
# (y 165-348), so Satchel's point lies inside the tile in both layouts.
SATCHEL_POINT = (60, 300)
CHROMIUM_POINT = (60, 180)

START_GOAL = 0.50
MEMORY_GOAL = 0.60

CHROMIUM_FLAGS = [
    "--kiosk", "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-default-browser-check", "--disable-gpu",
    # We run as root, where Chromium refuses to start with its sandbox.
    "--no-sandbox",
]


class RunFailed(Exception):
    pass


# ---------------------------------------------------------------------------------------
# X11 through ctypes: reading one pixel costs one round trip (well under a millisecond),
# where spawning `import` costs 50-100 ms.

class X11:
    _lib = None
    _error_handler = None

    @classmethod
    def lib(cls):
        if cls._lib is None:
            lib = ctypes.CDLL("libX11.so.6")
            lib.XOpenDisplay.restype = ctypes.c_void_p
            lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
            lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
            lib.XDefaultRootWindow.restype = ctypes.c_ulong
            lib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
            lib.XGetImage.restype = ctypes.c_void_p
            lib.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int,
                                      ctypes.c_uint, ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
            lib.XGetPixel.restype = ctypes.c_ulong
            lib.XGetPixel.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
            lib.XDestroyImage.argtypes = [ctypes.c_void_p]
            lib.XInternAtom.restype = ctypes.c_ulong
            lib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
            lib.XGetWindowProperty.argtypes = [
                ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long, ctypes.c_long, ctypes.c_int,
                ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_int),
                ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_void_p)]
            lib.XFree.argtypes = [ctypes.c_void_p]
            # Xlib's default error handler exits the process; a failed read should only
            # count as "not painted yet".
            handler_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
            cls._error_handler = handler_type(lambda display, event: 0)
            lib.XSetErrorHandler.argtypes = [handler_type]
            lib.XSetErrorHandler(cls._error_handler)
            cls._lib = lib
        return cls._lib

    def __init__(self, display):
        self.x = self.lib()
        self.display = self.x.XOpenDisplay(display.encode())
        if not self.display:
            raise RunFailed(f"cannot open X display {display}")
        self.root = self.x.XDefaultRootWindow(self.display)

    def pixel(self, x, y):
        """The 0xRRGGBB colour on screen at (x, y) (24-bit TrueColor), or None."""
        all_planes, z_pixmap = 0xFFFFFFFF, 2
        image = self.x.XGetImage(self.display, self.root, x, y, 1, 1, all_planes, z_pixmap)
        if not image:
            return None
        try:
            return self.x.XGetPixel(image, 0, 0) & 0xFFFFFF
        finally:
            self.x.XDestroyImage(image)

    def window_manager_running(self):
        """True once an EWMH window manager has announced itself on the root window."""
        atom = self.x.XInternAtom(self.display, b"_NET_SUPPORTING_WM_CHECK", True)
        if not atom:
            return False
        kind, fmt = ctypes.c_ulong(), ctypes.c_int()
        count, after, data = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p()
        any_type = 0
        status = self.x.XGetWindowProperty(self.display, self.root, atom, 0, 1, False, any_type, ctypes.byref(kind),
                                           ctypes.byref(fmt), ctypes.byref(count), ctypes.byref(after), ctypes.byref(data))
        if data:
            self.x.XFree(data)
        return status == 0 and count.value > 0

    def close(self):
        if self.display:
            self.x.XCloseDisplay(self.display)
            self.display = None


def colour_matches(colour, target):
    if colour is None:
        return False
    return all(abs(((colour >> s) & 0xFF) - ((target >> s) & 0xFF)) <= COLOUR_TOLERANCE for s in (16, 8, 0))


# ---------------------------------------------------------------------------------------
# Processes

def process_table():
    """{pid: (ppid, comm)} for every process visible in /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        # comm may contain spaces and parentheses; the fields after it start at the last ')'.
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        table[int(entry)] = (ppid, comm)
    return table


def descendants(roots, table=None):
    """The roots and every process below them."""
    table = process_table() if table is None else table
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [r for r in roots if r in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def become_subreaper():
    """Orphans of the browsers' helpers are re-parented to us instead of to init, so they
    can still be found (for PSS and for killing) as our descendants."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_child_subreaper = 36
    if libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def browser_processes(browser_pid, excluded_pids):
    """The browser and every process it started, with orphans that came back to us (the
    subreaper) but not the run's X server and window manager: {pid: name}."""
    table = process_table()
    own = descendants([os.getpid()], table) - {os.getpid()}
    tree = descendants([browser_pid], table)
    orphans = own - descendants(excluded_pids, table) - tree
    return {pid: process_name(pid, table[pid][1]) for pid in tree | orphans}


def process_name(pid, comm):
    """argv[0]'s base name (comm is cut at 15 characters), with Chromium's --type=, which
    is what tells its many `chromium` processes apart."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a for a in f.read().decode(errors="replace").split("\0") if a]
    except OSError:
        return comm
    if len(argv) == 1:  # Chromium's children rewrite their title as one space-separated string
        argv = argv[0].split()
    if not argv:
        return comm
    name = os.path.basename(argv[0]) or comm
    kind = next((a.split("=", 1)[1] for a in argv if a.startswith("--type=")), None)
    return f"{name} {kind}" if kind else name


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:  # exited meanwhile
        pass
    return 0


def kill_everything(popens, keep=()):
    """SIGKILL every process this script started (its descendants, which with the
    subreaper includes orphans) except the trees under `keep`, until none is left, and
    reap them."""
    ours = {p.pid: p for p in popens}
    deadline = time.monotonic() + 10
    while True:
        table = process_table()
        alive = descendants([os.getpid()], table) - descendants(keep, table) - {os.getpid()}
        alive = {pid for pid in alive if not _is_zombie(pid)}
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap(ours)
        if not alive:
            return
        if time.monotonic() > deadline:
            print(f"warning: processes {sorted(alive)} survived SIGKILL for 10 s", file=sys.stderr)
            return
        time.sleep(0.05)


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _reap(popens_by_pid):
    for popen in popens_by_pid.values():
        popen.poll()
    while True:  # orphans re-parented to us have no Popen to wait for them
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in popens_by_pid:
            popens_by_pid[pid].returncode = -signal.SIGKILL


# ---------------------------------------------------------------------------------------
# The page Chromium is given

def home_page_for_chromium(into):
    """Fill assets/pupil/home.html as the kiosk does (assets/README.md), into `into`."""
    assets = REPO / "assets" / "pupil"
    messages = {}
    for line in (REPO / "locales" / "en-GB" / "pupil.ftl").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and " = " in line:
            key, text = line.split(" = ", 1)
            messages[key.strip()] = text.strip()
    with open(REPO / "allowlists" / "ks1-tiles.toml", "rb") as f:
        tiles = tomllib.load(f)["tile"]

    def esc(text):
        return html.escape(text, quote=True)

    tiles_html = "".join(
        f'<li><a class="tile" href="{esc(t["url"])}"'
        + (f' style="--tile-colour:{esc(t["colour"])}"' if "colour" in t else "")
        + f'><span class="tile-icon" aria-hidden="true">{esc(t["icon"])}</span>'
        f'<span class="tile-title" dir="auto">{esc(t["title"])}</span></a>'
        f'<button type="button" class="tile-say" data-say-tile="{esc(t["url"])}" hidden>'
        '<span aria-hidden="true">🔊</span></button></li>'
        for t in tiles)
    # Chromium has no kiosk to speak for it: its Listen buttons stay hidden.
    values = {"@lang": "en-GB", "@dir": "ltr", "@tiles": tiles_html, "@listen": "off",
              "@search_action": "https://www.google.co.uk/search", "@search_param": "q"}

    def fill(match):
        key = match.group(1)
        if key == "@tiles":
            return values[key]
        if key in values:
            return esc(values[key])
        if key in messages:
            return esc(messages[key])
        raise SystemExit(f"home.html: no value for the placeholder {{{{{key}}}}}")

    page = re.sub(r"\{\{(.+?)\}\}", fill, (assets / "home.html").read_text(encoding="utf-8"))
    (into / "index.html").write_text(page, encoding="utf-8")
    for name in ("pupil.css", "pupil.js"):
        shutil.copy(assets / name, into / name)


def serve(directory):
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# ---------------------------------------------------------------------------------------
# One run

@dataclass
class Run:
    browser: str
    number: int  # 0 for warm-up
    start_ms: float = None
    pss_kib: int = None
    processes: dict = field(default_factory=dict)  # name -> [count, PSS KiB]
    poll_mean_ms: float = None
    poll_worst_ms: float = None
    still_painted: bool = None
    error: str = None


def start_display(workdir):
    """A fresh Xvfb with openbox; returns (display name, [Xvfb, openbox] Popens)."""
    with open(workdir / "xvfb.log", "wb") as log:
        xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", "1", "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"],
            stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    # Xvfb writes its display number once it accepts connections.
    ready, _, _ = select.select([xvfb.stdout], [], [], 10)
    number = xvfb.stdout.readline().decode().strip() if ready else ""
    xvfb.stdout.close()
    if not number.isdigit():
        raise RunFailed(f"Xvfb did not start (see {workdir / 'xvfb.log'})")
    display = f":{number}"
    env = dict(os.environ, DISPLAY=display)
    with open(workdir / "openbox.log", "wb") as log:
        openbox = subprocess.Popen(["openbox"], env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    screen = X11(display)
    try:
        deadline = time.monotonic() + 10
        # Started before the WM is managing, a fullscreen request can be lost.
        while not screen.window_manager_running():
            if time.monotonic() > deadline or openbox.poll() is not None:
                raise RunFailed(f"openbox did not start on {display} (see {workdir / 'openbox.log'})")
            time.sleep(0.01)
    finally:
        screen.close()
    return display, [xvfb, openbox]


def browser_command(browser, args, workdir, url):
    if browser == "satchel":
        state = workdir / "state"
        state.mkdir()
        config = workdir / "kiosk.toml"
        config.write_text(f'state_dir = "{state}"\n' + "".join(line + "\n" for line in args.satchel_setting))
        return [str(args.satchel), "--config", str(config)], args.satchel_point
    profile = workdir / "chromium-profile"
    profile.mkdir()
    return [args.chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", url], args.chromium_point


def run_once(browser, number, args, url):
    run = Run(browser, number)
    label = f"{browser} run {number}" if number else f"{browser} warm-up"
    workdir = Path(tempfile.mkdtemp(prefix=f"kiosk-bench-{browser}-"))
    popens, screen, browser_pid, x_pids = [], None, None, []
    try:
        display, x_popens = start_display(workdir)
        popens += x_popens
        x_pids = [p.pid for p in x_popens]
        screen = X11(display)
        command, (px, py) = browser_command(browser, args, workdir, url)
        if colour_matches(screen.pixel(px, py), TILE_COLOUR):
            raise RunFailed(f"the probe point {px},{py} has the tile colour before {browser} started")
        env = dict(os.environ, DISPLAY=display)
        env.pop("WAYLAND_DISPLAY", None)
        log_path = workdir / f"{browser}.log"
        poll = args.poll_ms / 1000

        started = time.perf_counter()
        with open(log_path, "wb") as log:
            # Its own session, so nothing it does can signal or grab the terminal of this script.
            proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        popens.append(proc)
        browser_pid = proc.pid
        reads, last, worst, colour = 0, started, 0.0, None
        while True:
            colour = screen.pixel(px, py)
            now = time.perf_counter()
            reads += 1
            worst = max(worst, now - last)
            last = now
            if colour_matches(colour, TILE_COLOUR):
                break
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RunFailed(f"{browser} exited with status {proc.returncode} before painting; its output ends:\n{tail}")
            if now - started > args.timeout:
                shot = save_failure_screenshot(display, browser, number)
                seen = "nothing" if colour is None else f"#{colour:06x}"
                raise RunFailed(f"TIMEOUT: {browser} did not paint the Home page within {args.timeout:.0f} s "
                                f"(pixel {px},{py} is {seen}, expected #{TILE_COLOUR:06x}); killed. {shot}")
            time.sleep(poll)
        painted = last
        run.start_ms = (painted - started) * 1000
        run.poll_mean_ms = (painted - started) * 1000 / reads
        run.poll_worst_ms = worst * 1000

        time.sleep(max(0.0, painted + args.idle - time.perf_counter()))
        processes = browser_processes(browser_pid, x_pids)
        for pid, name in processes.items():
            group = run.processes.setdefault(name, [0, 0])
            group[0] += 1
            group[1] += pss_kib(pid)
        run.pss_kib = sum(kib for _, kib in run.processes.values())
        run.still_painted = colour_matches(screen.pixel(px, py), TILE_COLOUR)
        if args.screenshots:
            take_screenshot(display, args.screenshots / f"{browser}-{'run%d' % number if number else 'warmup'}.png")
    except RunFailed as failure:
        run.error = f"{failure} (logs kept in {workdir})"
        print(f"{label}: FAILED: {run.error}", file=sys.stderr)
    finally:
        if screen:
            screen.close()
        # The browser first, then X: helpers that lose their X connection before their
        # parent dies can sit in error handling instead of exiting.
        kill_everything(popens, keep=x_pids)
        kill_everything(popens)
        if not run.error:
            shutil.rmtree(workdir, ignore_errors=True)
    return run


def take_screenshot(display, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["import", "-display", display, "-window", "root", str(path)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
    return path


def save_failure_screenshot(display, browser, number):
    if not shutil.which("import"):
        return ""
    path = Path(tempfile.gettempdir()) / f"kiosk-bench-failed-{browser}-{number}-{os.getpid()}.png"
    try:
        take_screenshot(display, path)
        return f"Screen at the time-out: {path}"
    except (OSError, subprocess.SubprocessError):
        return ""


# ---------------------------------------------------------------------------------------
# Report

def summary(values, fmt):
    if not values:
        return "n/a"
    return f"{fmt(statistics.median(values))} [{fmt(min(values))}–{fmt(max(values))}]"


def machine(args):
    """What the figures depend on besides the two browsers' code."""
    try:
        chromium = subprocess.run([args.chromium, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        chromium = "chromium version unknown"
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(args.satchel.stat().st_mtime))
    return f"{chromium}; {args.satchel} built {built}; {os.cpu_count()} CPUs"


def report(runs, args, context):
    measured = [r for r in runs if r.number and not r.error]

    def values(browser, attribute):
        return [getattr(r, attribute) for r in measured if r.browser == browser]

    def ratio_row(name, attribute, fmt, goal, scale=1.0):
        satchel = [v * scale for v in values("satchel", attribute)]
        chromium = [v * scale for v in values("chromium", attribute)]
        if satchel and chromium:
            ratio = statistics.median(satchel) / statistics.median(chromium)
            ratio_text, met = f"{ratio:.2f}", "yes" if ratio <= goal else "no"
        else:
            ratio_text, met = "n/a", "n/a"
        return (f"| {name} | {summary(satchel, fmt)} | {summary(chromium, fmt)} | {ratio_text} | "
                f"≤ {goal:.2f} | {met} |")

    polls = [r.poll_mean_ms for r in measured]
    worst = [r.poll_worst_ms for r in measured]
    print(f"\n## Satchel kiosk vs Chromium --kiosk ({len(measured)} good runs; "
          f"median [min–max]; ratio = Satchel median / Chromium median)\n")
    print(context + "\n")
    print("| figure | Satchel | Chromium --kiosk | ratio | goal | met? |")
    print("|---|---|---|---|---|---|")
    print(ratio_row("cold start to Home painted (ms)", "start_ms", lambda v: f"{v:.0f}", START_GOAL))
    print(ratio_row(f"memory {args.idle:g} s after paint, PSS of all processes (MiB)", "pss_kib",
                    lambda v: f"{v:.1f}", MEMORY_GOAL, scale=1 / 1024))
    if polls:
        print(f"\nPixel polled every {statistics.mean(polls):.1f} ms on average (sleep {args.poll_ms:g} ms + one "
              f"XGetImage round trip); worst gap between two reads {max(worst):.1f} ms. "
              f"Screen {SCREEN[0]}x{SCREEN[1]}; probe pixel #{TILE_COLOUR:06x} at "
              f"{args.satchel_point[0]},{args.satchel_point[1]} (Satchel) and "
              f"{args.chromium_point[0]},{args.chromium_point[1]} (Chromium).")

    print("\n### Runs\n")
    for r in runs:
        label = f"run {r.number}" if r.number else "warm-up (not counted)"
        if r.error:
            first_line = r.error.splitlines()[0]
            print(f"- {r.browser:8} {label}: FAILED: {first_line}")
            continue
        procs = ", ".join(f"{name} ×{n} {kib / 1024:.1f}"
                          for name, (n, kib) in sorted(r.processes.items(), key=lambda kv: -kv[1][1]))
        stable = "" if r.still_painted else "; WARNING: probe pixel no longer the tile colour at the memory reading"
        print(f"- {r.browser:8} {label}: start {r.start_ms:6.0f} ms, PSS {r.pss_kib / 1024:6.1f} MiB in "
              f"{sum(n for n, _ in r.processes.values())} processes ({procs}); polling {r.poll_mean_ms:.1f} ms mean, "
              f"{r.poll_worst_ms:.1f} ms worst{stable}")


# ---------------------------------------------------------------------------------------

def point(text):
    x, y = (int(v) for v in text.split(","))
    return x, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per browser (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded rounds first (default 1)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds a run may take to paint (default 30)")
    parser.add_argument("--idle", type=float, default=5, help="seconds after painting to read memory (default 5)")
    parser.add_argument("--poll-ms", type=float, default=5, help="sleep between pixel reads (default 5)")
    parser.add_argument("--satchel", type=Path, default=REPO / "target" / "release" / "satchel")
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--satchel-point", type=point, default=SATCHEL_POINT, metavar="X,Y")
    parser.add_argument("--chromium-point", type=point, default=CHROMIUM_POINT, metavar="X,Y")
    parser.add_argument("--satchel-setting", action="append", default=[], metavar="LINE",
                        help="a line for Satchel's kiosk.toml, e.g. 'hardware_acceleration = false' (repeatable)")
    parser.add_argument("--screenshots", type=Path, metavar="DIR", help="save a screenshot of every run here")
    args = parser.parse_args()

    if args.runs < 1:
        parser.error("--runs must be at least 1")
    missing = [tool for tool in ("Xvfb", "openbox", args.chromium) if not shutil.which(tool)]
    if not os.access(args.satchel, os.X_OK):
        missing.append(str(args.satchel))
    if missing:
        sys.exit(f"missing: {', '.join(missing)} (apt-get install -y xvfb openbox chromium; "
                 f"cargo build --release for satchel)")

    become_subreaper()
    load_before = os.getloadavg()[0]
    page_dir = Path(tempfile.mkdtemp(prefix="kiosk-bench-page-"))
    try:
        home_page_for_chromium(page_dir)
        server = serve(page_dir)
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        runs = []
        rounds = [0] * args.warmup + list(range(1, args.runs + 1))
        for number in rounds:
            for browser in ("satchel", "chromium"):
                run = run_once(browser, number, args, url)
                runs.append(run)
                if not run.error:
                    label = f"run {number}" if number else "warm-up"
                    print(f"{browser:8} {label}: {run.start_ms:.0f} ms, {run.pss_kib / 1024:.1f} MiB",
                          file=sys.stderr, flush=True)
        server.shutdown()
    finally:
        shutil.rmtree(page_dir, ignore_errors=True)
    # Other work on the machine shows up as slower, more scattered starts.
    context = f"{machine(args)}; load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    report(runs, args, context)
    return 1 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
