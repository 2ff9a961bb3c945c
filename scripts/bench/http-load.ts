/**
 * A small HTTP/1.1 load generator on raw TCP (`Bun.connect`): `connections` keep-alive
 * connections, each keeping `depth` pipelined `GET <path>` requests in flight for `durationMs`.
 * Responses are framed by Content-Length; anything else (no length, chunked, a non-200 status,
 * a socket error) is counted as an error. Raw sockets keep the client's cost per request far
 * below the server's, so the figure is the server's throughput, not the client's.
 */
export interface LoadResult {
  /** 200 responses received before the deadline. */
  ok: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  perSecond: number;
}

interface ConnState {
  buf: Buffer;
  inFlight: number;
  pendingWrite?: Buffer;
}

const HEADER_END = Buffer.from("\r\n\r\n");

export function httpLoad(opts: { port: number; path?: string; connections?: number; depth?: number; durationMs: number; host?: string }): Promise<LoadResult> {
  const host = opts.host ?? "127.0.0.1";
  const connections = opts.connections ?? 16;
  const depth = opts.depth ?? 8;
  const request = Buffer.from(`GET ${opts.path ?? "/health"} HTTP/1.1\r\nHost: ${host}:${opts.port}\r\nUser-Agent: openclaw-bench\r\n\r\n`);
  const batches = Array.from({ length: depth + 1 }, (_, n) => Buffer.concat(Array.from({ length: n }, () => request)));
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  let open = 0;
  const started = performance.now();
  const deadline = started + opts.durationMs;
  const sockets: Array<{ end(): void }> = [];

  const fail = (why: string) => {
    errors++;
    firstError ??= why;
  };

  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const s of sockets) {
        try {
          s.end();
        } catch {}
      }
      const elapsedMs = performance.now() - started;
      resolve({ ok, errors, firstError, elapsedMs, perSecond: (ok * 1000) / Math.min(elapsedMs, opts.durationMs) });
    };
    const timer = setTimeout(finish, opts.durationMs);

    const write = (socket: { write(b: Buffer): number }, st: ConnState, data: Buffer) => {
      const all = st.pendingWrite ? Buffer.concat([st.pendingWrite, data]) : data;
      const n = socket.write(all);
      st.pendingWrite = n < all.length ? all.subarray(Math.max(0, n)) : undefined;
    };

    for (let i = 0; i < connections; i++) {
      const st: ConnState = { buf: Buffer.alloc(0), inFlight: 0 };
      Bun.connect({
        hostname: host,
        port: opts.port,
        socket: {
          open(socket) {
            open++;
            sockets.push(socket);
            st.inFlight = depth;
            write(socket, st, batches[depth]);
          },
          data(socket, chunk) {
            st.buf = st.buf.length ? Buffer.concat([st.buf, chunk]) : Buffer.from(chunk);
            let done = 0;
            for (let guard = 0; guard < 10_000; guard++) {
              const end = st.buf.indexOf(HEADER_END);
              if (end < 0) break;
              const head = st.buf.toString("latin1", 0, end);
              const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
              if (!m) {
                fail(`response without Content-Length: ${head.split("\r\n")[0]}`);
                socket.end();
                return;
              }
              const total = end + 4 + Number(m[1]);
              if (st.buf.length < total) break;
              if (head.startsWith("HTTP/1.1 200")) {
                if (performance.now() <= deadline) ok++;
              } else fail(head.split("\r\n")[0]);
              st.buf = st.buf.subarray(total);
              done++;
            }
            st.inFlight -= done;
            if (done > 0 && performance.now() < deadline && !finished) {
              st.inFlight += done;
              write(socket, st, done <= depth ? batches[done] : Buffer.concat(Array.from({ length: done }, () => request)));
            }
          },
          drain(socket) {
            if (st.pendingWrite) write(socket, st, Buffer.alloc(0));
          },
          error(_socket, err) {
            fail(`socket error: ${err.message}`);
          },
          connectError(_socket, err) {
            fail(`connect error: ${err.message}`);
            if (++open >= connections && sockets.length === 0) finish();
          },
          close() {},
        },
      }).catch((err: Error) => fail(`connect: ${err.message}`));
    }
  });
}
