"""Undoing Content-Encoding without ever holding more than the size cap.

Bodies are read raw and decoded here, with a limit on each step's output:
300 bytes of brotli can expand to 200 MiB, and httpx's own decoders would
unfold each received chunk in full before it could be counted.
"""

from __future__ import annotations

import zlib
from functools import cache
from typing import Protocol

try:
    import brotli  # type: ignore[import-untyped, unused-ignore]
except ImportError:  # pragma: no cover - httpx[brotli] normally installs it
    brotli = None


class DecodeError(Exception):
    """A body that cannot be decoded: `kind` is the fetch error kind it becomes."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Decoder(Protocol):
    """One content coding, decoding at most a little past `limit` bytes per call."""

    def decode(self, data: bytes, limit: int) -> bytes: ...

    def flush(self, limit: int) -> bytes: ...


class _ZlibDecoder:
    """gzip and deflate with bounded output: zlib's `max_length` stops a bomb early."""

    def __init__(self, name: str, wbits: int, *, raw_fallback: bool = False) -> None:
        self._name = name
        self._zlib = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback
        self._started = False

    def decode(self, data: bytes, limit: int) -> bytes:
        if self._zlib.eof:  # trailing bytes after the stream: ignore, as browsers do
            return b""
        try:
            out = self._zlib.decompress(data, limit + 1)
        except zlib.error as exc:
            if self._raw_fallback and not self._started:
                # "deflate" should be zlib-wrapped, but some servers send raw deflate.
                self._raw_fallback = False
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(data, limit)
            raise DecodeError("network", f"could not decode the {self._name} body: {exc}") from exc
        self._started = True
        return out

    def flush(self, limit: int) -> bytes:
        return self._zlib.flush()


class _BrotliDecoder:
    """Brotli with bounded output: 300 bytes of brotli can expand to 200 MiB."""

    def __init__(self) -> None:
        self._brotli = brotli.Decompressor()

    def decode(self, data: bytes, limit: int) -> bytes:
        try:
            return bytes(self._brotli.process(data, output_buffer_limit=limit + 1))
        except brotli.error as exc:
            raise DecodeError("network", f"could not decode the br body: {exc}") from exc

    def flush(self, limit: int) -> bytes:
        return b""


class BodyDecoder:
    """Undo the response's Content-Encoding without ever holding more than the cap.

    httpx's own decoders (behind `aiter_bytes`) decompress each received
    chunk in full before the caller can count it: one 64 KiB chunk of a
    brotli bomb is gigabytes. So bodies are read raw and decoded here with
    output limits.
    """

    def __init__(self, content_encoding: str) -> None:
        # Codings are listed in the order they were applied; undo them backwards.
        names = [n.strip().lower() for n in content_encoding.split(",")]
        self._decoders = [_decoder_for(n) for n in reversed(names) if n not in ("", "identity")]

    def decode(self, data: bytes, limit: int) -> bytes:
        for decoder in self._decoders:
            data = decoder.decode(data, limit)
            if len(data) > limit:
                break
        return data

    def flush(self, limit: int) -> bytes:
        data = b""
        for decoder in self._decoders:
            if data:
                data = decoder.decode(data, limit)
            if len(data) > limit:
                break
            data += decoder.flush(limit)
        return data


def _decoder_for(name: str) -> _Decoder:
    if name in ("gzip", "x-gzip"):
        return _ZlibDecoder(name, zlib.MAX_WBITS | 16)
    if name == "deflate":
        return _ZlibDecoder(name, zlib.MAX_WBITS, raw_fallback=True)
    if name == "br" and _brotli_bounded():
        return _BrotliDecoder()
    raise DecodeError("http", f"unsupported Content-Encoding {name!r}")


@cache
def _brotli_bounded() -> bool:
    """Whether brotli can limit its output (brotli >= 1.2); otherwise br is not offered."""
    if brotli is None:  # pragma: no cover - depends on the environment
        return False
    try:
        brotli.Decompressor().process(b"", output_buffer_limit=1)
    except TypeError:  # pragma: no cover - depends on the environment
        return False
    return True


def accept_encoding() -> str:
    return "gzip, deflate, br" if _brotli_bounded() else "gzip, deflate"
