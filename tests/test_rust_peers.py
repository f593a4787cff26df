"""The chat against Rust peers in the course's shape: the wire format, byte for byte.

tests/peers/rust-chat holds a Rust chat server and client written as the
Rust course's are (tokio, serde_json, the course's `Message` enum in serde's
default form, a broadcast channel of capacity 1024, the client's prompt and
printed lines), and `encode`, which prints serde_json's serialization of
given messages. They build offline from Debian's packaged crates (rustc,
cargo and librust-*-dev, which `make deps` installs for instructors); where
those are missing the tests are skipped with a `SKIPPED:` line, never passed.

On 127.0.0.1, with ports from the kernel:
  - the reference chat-server with Rust clients: joins, chat lines in each
    sender's order, awkward text printed byte for byte;
  - the Rust server with the reference chat-client programs: what they
    print, and what the Rust server relays from them;
  - the bytes both servers send equal serde_json's serialization of the same
    message, whatever escapes the sender used, and both clients print them
    alike;
  - the ends: the end of a client's input, a server that stops.
"""

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
from typing import IO, Callable, Dict, List, Optional, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS_SRC = os.path.join(ROOT, "tests", "peers", "rust-chat")
PEERS_BUILD = os.path.join(ROOT, "build", "peers", "rust-chat")
# Debian's tool chain and crates, named explicitly: a newer cargo earlier on
# PATH (rustup's) would build against crates.io, which CI cannot reach.
CARGO = "/usr/bin/cargo"
RUSTC = "/usr/bin/rustc"
REGISTRY = "/usr/share/cargo/registry"
CRATES = ("tokio", "serde", "serde_derive", "serde_json")
PACKAGES = ("rustc cargo librust-tokio-dev librust-serde-dev librust-serde-derive-dev "
            "librust-serde-json-dev")

WAIT = 20.0  # seconds: the longest any single step may take (the machine may be busy)
PROMPT = b"Enter your username"  # what the course's client prints first

# Text a user can type on one line: every one must come out byte for byte.
TYPED = [
    "plain words",
    'say "hi" to "them"',
    "back\\slash, \\n is not a newline, \\u0041 is not an A",
    "\ttab, vertical\x0btab, form\x0cfeed, back\x08space",
    "controls \x01\x02\x1b[31m\x1f and DEL \x7f",
    "a carriage\rreturn inside",
    "/slash/ and <angle> & {\"ClientMessage\":\"json inside\"}",
    "é ñ ü ß, 中文, русский, עברית",
    "astral: 😀 🎉 𝄞 (surrogate pairs when escaped)",
    "separators \u2028 and \u2029, BOM \ufeff, last \U0010ffff",
    "",
    "  spaces around  ",
    "x" * 10000,
]


def _skip_reason() -> Optional[str]:
    for tool in (CARGO, RUSTC):
        if not os.access(tool, os.X_OK):
            return f"Debian's {os.path.basename(tool)} is not installed ({tool})"
    try:
        present = os.listdir(REGISTRY)
    except OSError:
        present = []
    for crate in CRATES:
        if not any(re.fullmatch(re.escape(crate) + r"-1\.[0-9.]+", name) for name in present):
            return f"the crate {crate} 1.x is not in {REGISTRY} (Debian's librust-*-dev)"
    return None


def _clean_env() -> Dict[str, str]:
    dropped = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "RT_SHAKE", "RUSTFLAGS", "RUSTDOCFLAGS")
    env = {k: v for k, v in os.environ.items()
           if k not in dropped and not k.startswith(("CARGO", "RUSTUP"))}
    return env


def build_peers() -> str:
    """Builds the Rust peers offline from Debian's crates; returns the folder of the programs."""
    src = os.path.join(PEERS_BUILD, "src")
    # A copy, so that cargo writes its Cargo.lock into build/, not the source tree.
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(PEERS_SRC, src, ignore=shutil.ignore_patterns("target", "Cargo.lock"))
    env = _clean_env()
    env.update({
        "CARGO_HOME": os.path.join(PEERS_BUILD, "cargo-home"),  # no user configuration
        "CARGO_TARGET_DIR": os.path.join(PEERS_BUILD, "target"),
        "RUSTC": RUSTC,
        "CARGO_INCREMENTAL": "0",  # built once, not edited: no incremental state to write
        "PATH": "/usr/bin:/bin:" + env.get("PATH", ""),
    })
    proc = subprocess.run([CARGO, "build", "--offline", "--quiet", "--bins"], cwd=src, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", timeout=900)
    if proc.returncode != 0:
        raise AssertionError(f"the Rust peers did not build:\n{proc.stdout[-4000:]}")
    return os.path.join(PEERS_BUILD, "target", "debug")


def build_reference() -> str:
    """Builds the reference chat-server and chat-client; returns their folder."""
    env = _clean_env()
    # A build folder of its own: make check runs this beside the kit's own chat builds.
    args = ["make", "-s", "--no-print-directory", "EX=chat", "SOLUTION=1",
            "BUILD=" + os.path.relpath(os.path.join(PEERS_BUILD, "kit"), ROOT)]
    test_bin = subprocess.run(args + ["print-test-bin"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60, check=True).stdout.strip()
    folder = os.path.dirname(test_bin)
    # Relative, as make's rules name them (an absolute path would match no rule).
    programs = [os.path.join(folder, p) for p in ("chat-server", "chat-client")]
    proc = subprocess.run(args + programs, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"the reference programs did not build:\n{proc.stdout[-4000:]}")
    return os.path.join(ROOT, folder)


def _pump(stream: IO[bytes], lines: "queue.Queue[Optional[bytes]]") -> None:
    for line in iter(stream.readline, b""):
        lines.put(line[:-1] if line.endswith(b"\n") else line)
    lines.put(None)


class Peer:
    """A program a test started: its stdin a pipe, its output lines read as they come."""

    def __init__(self, name: str, argv: Sequence[str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.out: "queue.Queue[Optional[bytes]]" = queue.Queue()
        self.err: "queue.Queue[Optional[bytes]]" = queue.Queue()
        self.err_lines: List[bytes] = []
        self.threads = [threading.Thread(target=_pump, args=(s, q), daemon=True)
                        for s, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self.threads:
            t.start()

    def stderr_text(self) -> str:
        while True:
            try:
                line = self.err.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.err_lines.append(line)
        return b"\n".join(self.err_lines).decode(errors="replace")

    def _get(self, q: "queue.Queue[Optional[bytes]]", what: str, deadline: float) -> bytes:
        try:
            line = q.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"{self.name}: no {what} line within {WAIT:.0f} s; "
                                 f"stderr: {self.stderr_text()!r}") from None
        if line is None:
            q.put(None)  # the end stays the end
            raise AssertionError(f"{self.name}: its {what} ended (status {self.proc.poll()}); "
                                 f"stderr: {self.stderr_text()!r}")
        return line

    def lines(self, n: int) -> List[bytes]:
        """The next n lines of its stdout, within WAIT seconds."""
        deadline = time.monotonic() + WAIT
        return [self._get(self.out, "stdout", deadline) for _ in range(n)]

    def stderr_line(self, pattern: str) -> "re.Match[str]":
        """Its first stderr line (from now on) matching `pattern`, within WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while True:
            line = self._get(self.err, "stderr", deadline)
            self.err_lines.append(line)
            found = re.search(pattern, line.decode(errors="replace"))
            if found:
                return found

    def no_more_output(self) -> List[bytes]:
        """The stdout lines left once it has exited (call after wait)."""
        for t in self.threads:
            t.join(WAIT)
        rest: List[bytes] = []
        while True:
            line = self.out.get(timeout=WAIT)
            if line is None:
                return rest
            rest.append(line)

    def type(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def end_input(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def wait(self) -> int:
        """Its exit status, once it has exited by itself within WAIT seconds."""
        try:
            return self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not exit within {WAIT:.0f} s; "
                                 f"stderr: {self.stderr_text()!r}") from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(WAIT)
        finally:
            if self.proc.stdin is not None:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
            for t in self.threads:
                t.join(WAIT)
            for s in (self.proc.stdout, self.proc.stderr):
                if s is not None:
                    s.close()


class RawClient:
    """A client on a bare socket: sends the bytes it is given, returns the lines it gets."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def lines(self, n: int) -> List[bytes]:
        deadline = time.monotonic() + WAIT
        got: List[bytes] = []
        while len(got) < n:
            if b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                got.append(line)
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"only {len(got)} of {n} lines came within {WAIT:.0f} s: "
                                     f"{got[-3:]!r}")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise AssertionError(f"the server closed the connection after {len(got)} of "
                                     f"{n} lines: {got[-3:]!r}")
            self.buffer += data
        return got

    def close(self) -> None:
        self.sock.close()


def chat_line(user: str, content: str) -> bytes:
    """What the course's client prints for a chat line (ours prints the same)."""
    return b"<" + user.encode() + b">: " + content.encode()


def join_line(user: str) -> bytes:
    return b"<" + user.encode() + b"> joined the chat"


def escaped_everything(text: str) -> str:
    """`text` as a JSON string with every character a \\u escape (surrogate pairs above U+FFFF)."""
    units = text.encode("utf-16-be")
    return '"' + "".join("\\u%04X" % int.from_bytes(units[i:i + 2], "big")
                         for i in range(0, len(units), 2)) + '"'


class RustPeers(unittest.TestCase):
    peers = ""
    reference = ""

    @classmethod
    def setUpClass(cls) -> None:
        reason = _skip_reason()
        if reason:
            # A line of its own, which make check's summary shows: never a silent pass.
            print(f"\nSKIPPED: the chat's Rust peer test: {reason}; install with "
                  f"apt-get install {PACKAGES} (make deps as an instructor)", file=sys.stderr)
            raise unittest.SkipTest(reason)
        cls.peers = build_peers()
        cls.reference = build_reference()

    def setUp(self) -> None:
        self.started: List[Peer] = []
        self.sockets: List[RawClient] = []

    def tearDown(self) -> None:
        for s in self.sockets:
            s.close()
        for p in self.started:
            p.stop()

    # ---- starting things ----
    def start(self, name: str, argv: Sequence[str]) -> Peer:
        peer = Peer(name, argv)
        self.started.append(peer)
        return peer

    def server(self, rust: bool) -> Tuple[Peer, int]:
        if rust:
            peer = self.start("the Rust server",
                              [os.path.join(self.peers, "server"), "--port", "0"])
        else:
            peer = self.start("chat-server", [os.path.join(self.reference, "chat-server"),
                                              "--port", "0"])
        port = int(peer.stderr_line(r"listening on [0-9.]+:(\d+)$").group(1))
        return peer, port

    def rust_client(self, port: int, user: str) -> Peer:
        peer = self.start(f"the Rust client {user!r}",
                          [os.path.join(self.peers, "client"), "--port", str(port)])
        self.assertEqual(peer.lines(1), [PROMPT], "the Rust client's prompt")
        peer.type(user.encode() + b"\n")
        return peer

    def reference_client(self, port: int, user: Optional[str]) -> Peer:
        argv = [os.path.join(self.reference, "chat-client"), "--port", str(port)]
        if user is not None:
            argv += ["--user", user]
        return self.start(f"chat-client {user!r}", argv)

    def raw_client(self, port: int, user_json: str) -> RawClient:
        """A bare client that has joined: its own join came back (so joins keep their order)."""
        raw = RawClient(port)
        self.sockets.append(raw)
        raw.send(b'{"User":' + user_json.encode() + b"}\n")
        join = raw.lines(1)[0]
        self.assertEqual(json.loads(join), {"User": json.loads(user_json)}, join)
        return raw

    def serde(self, messages: Sequence[Tuple[str, ...]]) -> List[bytes]:
        """serde_json's serialization of each message: (kind, strings...)."""
        text = "".join(" ".join([kind] + [s.encode().hex() for s in strings]) + "\n"
                       for kind, *strings in messages)
        proc = subprocess.run([os.path.join(self.peers, "encode")], input=text.encode(),
                              capture_output=True, timeout=WAIT)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
        out = proc.stdout.split(b"\n")
        self.assertEqual(out[-1], b"")
        self.assertEqual(len(out) - 1, len(messages))
        return out[:-1]

    # ---- checks ----
    def assert_chat(self, lines: List[bytes], by_user: Dict[str, List[str]], who: str) -> None:
        """`lines` are every user's lines once, each user's in the order sent."""
        seen: Dict[str, List[bytes]] = {u: [] for u in by_user}
        for line in lines:
            owners = [u for u in by_user if line.startswith(b"<" + u.encode() + b">: ")]
            self.assertEqual(len(owners), 1, f"{who} printed a line from nobody: {line[:200]!r}")
            seen[owners[0]].append(line)
        for user, sent in by_user.items():
            want = [chat_line(user, c) for c in sent]
            self.assertEqual(seen[user], want, f"{who}: the lines of {user!r}, in order")

    def join_all(self, port: int, users: List[str],
                 make: Callable[[int, str], Peer]) -> List[Peer]:
        """A client per user, one after the other; each sees its own join and the later ones."""
        clients: List[Peer] = []
        for user in users:
            clients.append(make(port, user))
            for c in clients:
                self.assertEqual(c.lines(1), [join_line(user)],
                                 f"{c.name} should print the join of {user!r}")
        return clients

    # ---- (a) the reference server, Rust clients ----
    def test_reference_server_with_rust_clients(self) -> None:
        _, port = self.server(rust=False)
        users = ["alice", "bøb 😀", 'c"ar\\ol']
        clients = self.join_all(port, users, self.rust_client)
        sent = {u: [f"{u} says {t}" if t else "" for t in TYPED] for u in users}
        for client, user in zip(clients, users):
            client.type(b"".join(c.encode() + b"\n" for c in sent[user]))
        total = sum(len(v) for v in sent.values())
        for client in clients:
            self.assert_chat(client.lines(total), sent, client.name)
        # A "\r\n" line ending is dropped by the client, as tokio's lines() does.
        clients[0].type(b"windows line\r\n")
        for client in clients:
            self.assertEqual(client.lines(1), [chat_line(users[0], "windows line")], client.name)
        # The end of a client's input: our server closes that connection, so the
        # course's client exits (it waits for that); the others stay.
        clients[0].end_input()
        self.assertEqual(clients[0].wait(), 0, clients[0].stderr_text())
        self.assertEqual(clients[0].no_more_output(), [])
        clients[1].type(b"still here\n")
        for client in clients[1:]:
            self.assertEqual(client.lines(1), [chat_line(users[1], "still here")], client.name)

    def many(self, rust_server: bool) -> None:
        """8 clients send 100 lines each at once; each gets all 800, in each sender's order."""
        _, port = self.server(rust_server)
        users = [f"user {i} ✓" for i in range(8)]
        make = self.reference_client if rust_server else self.rust_client
        clients = self.join_all(port, users, make)
        # 808 messages in all: fewer than the channel's 1024, so no client can lag.
        sent = {u: [f"line {n} from {u}: {TYPED[n % len(TYPED)][:100]}" for n in range(100)]
                for u in users}
        for client, user in zip(clients, users):
            client.type(b"".join(c.encode() + b"\n" for c in sent[user]))
        for client in clients:
            self.assert_chat(client.lines(800), sent, client.name)

    def test_many_rust_clients_on_the_reference_server(self) -> None:
        self.many(rust_server=False)

    def test_many_reference_clients_on_the_rust_server(self) -> None:
        self.many(rust_server=True)

    # ---- (b) the Rust server, reference clients ----
    def test_rust_server_with_reference_clients(self) -> None:
        _, port = self.server(rust=True)
        observer = self.raw_client(port, '"observer"')
        users = ["alice", "bøb 😀", 'c"ar\\ol']

        def make(port: int, user: str) -> Peer:
            if user != users[1]:
                return self.reference_client(port, user)
            # One asks for the name on stdin (the prompt goes to stderr, not to the chat lines).
            client = self.reference_client(port, None)
            client.stderr_line(re.escape(PROMPT.decode()))
            client.type(user.encode() + b"\n")
            return client

        clients = self.join_all(port, users, make)
        self.assertEqual(observer.lines(len(users)), self.serde([("User", u) for u in users]),
                         "the joins the Rust server relays")
        sent = {u: [f"{u} says {t}" if t else "" for t in TYPED] for u in users}
        for client, user in zip(clients, users):
            client.type(b"".join(c.encode() + b"\n" for c in sent[user]))
        total = sum(len(v) for v in sent.values())
        for client in clients:
            self.assert_chat(client.lines(total), sent, client.name)
        relayed = observer.lines(total)
        for user in users:
            want = self.serde([("Chat", user, c) for c in sent[user]])
            prefix = b'{"Chat":{"user":' + json.dumps(user, ensure_ascii=False).encode() + b","
            self.assertEqual([r for r in relayed if r.startswith(prefix)], want,
                             f"what the Rust server relays from {user!r}")
        # The end of input: what was typed is sent, then the client exits 0.
        clients[0].type(b"last words\nwindows line\r\n")
        clients[0].end_input()
        self.assertEqual(clients[0].wait(), 0, clients[0].stderr_text())
        self.assertEqual(observer.lines(2), self.serde([("Chat", users[0], "last words"),
                                                        ("Chat", users[0], "windows line")]))

    # ---- (c) the bytes on the wire are serde_json's ----
    def wire_bytes(self, rust: bool) -> None:
        server, port = self.server(rust)
        name = "the Rust server" if rust else "chat-server"
        user = "zoë \U0001F600 \"q\" \\ /"
        contents = ["".join(chr(c) for c in range(1, 0x20)) + "\x7f",
                    "quote \" backslash \\ slash / and \\u0041",
                    "line\nbreak, carriage\rreturn, tab\t",
                    "é ñ 中文 \u2028\u2029 \ufeff \U0001F600\U0001F389\U0001D11E \U0010FFFF",
                    ""]
        # Each content sent in three spellings: Python's escapes (\ud83d\ude00 for an
        # astral character), raw UTF-8, and every character a \u escape; with \/ too.
        spellings = []
        for c in contents:
            spellings.append(json.dumps(c))
            spellings.append(json.dumps(c, ensure_ascii=False))
            spellings.append(escaped_everything(c))
        spellings.append('"\\/\\b\\f\\n\\r\\t\\"\\\\"')
        decoded = [json.loads(s) for s in spellings]

        watcher = self.raw_client(port, '"watcher"')
        joins = self.serde([("User", u) for u in ("watcher", "rust", "ours", user)])
        # One at a time: the joins come in a known order.
        rust_client = self.rust_client(port, "rust")
        self.assertEqual(watcher.lines(1), joins[1:2], f"the join {name} sends")
        ours = self.reference_client(port, "ours")
        self.assertEqual(watcher.lines(1), joins[2:3], f"the join {name} sends")
        talker = self.raw_client(port, escaped_everything(user))
        self.assertEqual(watcher.lines(1), joins[3:], f"the join {name} sends (escaped)")
        talker.send(b"".join(b'{"ClientMessage":' + s.encode() + b"}\n" for s in spellings))
        want = self.serde([("Chat", user, c) for c in decoded])
        self.assertEqual(talker.lines(len(spellings)), want,
                         f"what {name} sends the talker")
        got = watcher.lines(len(spellings))
        for i, (g, w) in enumerate(zip(got, want)):
            self.assertEqual(g, w, f"{name}, line {i}: sent as {spellings[i]!r}")
        # Both clients print the same bytes for it: `<user>: content` (a newline in
        # the content prints as a newline).
        printed = b"".join(chat_line(user, c) + b"\n" for c in decoded)
        n = printed.count(b"\n")
        self.assertEqual(rust_client.lines(3), [join_line(u) for u in ("rust", "ours", user)])
        self.assertEqual(ours.lines(2), [join_line(u) for u in ("ours", user)])
        self.assertEqual(b"".join(l + b"\n" for l in rust_client.lines(n)), printed,
                         f"what the Rust client prints, through {name}")
        self.assertEqual(b"".join(l + b"\n" for l in ours.lines(n)), printed,
                         f"what chat-client prints, through {name}")
        self.assertIsNone(server.proc.poll(), f"{name} should still run")

    def test_reference_server_sends_serde_json_bytes(self) -> None:
        self.wire_bytes(rust=False)

    def test_rust_server_sends_serde_json_bytes(self) -> None:
        # The yardstick: the same checks pass against serde_json itself.
        self.wire_bytes(rust=True)

    # ---- (c, continued) what counts as a message: as serde_json decides ----
    def relayed(self, rust: bool, probes: Sequence[bytes]) -> List[bytes]:
        """What a watcher gets when one client sends each probe line, then a marker line."""
        _, port = self.server(rust)
        watcher = self.raw_client(port, '"w"')
        talker = self.raw_client(port, '"t"')
        self.assertEqual(watcher.lines(1), [b'{"User":"t"}'])
        got: List[bytes] = []
        for i, probe in enumerate(probes):
            talker.send(probe + b'\n{"ClientMessage":"mark %d"}\n' % i)
            mark = b'{"Chat":{"user":"t","content":"mark %d"}}' % i
            while True:
                line = watcher.lines(1)[0]
                got.append(line)
                if line == mark:
                    break
        return got

    def test_both_servers_take_the_same_lines(self) -> None:
        # Every line either server takes (or ignores), the other takes (or ignores) alike.
        probes = [
            b'{"ClientMessage":"a"} ', b'\t{"ClientMessage":"a"}', b' {"ClientMessage" : "w" } ',
            b'{"ClientMessage":"a"}\r', b'{"ClientMessage":"a"}\r\r',
            b'{"\\u0043lientMessage":"k"}',
            b'{"ClientMessage":"\\ud83d\\ude00 \\uD834\\uDD1E \\udbff\\udfff \\u00e9\\u00E9 \\/"}',
            b'{"ClientMessage":"del \x7f, U+10FFFF \xf4\x8f\xbf\xbf, [[["}',
            b'{"ClientMessage":"a"}x', b'{"ClientMessage":"a"}{"ClientMessage":"b"}',
            b'{"ClientMessage":"a","ClientMessage":"b"}', b'{"ClientMessage":"a",}',
            b'{"ClientMessage":1}', b'{"ClientMessage":null}', b'{"ClientMessage":["a"]}',
            b'{"clientmessage":"a"}', b'"ClientMessage"', b'{}', b'[]', b'null', b'',
            b'{"ClientMessage":"\\ud83d"}', b'{"ClientMessage":"\\uDE00\\uD83D"}',
            b'{"ClientMessage":"\\u00"}', b'{"ClientMessage":"x\\u"}',
            b'{"ClientMessage":"\\U0041"}',
            b'{"ClientMessage":"a\\x"}', b'{"ClientMessage":"tab\there"}',
            b'{"ClientMessage":"a"} // no comments', b"{'ClientMessage':'a'}",
            b'\xef\xbb\xbf{"ClientMessage":"byte order mark"}', b'\x0c{"ClientMessage":"ff"}',
            b'{"ClientMessage":"a"}\x00', b'{ "ClientMessage":"nbsp"\xc2\xa0}',
            b'{"Chat":{"user":"x","content":"y"}}', b'{"Chat":["x","y"]}', b'{"Chat":{"user":"x"}}',
            b'{"User":"other"}', b'[' * 300 + b']' * 300,
        ]
        ours = self.relayed(False, probes)
        self.assertEqual(ours, self.relayed(True, probes))
        self.assertEqual(len(ours), len(probes) + 8, "the probes that are messages")
        # The kit's two documented exceptions: U+0000, which C strings cannot hold, is
        # refused (the Rust server relays it); and a line that is not UTF-8 is ignored
        # (tokio's lines() ends the connection there), as the next lines show.
        nul = b'{"ClientMessage":"\\u0000"}'
        self.assertEqual(self.relayed(False, [nul]), [b'{"Chat":{"user":"t","content":"mark 0"}}'])
        self.assertEqual(self.relayed(True, [nul])[0], b'{"Chat":{"user":"t","content":"\\u0000"}}')
        self.assertEqual(len(self.relayed(False, [b'{"ClientMessage":"\xed\xa0\x80"}',
                                                  b'{"ClientMessage":"\xc0\xaf"}'])), 2)

    # ---- (d) the ends ----
    def test_rust_client_ends_after_its_input_on_the_reference_server(self) -> None:
        _, port = self.server(rust=False)
        watcher = self.raw_client(port, '"watcher"')
        client = self.rust_client(port, "brief")
        # The name, a line and the end of input at once: the line gets through, and
        # the client exits only because the server closes the connection.
        client.type(b"hello and goodbye\n")
        client.end_input()
        self.assertEqual(client.wait(), 0, client.stderr_text())
        self.assertEqual(watcher.lines(2), self.serde([
            ("User", "brief"), ("Chat", "brief", "hello and goodbye")]))

    def test_reference_client_ends_after_its_input_on_the_rust_server(self) -> None:
        _, port = self.server(rust=True)
        watcher = self.raw_client(port, '"watcher"')
        client = self.reference_client(port, "brief")
        client.type(b"one\ntwo\nthree")  # the last line without its newline is a line too
        client.end_input()
        self.assertEqual(client.wait(), 0, client.stderr_text())
        self.assertEqual(watcher.lines(4), self.serde([
            ("User", "brief"), ("Chat", "brief", "one"),
            ("Chat", "brief", "two"), ("Chat", "brief", "three")]))

    def test_rust_clients_end_when_the_reference_server_stops(self) -> None:
        server, port = self.server(rust=False)
        clients = self.join_all(port, ["a", "b"], self.rust_client)
        server.proc.send_signal(signal.SIGTERM)
        self.assertEqual(server.wait(), 0, server.stderr_text())
        for client in clients:
            self.assertEqual(client.wait(), 0, client.stderr_text())

    def test_reference_client_ends_when_the_rust_server_stops(self) -> None:
        server, port = self.server(rust=True)
        client = self.reference_client(port, "left")
        self.assertEqual(client.lines(1), [join_line("left")])
        self.raw_client(port, '"observer"')
        self.assertEqual(client.lines(1), [join_line("observer")])
        server.proc.send_signal(signal.SIGTERM)
        server.wait()
        self.assertEqual(client.wait(), 1, "an unexpected end is not a clean one")
        client.stderr_line("the server closed the connection")


if __name__ == "__main__":
    unittest.main()
