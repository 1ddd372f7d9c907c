#!/usr/bin/env python3
"""A TCP proxy that adds a fixed one-way delay, for benchmarks of a database across a network.

    bench/lib/delay_proxy.py --listen 127.0.0.1:PORT --to 127.0.0.1:PGPORT --delay_ms 0.5

Every chunk read from one side is written to the other side no earlier than `delay_ms` after it
was read, in the order it was read (one reader and one writer thread per direction and a FIFO
between them: nothing is reordered, and the delay is a latency, not a throughput limit). A round
trip through the proxy therefore costs at least 2 x delay_ms more than a direct one, as across a
network link of that latency. Used by bench/pipeline_bench.sh (PIPELINE_BENCH_DELAY_MS) so that
PostgreSQL round trips cost what they would between two machines, without touching the shared
loopback (no tc/netem: other programs on the machine use 127.0.0.1 too).

The proxy's own cost (Python threads waking up, ~tens of microseconds a hop on an idle machine, more
under load) comes on top of the delay; it is the same for everything measured through it. With
--delay_ms 0 it forwards as fast as it can. Prints "listening" on stdout once it accepts.
"""
import argparse
import collections
import socket
import sys
import threading
import time


class Pipe:
    """One direction of one connection: read chunks, release each `delay` seconds after reading."""

    def __init__(self, src, dst, delay, on_close):
        self.src, self.dst, self.delay, self.on_close = src, dst, delay, on_close
        self.queue = collections.deque()
        self.ready = threading.Condition()
        threading.Thread(target=self.read, daemon=True).start()
        threading.Thread(target=self.write, daemon=True).start()

    def read(self):
        while True:
            try:
                data = self.src.recv(65536)
            except OSError:
                data = b""
            with self.ready:
                self.queue.append((time.monotonic() + self.delay, data))  # b"": end of stream
                self.ready.notify()
            if not data:
                return

    def write(self):
        while True:
            with self.ready:
                while not self.queue:
                    self.ready.wait()
                due, data = self.queue.popleft()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if not data:
                try:
                    self.dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                self.on_close()
                return
            try:
                self.dst.sendall(data)
            except OSError:
                self.on_close(broken=True)
                return


def serve(listen, target, delay):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(listen)
    server.listen(128)
    print("listening", flush=True)
    while True:
        client, _ = server.accept()
        try:
            upstream = socket.create_connection(target)
        except OSError as e:
            print(f"delay_proxy: cannot reach {target}: {e}", file=sys.stderr, flush=True)
            client.close()
            continue
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        closed = {"n": 0}
        lock = threading.Lock()

        def on_close(broken=False, client=client, upstream=upstream, closed=closed, lock=lock):
            with lock:  # both directions done, or one broken: release the sockets
                closed["n"] += 1
                if closed["n"] < 2 and not broken:
                    return
            client.close()
            upstream.close()

        Pipe(client, upstream, delay, on_close)
        Pipe(upstream, client, delay, on_close)


def address(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=address, required=True, help="host:port to accept on")
    parser.add_argument("--to", type=address, required=True, help="host:port to forward to")
    parser.add_argument("--delay_ms", type=float, default=0.5, help="one-way delay per chunk")
    args = parser.parse_args()
    if args.delay_ms < 0:
        parser.error("--delay_ms must be >= 0")
    serve(args.listen, args.to, args.delay_ms / 1000.0)


if __name__ == "__main__":
    main()
