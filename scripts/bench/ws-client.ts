/**
 * A lean WebSocket client for the benchmarks, used identically against the gateway and the
 * reference so the client's own cost is the same on both sides: wait for the challenge, send the
 * same `connect` request the CLI sends (client `cli`, role operator, scope operator.read, token),
 * and resolve on its reply. Every wait is bounded.
 */
import { VERSION } from "../../src/version.ts";

export interface Handshaken {
  ws: WebSocket;
  /** Size of the connect reply (hello-ok) in bytes. */
  helloBytes: number;
}

let counter = 0;

export function connectFrame(id: string, token: string | undefined): string {
  return JSON.stringify({
    type: "req",
    id,
    method: "connect",
    params: {
      minProtocol: 4,
      maxProtocol: 4,
      client: { id: "cli", version: VERSION, platform: process.platform, mode: "cli", instanceId: crypto.randomUUID() },
      caps: [],
      role: "operator",
      scopes: ["operator.read"],
      ...(token ? { auth: { token } } : {}),
    },
  });
}

/** Open a socket and complete the handshake; rejects on error, refusal, close or timeout. */
export function handshake(url: string, token: string | undefined, timeoutMs = 10_000): Promise<Handshaken> {
  return new Promise((resolve, reject) => {
    const id = `c${++counter}`;
    let done = false;
    const ws = new WebSocket(url, { perMessageDeflate: false } as unknown as string[]);
    const finish = (err?: Error, helloBytes = 0) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.onmessage = null;
      ws.onerror = null;
      ws.onclose = null;
      if (err) {
        try {
          ws.close();
        } catch {}
        reject(err);
      } else resolve({ ws, helloBytes });
    };
    const timer = setTimeout(() => finish(new Error(`handshake with ${url} timed out after ${timeoutMs}ms`)), timeoutMs);
    ws.onmessage = (ev) => {
      const text = String(ev.data);
      if (text.includes('"event":"connect.challenge"')) {
        ws.send(connectFrame(id, token));
        return;
      }
      if (text.includes(`"id":"${id}"`)) {
        if (text.includes('"ok":true')) finish(undefined, Buffer.byteLength(text));
        else finish(new Error(`connect refused: ${text.slice(0, 200)}`));
      }
    };
    ws.onerror = () => finish(new Error(`WebSocket error talking to ${url}`));
    ws.onclose = (ev) => finish(new Error(`closed during handshake (${ev.code} ${ev.reason})`));
  });
}

/** Close and wait (bounded) for the close to complete. */
export function closeSocket(ws: WebSocket, timeoutMs = 2_000): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    ws.onclose = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      ws.close();
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

/** One request on an open socket; resolves with the reply text and its size. */
export function requestOnce(ws: WebSocket, method: string, params: unknown, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = `r${++counter}`;
    const prev = ws.onmessage;
    const timer = setTimeout(() => {
      ws.onmessage = prev;
      reject(new Error(`${method} timed out after ${timeoutMs}ms`));
    }, timeoutMs);
    ws.onmessage = (ev) => {
      const text = String(ev.data);
      if (!text.includes(`"id":"${id}"`)) return;
      clearTimeout(timer);
      ws.onmessage = prev;
      if (text.includes('"ok":true')) resolve(text);
      else reject(new Error(`${method} failed: ${text.slice(0, 200)}`));
    };
    ws.send(JSON.stringify(params === undefined ? { type: "req", id, method } : { type: "req", id, method, params }));
  });
}

/**
 * Open `n` handshaken sockets with at most `concurrency` handshakes in flight (the gateway caps
 * unauthenticated sockets per IP at 32). Rejects on the first failure after closing what opened.
 */
export async function openMany(url: string, token: string | undefined, n: number, concurrency = 16, timeoutMs = 60_000): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  const deadline = performance.now() + timeoutMs;
  let next = 0;
  let failure: Error | undefined;
  const worker = async () => {
    while (next < n && !failure) {
      next++;
      if (performance.now() > deadline) {
        failure = new Error(`opening ${n} sockets took over ${timeoutMs}ms (${sockets.length} open)`);
        return;
      }
      try {
        sockets.push((await handshake(url, token, 10_000)).ws);
      } catch (e) {
        failure = e as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  if (failure) {
    await Promise.all(sockets.map((ws) => closeSocket(ws, 1_000)));
    throw failure;
  }
  return sockets;
}
