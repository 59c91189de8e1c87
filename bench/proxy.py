"""A loopback TCP proxy in front of the server that counts the HTTP requests passing through it, and notes when the
first receive arrived (the agent's start-up, launch to first receive)."""

from __future__ import annotations

import asyncio
import re
import threading
import time

from tests.aws import free_port


class CountingProxy:
    """Counts requests (and bucket listings) from clients to the server at 127.0.0.1:target_port."""

    REQUEST = re.compile(rb"(?:^|\r\n)(?:GET|POST|PUT|HEAD|DELETE) /[^ \r\n]* HTTP/1\.[01]\r\n")
    LISTING = re.compile(rb"(?:^|\r\n)GET /[^/ ?\r\n]+/?(?:\?[^ \r\n]*)? HTTP/1\.[01]\r\n")  # a bucket, not an object (path style)
    RECEIVE = re.compile(rb"AmazonSQS\.ReceiveMessage|Action=ReceiveMessage")  # the JSON or the query protocol

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.requests = 0
        self.listings = 0
        self.first_receive: float | None = None  # time.perf_counter() when the first ReceiveMessage reached the proxy
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="counting-proxy")
        self._thread.start()
        self._ready.wait(10)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for writer in self._writers:  # close the connections, and end their pipes, while their loop still runs
                writer.close()
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, count: bool) -> None:
            try:
                while data := await src.read(65536):
                    if count:
                        if self.first_receive is None and self.RECEIVE.search(data):
                            self.first_receive = time.perf_counter()
                        self.requests += len(self.REQUEST.findall(data))
                        self.listings += len(self.LISTING.findall(data))
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()
                self._writers.discard(dst)

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
