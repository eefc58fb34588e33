"""``ledger.client.http1``: the HTTP/1.1 answers a JSON-RPC client reads (RFC 9112) — status line, fields, body length
by chunked coding, Content-Length or the connection's end, persistence — and everything else refused; through the
failover provider, any bytes a node sends end in an answer or a ``ChainUnavailable``, never another error or a hang."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.types import RPCEndpoint

from ledger.client import FailoverPolicy, FailoverProvider
from ledger.client.http1 import (
    MAX_HEADER_BYTES,
    AnswerTooLarge,
    ConnectionDropped,
    Http1Connection,
    MalformedAnswer,
)
from ledger.errors import ChainUnavailable

HEAD = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
ANSWER = b'{"jsonrpc":"2.0","id":1,"result":"0x2a"}'
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


class RawServer:
    """Answers every request on a connection with the next canned bytes; ``None`` closes the connection."""

    def __init__(self, answers: list[bytes | None]) -> None:
        self.answers = list(answers)
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._talk, args=(connection,), daemon=True).start()

    def _talk(self, connection: socket.socket) -> None:
        with connection:
            buffer = b""
            while self.answers:
                while b"\r\n\r\n" not in buffer:
                    data = connection.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, rest = buffer.partition(b"\r\n\r\n")
                fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
                length = int(fields[b"Content-Length"])
                while len(rest) < length:
                    rest += connection.recv(65536)
                buffer = rest[length:]
                answer = self.answers.pop(0)
                if answer is None:
                    return
                connection.sendall(answer)
                if self.answers and self.answers[0] is None:
                    self.answers.pop(0)
                    return  # close right after this answer

    def close(self) -> None:
        self._listener.close()


Serve = Callable[[list[bytes | None]], "RawServer"]


@pytest.fixture
def server() -> Iterator[Serve]:
    made: list[RawServer] = []

    def make(answers: list[bytes | None]) -> RawServer:
        made.append(RawServer(answers))
        return made[-1]

    yield make
    for each in made:
        each.close()


def _post(port: int, *, max_bytes: int = 10_000, connection: Http1Connection | None = None) -> tuple[int, bytes]:
    connection = connection or Http1Connection("127.0.0.1", port, clock=time.monotonic)
    return connection.post(HEAD, b"{}", time.monotonic() + 5, max_bytes=max_bytes)


def _ok(body: bytes = ANSWER, *fields: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\n"
        + b"".join(f + b"\r\n" for f in fields)
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


def test_content_length_and_keep_alive(server: Serve) -> None:
    """§9.3: an HTTP/1.1 connection persists; the second request reuses it."""
    raw = server([_ok(), _ok(b"[]")])
    connection = Http1Connection("127.0.0.1", raw.port, clock=time.monotonic)
    assert _post(raw.port, connection=connection) == (200, ANSWER)
    assert connection.connected
    assert _post(raw.port, connection=connection) == (200, b"[]")
    assert raw.connections == 1


def test_chunked_body_with_extensions_and_trailers(server: Serve) -> None:
    """§7.1: chunk-size [chunk-ext] CRLF data CRLF ... 0 CRLF trailer-section CRLF."""
    body = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\n" + ANSWER[:5] + b"\r\n"
    body += b"%x\r\n" % (len(ANSWER) - 5) + ANSWER[5:] + b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
    raw = server([body])
    assert _post(raw.port) == (200, ANSWER)


def test_interim_answers_are_skipped(server: Serve) -> None:
    raw = server([b"HTTP/1.1 100 Continue\r\n\r\n" + _ok()])
    assert _post(raw.port) == (200, ANSWER)


def test_body_until_close_and_http_1_0(server: Serve) -> None:
    """§6.3 item 8: without a length the body ends with the connection; HTTP/1.0 does not persist (§9.3)."""
    raw = server([b"HTTP/1.1 200 OK\r\n\r\n" + ANSWER, None])
    connection = Http1Connection("127.0.0.1", raw.port, clock=time.monotonic)
    assert _post(raw.port, connection=connection) == (200, ANSWER)
    assert not connection.connected
    raw = server([b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(ANSWER) + ANSWER])
    connection = Http1Connection("127.0.0.1", raw.port, clock=time.monotonic)
    assert _post(raw.port, connection=connection) == (200, ANSWER)
    assert not connection.connected


def test_connection_close_and_unread_bytes_end_the_connection(server: Serve) -> None:
    for answer in (_ok(ANSWER, b"Connection: keep-alive, close"), _ok() + b"HTTP/1.1 200 OK\r\n"):
        raw = server([answer])
        connection = Http1Connection("127.0.0.1", raw.port, clock=time.monotonic)
        assert _post(raw.port, connection=connection) == (200, ANSWER)
        assert not connection.connected


def test_an_error_status_is_returned_without_its_body(server: Serve) -> None:
    raw = server([b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy"])
    connection = Http1Connection("127.0.0.1", raw.port, clock=time.monotonic)
    assert _post(raw.port, connection=connection) == (503, b"")
    assert not connection.connected


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 2000,
        b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * MAX_HEADER_BYTES + b"\r\n\r\n",
    ],
)
def test_malformed_answers(server: Serve, answer: bytes) -> None:
    raw = server([answer, None])
    with pytest.raises(MalformedAnswer):
        _post(raw.port)


@pytest.mark.parametrize(
    "answer",
    [
        _ok(b"x" * 200),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + (b"64\r\n" + b"x" * 100 + b"\r\n") * 2
        + b"0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 200,
    ],
)
def test_answers_over_the_limit(server: Serve, answer: bytes) -> None:
    raw = server([answer, None])
    with pytest.raises(AnswerTooLarge):
        _post(raw.port, max_bytes=150)


@pytest.mark.parametrize("answer", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}", b"HTTP/1.1 200"])
def test_a_connection_closed_mid_answer_is_dropped(server: Serve, answer: bytes) -> None:
    raw = server([answer, None])
    with pytest.raises(ConnectionDropped):
        _post(raw.port)


def test_a_trickling_node_is_cut_off_at_the_deadline() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            while not stop.is_set():
                connection.sendall(b"X")
                time.sleep(0.05)

    threading.Thread(target=trickle, daemon=True).start()
    connection = Http1Connection("127.0.0.1", listener.getsockname()[1], clock=time.monotonic)
    started = time.monotonic()
    with pytest.raises((TimeoutError, MalformedAnswer)):
        connection.post(HEAD, b"{}", time.monotonic() + 0.5, max_bytes=1000)
    assert time.monotonic() - started < 1.5
    stop.set()
    listener.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    answer=st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda status, fields, body: b"HTTP/1.1 " + status + b"\r\n" + fields + b"\r\n" + body,
            st.sampled_from([b"200 OK", b"200", b"100 Continue", b"404 No", b"2x0"]),
            st.binary(max_size=120),
            st.binary(max_size=120),
        ),
    )
)
def test_any_bytes_end_in_an_answer_or_chain_unavailable(server: Serve, answer: bytes) -> None:
    raw = server([answer, None, None, None])
    policy = FailoverPolicy(attempt_timeout=0.5, request_budget=1.0)
    provider = FailoverProvider([f"http://127.0.0.1:{raw.port}"], policy=policy, chain_id=1337)
    provider._endpoints[0].verified = True  # skip the chain-id probe: every request gets the canned answer
    try:
        response = provider.make_request(RPCEndpoint("eth_blockNumber"), [])
    except ChainUnavailable:
        pass
    else:
        assert response["jsonrpc"] == "2.0"
    finally:
        provider.close()
        raw.close()
