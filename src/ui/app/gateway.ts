/**
 * The dashboard's WebSocket client: the connect handshake as the official Control UI does it,
 * requests with timeouts, events, and reconnects.
 *
 *   connect.challenge {nonce, ts}  →  connect {client: openclaw-control-ui / webchat, role operator,
 *   the six operator scopes, device {id, publicKey, signature, signedAt: challenge ts, nonce},
 *   auth {token, deviceToken, password}}  →  hello-ok (its auth.deviceToken is stored).
 *
 * The device signs the v2 payload `v2|deviceId|clientId|mode|role|scopes|signedAt|token|nonce`
 * (the official UI's choice; the gateway accepts v3 and v2).
 *
 * Reconnects back off 800 ms × 1.7ⁿ up to 15 s. Credential failures and a pairing request stop
 * the loop (the page shows why) unless the gateway says to keep trying (`pauseReconnect:false`
 * or `recommendedNextStep:"wait_then_retry"`). A `shutdown` event or close 1012/1001 shows as a
 * restart rather than an outage.
 */
import { loadIdentity, signText, type DeviceIdentity } from "./crypto/identity.ts";
import { clearDeviceToken, loadDeviceToken, local, saveDeviceToken } from "./storage.ts";

export const CLIENT_ID = "openclaw-control-ui";
export const CLIENT_MODE = "webchat";
export const ROLE = "operator";
export const DEFAULT_SCOPES = [
  "operator.admin",
  "operator.read",
  "operator.write",
  "operator.approvals",
  "operator.questions",
  "operator.pairing",
];

export const RECONNECT = { initialMs: 800, multiplier: 1.7, maxMs: 15_000 };
const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

/** Error codes after which retrying with the same credentials cannot help. */
const TERMINAL = new Set([
  "AUTH_TOKEN_MISSING",
  "AUTH_BOOTSTRAP_TOKEN_INVALID",
  "AUTH_PASSWORD_MISSING",
  "AUTH_PASSWORD_MISMATCH",
  "AUTH_RATE_LIMITED",
  "AUTH_DEVICE_TOKEN_MISMATCH",
  "AUTH_SCOPE_MISMATCH",
  "AUTH_IDENTITY_HEADER_REQUIRED",
  "AUTH_VERIFIED_USER_REQUIRED",
  "CONTROL_UI_BUILD_MISMATCH",
  "PAIRING_REQUIRED",
  "CONTROL_UI_DEVICE_IDENTITY_REQUIRED",
  "DEVICE_IDENTITY_REQUIRED",
  "CONTROL_UI_ORIGIN_NOT_ALLOWED",
  "PROTOCOL_MISMATCH",
]);

export class GatewayRequestError extends Error {
  override name = "GatewayRequestError";
  constructor(
    message: string,
    readonly code: string,
    readonly details?: any,
    readonly retryable?: boolean,
  ) {
    super(message);
  }
  get detailCode(): string | undefined {
    return typeof this.details?.code === "string" ? this.details.code : undefined;
  }
}

export type Phase =
  | "connecting"
  | "connected"
  | "reconnecting"
  | "restarting"
  | "auth-required"
  | "pairing-required"
  | "stopped";

export interface ConnState {
  phase: Phase;
  hello?: any;
  error?: GatewayRequestError;
  closeCode?: number;
  closeReason?: string;
  /** When the next attempt is due (ms epoch), while waiting to reconnect. */
  retryAt?: number;
  /** Pairing: the gateway asked us to keep retrying. */
  autoRetry?: boolean;
  restartExpectedMs?: number;
  attempts: number;
}

export interface ClientOptions {
  url: string;
  token(): string;
  version: string;
  buildId?: string;
  instanceId: string;
  scopes?: string[];
  /** Tests of the fallback signer force it; the page never does. */
  forceFallback?: boolean;
}

type EventListener = (event: string, payload: any) => void;
type StateListener = (state: ConnState) => void;

interface Pending {
  resolve(value: any): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export function reconnectDelay(attempt: number): number {
  return Math.min(RECONNECT.initialMs * RECONNECT.multiplier ** attempt, RECONNECT.maxMs);
}

export class GatewayClient {
  private ws?: WebSocket;
  private pending = new Map<string, Pending>();
  private nextId = 1;
  private eventListeners = new Set<EventListener>();
  private stateListeners = new Set<StateListener>();
  private retryTimer?: ReturnType<typeof setTimeout>;
  private connectTimer?: ReturnType<typeof setTimeout>;
  private tickTimer?: ReturnType<typeof setInterval>;
  private lastInbound = 0;
  private stopped = true;
  private terminal = false;
  private shutdownSeen?: { restartExpectedMs?: number };
  private deviceTokenRetry = false;
  private deviceTokenRetryUsed = false;
  private identity?: DeviceIdentity;
  state: ConnState = { phase: "stopped", attempts: 0 };

  constructor(readonly opts: ClientOptions) {}

  get url(): string {
    return this.opts.url;
  }

  get connected(): boolean {
    return this.state.phase === "connected";
  }

  get deviceId(): string | undefined {
    return this.identity?.deviceId;
  }

  onEvent(fn: EventListener): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  onState(fn: StateListener): () => void {
    this.stateListeners.add(fn);
    fn(this.state);
    return () => this.stateListeners.delete(fn);
  }

  private setState(patch: Partial<ConnState>, replace = false): void {
    this.state = replace ? { attempts: this.state.attempts, ...patch } as ConnState : { ...this.state, ...patch };
    for (const fn of this.stateListeners) fn(this.state);
  }

  start(): void {
    this.stopped = false;
    this.terminal = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.closeSocket(1000, "client stopped");
    this.setState({ phase: "stopped" }, true);
  }

  /** Try again now (the "Check now" / "Retry" buttons). */
  retryNow(): void {
    clearTimeout(this.retryTimer);
    this.terminal = false;
    this.stopped = false;
    this.closeSocket(4000, "retry");
    this.open();
  }

  request<T = any>(method: string, params: unknown = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.state.phase !== "connected") {
      return Promise.reject(new GatewayRequestError("gateway not connected", "UNAVAILABLE"));
    }
    const id = `ui-${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new GatewayRequestError(`${method} timed out`, "TIMEOUT"));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ type: "req", id, method, params }));
    });
  }

  private emit(event: string, payload: unknown): void {
    for (const fn of this.eventListeners) {
      try {
        fn(event, payload);
      } catch (err) {
        console.error(`[gateway] ${event} listener failed`, err);
      }
    }
  }

  private open(): void {
    clearTimeout(this.retryTimer);
    const reconnecting = this.state.phase !== "stopped" && this.state.attempts > 0;
    const restarting = this.shutdownSeen !== undefined || this.state.phase === "restarting";
    if (!(this.state.phase === "pairing-required" && this.state.autoRetry)) {
      this.setState({ phase: restarting ? "restarting" : reconnecting ? "reconnecting" : "connecting", retryAt: undefined });
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.opts.url);
    } catch (err) {
      this.setState({ error: new GatewayRequestError(String((err as Error)?.message ?? err), "WEBSOCKET_ERROR") });
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    let challenged = false;
    this.connectTimer = setTimeout(() => {
      if (this.ws === ws && this.state.phase !== "connected") ws.close(4008, "connect timeout");
    }, CONNECT_TIMEOUT_MS);
    ws.addEventListener("message", (ev) => {
      if (this.ws !== ws) return;
      this.lastInbound = Date.now();
      let frame: any;
      try {
        frame = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (frame?.type === "event" && frame.event === "connect.challenge" && !challenged) {
        challenged = true;
        void this.sendConnect(ws, frame.payload);
        return;
      }
      if (frame?.type === "res") {
        const p = this.pending.get(frame.id);
        if (!p) return;
        this.pending.delete(frame.id);
        clearTimeout(p.timer);
        if (frame.ok) p.resolve(frame.payload);
        else p.reject(toError(frame.error));
        return;
      }
      if (frame?.type === "event" && typeof frame.event === "string") {
        if (frame.event === "shutdown") {
          const ms = frame.payload?.restartExpectedMs;
          this.shutdownSeen = { restartExpectedMs: typeof ms === "number" ? ms : undefined };
        }
        this.emit(frame.event, frame.payload);
      }
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.onClosed(ev.code, ev.reason);
    });
  }

  private async sendConnect(ws: WebSocket, challenge: { nonce?: string; ts?: number }): Promise<void> {
    const nonce = typeof challenge?.nonce === "string" ? challenge.nonce : "";
    const signedAt = typeof challenge?.ts === "number" ? challenge.ts : Date.now();
    let identity: DeviceIdentity | undefined;
    try {
      identity = this.identity ??= await loadIdentity(local(), { forceFallback: this.opts.forceFallback });
    } catch (err) {
      console.warn("[gateway] no device identity", err);
    }
    const token = this.opts.token().trim() || undefined;
    const stored = identity ? loadDeviceToken(this.opts.url, identity.deviceId, ROLE) : undefined;
    const storedUsable = stored && (stored.scopes.length === 0 || stored.scopes.some((s) => s === "operator.read" || s === "operator.write" || s === "operator.admin"));
    const deviceToken = storedUsable && (!token || this.deviceTokenRetry) ? stored.token : undefined;
    this.deviceTokenRetry = false;
    const scopes = this.opts.scopes ?? (!token && deviceToken && stored?.scopes.length ? stored.scopes : DEFAULT_SCOPES);
    const client = {
      id: CLIENT_ID,
      version: this.opts.version,
      ...(this.opts.buildId ? { buildId: this.opts.buildId } : {}),
      platform: navigator.platform || "web",
      mode: CLIENT_MODE,
      instanceId: this.opts.instanceId,
      ...(timeZone() ? { timeZone: timeZone() } : {}),
    };
    let device: Record<string, unknown> | undefined;
    if (identity) {
      const payload = ["v2", identity.deviceId, CLIENT_ID, CLIENT_MODE, ROLE, scopes.join(","), String(signedAt), token ?? deviceToken ?? "", nonce].join("|");
      try {
        const signature = await signText(identity.privateKey, payload, { forceFallback: this.opts.forceFallback });
        device = { id: identity.deviceId, publicKey: identity.publicKey, signature, signedAt, nonce };
      } catch (err) {
        console.warn("[gateway] signing failed", err);
      }
    }
    const auth: Record<string, string> = {};
    if (token) auth.token = token;
    if (deviceToken) auth.deviceToken = deviceToken;
    if (token) auth.password = token;
    const params = {
      minProtocol: 4,
      maxProtocol: 4,
      client,
      role: ROLE,
      scopes,
      ...(device ? { device } : {}),
      caps: [],
      ...(Object.keys(auth).length ? { auth } : {}),
      userAgent: navigator.userAgent,
      locale: navigator.language,
    };
    if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
    const id = `connect-${this.nextId++}`;
    const res = new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new GatewayRequestError("connect timed out", "TIMEOUT")), CONNECT_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
    });
    ws.send(JSON.stringify({ type: "req", id, method: "connect", params }));
    try {
      const hello = await res;
      this.onHello(hello, identity);
    } catch (err) {
      this.onConnectError(err as GatewayRequestError, { token, storedToken: stored?.token, identity, deviceTokenSent: Boolean(deviceToken) });
    }
  }

  private onHello(hello: any, identity: DeviceIdentity | undefined): void {
    clearTimeout(this.connectTimer);
    this.shutdownSeen = undefined;
    this.deviceTokenRetryUsed = false;
    if (identity && typeof hello?.auth?.deviceToken === "string") {
      saveDeviceToken(this.opts.url, identity.deviceId, {
        token: hello.auth.deviceToken,
        role: hello.auth.role ?? ROLE,
        scopes: Array.isArray(hello.auth.scopes) ? hello.auth.scopes : [],
      });
    }
    const tick = hello?.policy?.tickIntervalMs;
    const interval = Math.max(1000, typeof tick === "number" && tick > 0 ? tick : 30_000);
    clearInterval(this.tickTimer);
    this.lastInbound = Date.now();
    this.tickTimer = setInterval(() => {
      // Two silent tick periods: the socket is dead even if the browser has not noticed.
      if (Date.now() - this.lastInbound > interval * 2) this.closeSocket(4000, "tick timeout");
    }, interval);
    this.setState({ phase: "connected", hello, error: undefined, closeCode: undefined, closeReason: undefined, attempts: 0, autoRetry: undefined, restartExpectedMs: undefined }, true);
    this.state.attempts = 0;
  }

  private onConnectError(
    err: GatewayRequestError,
    ctx: { token?: string; storedToken?: string; identity?: DeviceIdentity; deviceTokenSent: boolean },
  ): void {
    const error = err instanceof GatewayRequestError ? err : new GatewayRequestError(String(err), "UNAVAILABLE");
    const code = error.detailCode ?? error.code;
    if (code === "AUTH_DEVICE_TOKEN_MISMATCH" && ctx.identity) clearDeviceToken(this.opts.url, ctx.identity.deviceId, ROLE);
    if (
      code === "AUTH_TOKEN_MISMATCH" &&
      !this.deviceTokenRetryUsed &&
      ctx.token &&
      ctx.storedToken &&
      !ctx.deviceTokenSent &&
      (error.details?.canRetryWithDeviceToken === true || error.details?.recommendedNextStep === "retry_with_device_token")
    ) {
      // One retry with the stored device token, as the official client does.
      this.deviceTokenRetry = true;
      this.deviceTokenRetryUsed = true;
      this.setState({ error });
      return;
    }
    const keepTrying = code === "PAIRING_REQUIRED" && (error.details?.pauseReconnect === false || error.details?.recommendedNextStep === "wait_then_retry");
    if (code === "PAIRING_REQUIRED") {
      this.terminal = !keepTrying;
      this.setState({ phase: "pairing-required", error, autoRetry: keepTrying });
      return;
    }
    if (TERMINAL.has(code) || code === "AUTH_TOKEN_MISMATCH" || code.startsWith("AUTH_")) {
      this.terminal = true;
      this.setState({ phase: "auth-required", error });
      return;
    }
    this.setState({ error });
  }

  private onClosed(code: number, reason: string): void {
    clearTimeout(this.connectTimer);
    clearInterval(this.tickTimer);
    this.ws = undefined;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new GatewayRequestError(`gateway disconnected (${code}${reason ? `: ${reason}` : ""})`, "UNAVAILABLE"));
      this.pending.delete(id);
    }
    if (this.stopped) return;
    if (this.terminal) {
      this.setState({ closeCode: code, closeReason: reason, retryAt: undefined });
      return;
    }
    const restarting = this.shutdownSeen !== undefined || code === 1012 || code === 1001;
    if (restarting && !this.shutdownSeen) this.shutdownSeen = {};
    this.scheduleReconnect({ closeCode: code, closeReason: reason, restarting });
  }

  private scheduleReconnect(extra: { closeCode?: number; closeReason?: string; restarting?: boolean } = {}): void {
    const attempts = this.state.attempts;
    const delay = reconnectDelay(attempts);
    const pairing = this.state.phase === "pairing-required" && this.state.autoRetry;
    this.setState({
      phase: pairing ? "pairing-required" : extra.restarting ? "restarting" : "reconnecting",
      closeCode: extra.closeCode,
      closeReason: extra.closeReason,
      restartExpectedMs: this.shutdownSeen?.restartExpectedMs,
      retryAt: Date.now() + delay,
      attempts: attempts + 1,
    });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  private closeSocket(code: number, reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = undefined;
    clearTimeout(this.connectTimer);
    clearInterval(this.tickTimer);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new GatewayRequestError("gateway connection closed", "UNAVAILABLE"));
      this.pending.delete(id);
    }
    try {
      ws.close(code, reason);
    } catch {
      // already closing
    }
    if (!this.stopped && !this.terminal && reason === "tick timeout") this.scheduleReconnect();
  }
}

function toError(error: any): GatewayRequestError {
  return new GatewayRequestError(
    typeof error?.message === "string" ? error.message : "request failed",
    typeof error?.code === "string" ? error.code : "UNAVAILABLE",
    error?.details,
    error?.retryable,
  );
}

function timeZone(): string | undefined {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
  } catch {
    return undefined;
  }
}
