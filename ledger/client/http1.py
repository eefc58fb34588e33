"""A keep-alive HTTP/1.1 connection for JSON-RPC: one ``POST`` at a time, its answer read within a deadline (RFC 9112).

Why not ``http.client`` (or requests/urllib3 on top of it): they parse every answer's header section with the email
package, which on a loopback node costs as much as the node takes to answer ``eth_blockNumber`` — and a cached DID
resolution is exactly one such request. This module reads only what a JSON-RPC client needs, strictly:

- the status line (§4): ``HTTP/1.1`` or ``HTTP/1.0``, a three-digit code; interim 1xx answers (§15.2 of RFC 9110)
  are skipped, ``101`` is refused (nobody asked to switch protocols);
- header fields (§5): ``name: value`` lines; obsolete line folding (§5.2: "A user agent that receives an obs-fold
  [...] MUST replace each received obs-fold with one or more SP" — we refuse instead, as a server may) and fields
  without a name are malformed; the section is at most :data:`MAX_HEADER_BYTES`;
- the body length (§6.3): ``Transfer-Encoding: chunked`` (§7.1, any other coding is refused), else
  ``Content-Length`` (differing values are malformed, §6.3 item 5), else up to the closing of the connection;
- persistence (§9.3): HTTP/1.1 keeps the connection unless ``Connection: close``; HTTP/1.0 does not keep it.

Every socket read is bounded by what is left of the deadline, and the body by ``max_bytes``, so a node that trickles
bytes or sends too much is cut off.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable
from typing import Final

__all__ = ["MAX_HEADER_BYTES", "AnswerTooLarge", "ConnectionDropped", "Http1Connection", "MalformedAnswer"]

#: The most bytes a header section (status line and fields) may take.
MAX_HEADER_BYTES: Final = 64 * 1024
_MAX_CHUNK_LINE: Final = 1024
_READ: Final = 65536


class MalformedAnswer(Exception):
    """The answer is not a well-formed HTTP/1.1 message (or uses what a JSON-RPC client does not accept)."""


class AnswerTooLarge(Exception):
    """The answer's body is larger than allowed."""


class ConnectionDropped(ConnectionError):
    """The node closed the connection before the answer was complete."""


class Http1Connection:
    """One connection to ``host:port`` (TLS when ``tls`` is given), opened on the first request.

    ``clock`` (monotonic seconds) and the deadlines passed to :meth:`post` bound every step.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        clock: Callable[[], float],
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self._clock = clock
        self.sock: socket.socket | None = None
        self._buffer = bytearray()

    @property
    def connected(self) -> bool:
        return self.sock is not None

    def close(self) -> None:
        sock, self.sock = self.sock, None
        self._buffer.clear()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def _remaining(self, deadline: float) -> float:
        left = deadline - self._clock()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left

    def _connect(self, deadline: float) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self._remaining(deadline))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self._buffer.clear()
        return sock

    def post(self, request_head: bytes, body: bytes, deadline: float, *, max_bytes: int) -> tuple[int, bytes]:
        """Send ``request_head`` (request line and fields, without ``Content-Length`` and the empty line) and
        ``body``; return the final answer's status and body. The connection stays open when the answer allows it."""
        sock = self.sock if self.sock is not None else self._connect(deadline)
        sock.settimeout(self._remaining(deadline))
        sock.sendall(request_head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        while True:
            status, fields, keep = self._read_head(deadline)
            if 100 <= status < 200:
                if status == 101:
                    raise MalformedAnswer("the node switched protocols")
                continue  # interim answer: the final one follows
            break
        if status != 200:
            self.close()  # the body is not read: the connection cannot carry another request
            return status, b""
        content = self._read_body(fields, deadline, max_bytes)
        if not keep:
            self.close()
        elif self._buffer:
            self.close()  # bytes nobody asked for: the connection is out of step
        return status, content

    # -- reading ---------------------------------------------------------------------------------------------------

    def _fill(self, deadline: float) -> None:
        """Read more bytes into the buffer; :class:`ConnectionDropped` at the end of the stream."""
        sock = self.sock
        if sock is None:
            raise ConnectionDropped("not connected")
        sock.settimeout(self._remaining(deadline))
        data = sock.recv(_READ)
        if not data:
            raise ConnectionDropped("the node closed the connection")
        self._buffer += data

    def _read_head(self, deadline: float) -> tuple[int, dict[bytes, list[bytes]], bool]:
        searched = 0
        while True:
            end = self._buffer.find(b"\r\n\r\n", max(0, searched - 3))
            if end >= 0:
                break
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise MalformedAnswer("header section too large")
            searched = len(self._buffer)
            self._fill(deadline)
        if end > MAX_HEADER_BYTES:
            raise MalformedAnswer("header section too large")
        head = bytes(self._buffer[:end])
        del self._buffer[: end + 4]
        status_line, *lines = head.split(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        code = rest[:3]
        if (
            version not in (b"HTTP/1.1", b"HTTP/1.0")
            or len(code) != 3
            or not code.isdigit()
            or rest[3:4] not in (b"", b" ")
        ):
            raise MalformedAnswer("no HTTP/1.x status line")
        fields: dict[bytes, list[bytes]] = {}
        for line in lines:
            if not line or line[:1] in (b" ", b"\t"):
                raise MalformedAnswer("folded or empty header line")
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip() or b" " in name or b"\t" in name:
                raise MalformedAnswer("malformed header field")
            fields.setdefault(name.lower(), []).append(value.strip(b" \t"))
        tokens = {token.strip().lower() for value in fields.get(b"connection", []) for token in value.split(b",")}
        keep = b"close" not in tokens and version == b"HTTP/1.1"
        return int(code), fields, keep

    def _read_body(self, fields: dict[bytes, list[bytes]], deadline: float, max_bytes: int) -> bytes:
        codings = [c.strip().lower() for value in fields.get(b"transfer-encoding", []) for c in value.split(b",")]
        if codings:
            if codings != [b"chunked"]:
                raise MalformedAnswer("unsupported transfer coding")
            return self._read_chunked(deadline, max_bytes)
        lengths = {value for value in fields.get(b"content-length", [])}
        if lengths:
            if len(lengths) != 1:
                raise MalformedAnswer("conflicting Content-Length")
            (declared,) = lengths
            if not declared.isdigit() or len(declared) > 18:
                raise MalformedAnswer("malformed Content-Length")
            length = int(declared)
            if length > max_bytes:
                raise AnswerTooLarge(max_bytes)
            while len(self._buffer) < length:
                self._fill(deadline)
            content = bytes(self._buffer[:length])
            del self._buffer[:length]
            return content
        # Neither: the body ends when the node closes the connection (RFC 9112 §6.3 item 8).
        while True:
            if len(self._buffer) > max_bytes:
                raise AnswerTooLarge(max_bytes)
            try:
                self._fill(deadline)
            except ConnectionDropped:
                break
        content = bytes(self._buffer)
        self.close()
        return content

    def _line(self, deadline: float) -> bytes:
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 2]
                return line
            if len(self._buffer) > _MAX_CHUNK_LINE:
                raise MalformedAnswer("chunk line too long")
            self._fill(deadline)

    def _read_chunked(self, deadline: float, max_bytes: int) -> bytes:
        """RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF chunk-data CRLF ... last-chunk trailer-section CRLF."""
        parts: list[bytes] = []
        total = 0
        while True:
            size_text = self._line(deadline).split(b";", 1)[0].strip()
            if not size_text or len(size_text) > 16 or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise MalformedAnswer("malformed chunk size")
            size = int(size_text, 16)
            if size == 0:
                break
            total += size
            if total > max_bytes:
                raise AnswerTooLarge(max_bytes)
            while len(self._buffer) < size + 2:
                self._fill(deadline)
            if self._buffer[size : size + 2] != b"\r\n":
                raise MalformedAnswer("chunk not followed by CRLF")
            parts.append(bytes(self._buffer[:size]))
            del self._buffer[: size + 2]
        trailer_bytes = 0
        while True:  # trailer fields, ignored, up to the empty line
            line = self._line(deadline)
            if not line:
                return b"".join(parts)
            trailer_bytes += len(line)
            if trailer_bytes > MAX_HEADER_BYTES:
                raise MalformedAnswer("trailer section too large")
