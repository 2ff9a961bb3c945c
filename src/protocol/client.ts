/**
 * The WebSocket client the CLI, the benchmarks and the tests use: waits for
 * `connect.challenge`, sends `connect`, correlates `res` frames by id, surfaces events,
 * and turns every failure into a typed error (no hanging promises, every wait is bounded).
 */
import { platform } from "node:os";
import type { DeviceProof, SignedFields } from "../auth/device-identity.ts";
import type { MethodName, ParamsIn, ResultOf } from "./contract.ts";
import type { ErrorShape } from "./errors.ts";
import type { ClientId, ClientMode, EventFrame } from "./frames.ts";
import { VERSION } from "../version.ts";

export interface ClientIdentity {
  id: ClientId;
  mode: ClientMode;
  version?: string;
  platform?: string;
  displayName?: string;
  deviceFamily?: string;
  instanceId?: string;
}

export interface ConnectOptions {
  url: string;
  token?: string;
  password?: string;
  client?: ClientIdentity;
  role?: "operator" | "node";
  scopes?: string[];
  minProtocol?: number;
  maxProtocol?: number;
  /** Bound on open + challenge + hello together (default 15 s). */
  connectTimeoutMs?: number;
  /** Default per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** Extra upgrade headers (Bun-only WebSocket extension). */
  headers?: Record<string, string>;
  /** Present a device identity: sign this socket's challenge (the v3 payload over `fields`). */
  device?: (challenge: { nonce: string; ts: number }, fields: SignedFields) => Promise<DeviceProof>;
  /** A device token to authenticate with (sent as `auth.deviceToken`; needs `device`). */
  deviceToken?: string;
}

export interface HelloOk {
  type: "hello-ok";
  protocol: number;
  server: { version: string; buildId?: string; bootId?: string; connId: string };
  features: { methods: string[]; events: string[]; capabilities?: string[] };
  snapshot: Record<string, unknown> & { presence: unknown[]; health: unknown; uptimeMs: number };
  auth: {
    method?: string;
    role: string;
    scopes: string[];
    recoveryScope?: string;
    recoveryMigrationAllowed?: boolean;
    /** Minted for an approved device (kept by the client, sent as `auth.deviceToken` later). */
    deviceToken?: string;
    issuedAtMs?: number;
  };
  policy: { maxPayload: number; maxBufferedBytes: number; tickIntervalMs: number };
}

/** The gateway answered `ok:false`. */
export class GatewayRequestError extends Error {
  override name = "GatewayRequestError";
  readonly code: string;
  readonly details: unknown;
  readonly retryable: boolean;
  constructor(readonly method: string, readonly error: ErrorShape) {
    super(error.message);
    this.code = error.code;
    this.details = error.details;
    this.retryable = error.retryable ?? false;
  }
}

export type ConnectFailureKind = "unreachable" | "timeout" | "rejected" | "closed";

/** Connecting failed: socket error, timeout, a refused `connect`, or an early close. */
export class GatewayConnectError extends Error {
  override name = "GatewayConnectError";
  constructor(
    readonly kind: ConnectFailureKind,
    message: string,
    readonly extra: { error?: ErrorShape; closeCode?: number; closeReason?: string } = {},
  ) {
    super(message);
  }
  get code(): string | undefined {
    return this.extra.error?.code;
  }
  get detailCode(): string | undefined {
    return (this.extra.error?.details as { code?: string } | undefined)?.code;
  }
}

export class GatewayTimeoutError extends Error {
  override name = "GatewayTimeoutError";
}

export class GatewayClosedError extends Error {
  override name = "GatewayClosedError";
  constructor(readonly code: number, readonly reason: string) {
    super(`gateway closed the connection (${code}${reason ? ` ${reason}` : ""})`);
  }
}

interface Pending {
  method: string;
  /** Two-stage methods (`agent`): skip the `accepted` ack and wait for the final response. */
  expectFinal?: boolean;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer?: ReturnType<typeof setTimeout>;
}

export class GatewayClient {
  private pending = new Map<string, Pending>();
  private listeners = new Set<(e: EventFrame) => void>();
  private counter = 1;
  private closeInfo?: { code: number; reason: string };
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(
    private readonly ws: WebSocket,
    readonly hello: HelloOk,
    private readonly requestTimeoutMs: number,
    closed: Promise<{ code: number; reason: string }>,
  ) {
    this.closed = closed;
  }

  /** Open, wait for the challenge, send `connect`, resolve with the hello-ok. */
  static connect(opts: ConnectOptions): Promise<GatewayClient> {
    const timeoutMs = opts.connectTimeoutMs ?? 15_000;
    return new Promise<GatewayClient>((resolve, reject) => {
      let settled = false;
      let ws: WebSocket;
      try {
        ws = new WebSocket(opts.url, { headers: opts.headers, perMessageDeflate: false });
      } catch (err) {
        reject(new GatewayConnectError("unreachable", (err as Error).message));
        return;
      }
      const connectId = `1:${crypto.randomUUID()}`;
      let client: GatewayClient | undefined;
      let resolveClosed!: (v: { code: number; reason: string }) => void;
      const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
      const buffered: EventFrame[] = [];
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        try {
          ws.close();
        } catch {}
        reject(err);
      };
      const timer = setTimeout(() => fail(new GatewayConnectError("timeout", `connect timed out after ${timeoutMs}ms`)), timeoutMs);
      let connectError: ErrorShape | undefined;

      const sendConnect = async (challenge: { nonce: string; ts: number }) => {
        const client = {
          id: opts.client?.id ?? "cli",
          version: opts.client?.version ?? VERSION,
          platform: opts.client?.platform ?? platform(),
          mode: opts.client?.mode ?? "cli",
          ...(opts.client?.displayName ? { displayName: opts.client.displayName } : {}),
          ...(opts.client?.deviceFamily ? { deviceFamily: opts.client.deviceFamily } : {}),
          instanceId: opts.client?.instanceId ?? crypto.randomUUID(),
        };
        const role = opts.role ?? "operator";
        const scopes = opts.scopes ?? ["operator.read"];
        const deviceToken = opts.device ? opts.deviceToken : undefined;
        const auth = {
          ...(opts.token ? { token: opts.token } : {}),
          ...(deviceToken ? { deviceToken } : {}),
          ...(opts.password ? { password: opts.password } : {}),
        };
        const device = opts.device
          ? await opts.device(
              { nonce: String(challenge?.nonce ?? ""), ts: Number(challenge?.ts ?? Date.now()) },
              {
                clientId: client.id,
                clientMode: client.mode,
                role,
                scopes,
                token: opts.token ?? deviceToken ?? "",
                platform: client.platform,
                deviceFamily: client.deviceFamily,
              },
            )
          : undefined;
        if (settled) return;
        ws.send(
          JSON.stringify({
            type: "req",
            id: connectId,
            method: "connect",
            params: {
              minProtocol: opts.minProtocol ?? 4,
              maxProtocol: opts.maxProtocol ?? 4,
              client,
              caps: [],
              role,
              scopes,
              ...(Object.keys(auth).length > 0 ? { auth } : {}),
              ...(device ? { device } : {}),
            },
          }),
        );
      };
      ws.addEventListener("message", (ev) => {
        let frame: any;
        try {
          frame = JSON.parse(String(ev.data));
        } catch {
          return;
        }
        if (client) {
          client.onFrame(frame);
          return;
        }
        if (frame.type === "event" && frame.event === "connect.challenge") {
          void sendConnect(frame.payload as { nonce: string; ts: number }).catch((err) => fail(new GatewayConnectError("rejected", `cannot sign the connect challenge: ${(err as Error).message}`)));
          return;
        }
        if (frame.type === "res" && frame.id === connectId) {
          if (frame.ok) {
            settled = true;
            clearTimeout(timer);
            client = new GatewayClient(ws, frame.payload as HelloOk, opts.requestTimeoutMs ?? 30_000, closed);
            for (const e of buffered.splice(0)) client.emit(e);
            resolve(client);
          } else {
            connectError = frame.error;
          }
          return;
        }
        if (frame.type === "event") buffered.push(frame);
      });
      ws.addEventListener("error", () => {
        if (!connectError) fail(new GatewayConnectError("unreachable", `cannot connect to ${opts.url}`));
      });
      ws.addEventListener("close", (ev) => {
        const info = { code: ev.code, reason: ev.reason };
        resolveClosed(info);
        if (client) {
          client.onClose(info);
          return;
        }
        if (connectError) {
          fail(
            new GatewayConnectError("rejected", connectError.message, { error: connectError, closeCode: ev.code, closeReason: ev.reason }),
          );
        } else {
          fail(
            new GatewayConnectError("closed", `gateway closed the connection during connect (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`, {
              closeCode: ev.code,
              closeReason: ev.reason,
            }),
          );
        }
      });
    });
  }

  get scopes(): string[] {
    return this.hello.auth.scopes;
  }

  onEvent(listener: (e: EventFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Wait for the next event named `name` (bounded). */
  waitForEvent(name: string, timeoutMs = 5_000): Promise<EventFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new GatewayTimeoutError(`no ${name} event within ${timeoutMs}ms`));
      }, timeoutMs);
      const off = this.onEvent((e) => {
        if (e.event !== name) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  }

  /**
   * A method of the wire contract (src/protocol/contract.ts): params and result are typed
   * from it. `request` remains for any method by name (`openclaw gateway call`).
   */
  call<M extends MethodName>(method: M, params?: ParamsIn<M>, opts: { timeoutMs?: number; expectFinal?: boolean } = {}): Promise<ResultOf<M>> {
    return this.request<ResultOf<M>>(method, params, opts);
  }

  /**
   * Send a request. `expectFinal` keeps a two-stage request (`agent`) open past its
   * `status:"accepted"` ack; the timeout then only bounds the wait for that ack.
   */
  request<T = unknown>(method: string, params?: unknown, opts: { timeoutMs?: number; expectFinal?: boolean } = {}): Promise<T> {
    if (this.closeInfo) return Promise.reject(new GatewayClosedError(this.closeInfo.code, this.closeInfo.reason));
    const id = `${++this.counter}:${crypto.randomUUID()}`;
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { method, expectFinal: opts.expectFinal, resolve: resolve as (v: unknown) => void, reject };
      if (timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new GatewayTimeoutError(`${method} timed out after ${timeoutMs}ms`));
        }, timeoutMs);
      }
      this.pending.set(id, entry);
      const frame: Record<string, unknown> = { type: "req", id, method };
      if (params !== undefined) frame.params = params;
      this.ws.send(JSON.stringify(frame));
    });
  }

  close(code = 1000, reason = ""): Promise<{ code: number; reason: string }> {
    if (!this.closeInfo) {
      try {
        this.ws.close(code, reason);
      } catch {}
    }
    return this.closed;
  }

  private emit(e: EventFrame): void {
    for (const l of this.listeners) l(e);
  }

  private onFrame(frame: any): void {
    if (frame.type === "res") {
      const p = this.pending.get(frame.id);
      if (!p) return;
      if (p.expectFinal && frame.ok && frame.payload?.status === "accepted") {
        if (p.timer) clearTimeout(p.timer);
        p.timer = undefined;
        return;
      }
      this.pending.delete(frame.id);
      if (p.timer) clearTimeout(p.timer);
      if (frame.ok) p.resolve(frame.payload);
      else p.reject(new GatewayRequestError(p.method, frame.error));
    } else if (frame.type === "event") {
      this.emit(frame);
    }
  }

  private onClose(info: { code: number; reason: string }): void {
    this.closeInfo = info;
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new GatewayClosedError(info.code, info.reason));
      this.pending.delete(id);
    }
  }
}
