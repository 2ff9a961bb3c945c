/**
 * A real device client for tests: an Ed25519 identity made with WebCrypto, the v2/v3 connect
 * signature payloads written out independently of src/ (so a test checks our verifier against a
 * second implementation, not against itself), and a one-shot WebSocket connect that waits for
 * `connect.challenge`, signs it, sends `connect` and records the response and the close.
 * It talks to any gateway: ours in-process, or the reference CLI's gateway for captures.
 */

export interface DeviceKeys {
  deviceId: string;
  /** Unpadded base64url of the raw 32-byte public key. */
  publicKey: string;
  publicKeyRaw: Uint8Array;
  privateKey: CryptoKey;
}

export function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function generateDeviceKeys(): Promise<DeviceKeys> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as unknown as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  return {
    deviceId: Buffer.from(digest).toString("hex"),
    publicKey: b64url(raw),
    publicKeyRaw: raw,
    privateKey: pair.privateKey,
  };
}

export interface PayloadFields {
  deviceId: string;
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  signedAt: number;
  token: string;
  nonce: string;
  platform?: string;
  deviceFamily?: string;
}

/** Trim, then lowercase ASCII letters only (what the reference does to the two v3 metadata fields). */
function asciiLower(value: string | undefined): string {
  let out = "";
  for (const ch of (value ?? "").trim()) {
    const c = ch.charCodeAt(0);
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : ch;
  }
  return out;
}

export function payloadString(version: "v2" | "v3", f: PayloadFields): string {
  const parts = [version, f.deviceId, f.clientId, f.clientMode, f.role, f.scopes.join(","), `${f.signedAt}`, f.token, f.nonce];
  if (version === "v3") parts.push(asciiLower(f.platform), asciiLower(f.deviceFamily));
  return parts.join("|");
}

export async function sign(keys: DeviceKeys, payload: string): Promise<string> {
  const sig = await crypto.subtle.sign({ name: "Ed25519" }, keys.privateKey, new TextEncoder().encode(payload));
  return b64url(new Uint8Array(sig));
}

export interface ClientInfo {
  id: string;
  mode: string;
  version?: string;
  platform?: string;
  deviceFamily?: string;
  displayName?: string;
}

export interface ConnectOptions {
  url: string;
  keys?: DeviceKeys;
  client?: ClientInfo;
  role?: string;
  /** Omitted from the frame when undefined. */
  scopes?: string[];
  auth?: { token?: string; password?: string; deviceToken?: string; bootstrapToken?: string };
  /** Which payload to sign; "none" sends no `device` at all. Default v3. */
  sign?: "v3" | "v2" | "none";
  /** Hooks to forge a bad proof: they change what is sent after (or instead of) signing. */
  tamper?: {
    nonce?: string;
    signedAt?: number;
    signature?: string;
    publicKey?: string;
    deviceId?: string;
    /** Sign these fields instead of the ones sent (a payload/field mismatch). */
    signedFields?: Partial<PayloadFields>;
  };
  /** Extra upgrade headers (e.g. forwarding headers). */
  headers?: Record<string, string>;
  /** Keep the socket open after a successful hello (the caller closes it). */
  keepOpen?: boolean;
  timeoutMs?: number;
}

export interface Frame {
  type: string;
  id?: string;
  ok?: boolean;
  payload?: any;
  error?: { code: string; message: string; details?: any; retryable?: boolean; retryAfterMs?: number };
  event?: string;
}

export interface ConnectOutcome {
  challenge: { nonce: string; ts: number };
  request: Record<string, unknown>;
  response: Frame;
  close?: { code: number; reason: string };
  ws?: WebSocket;
  /** Every frame received, in order. */
  frames: Frame[];
  /** Resolves when the socket closes (immediately when already closed). */
  closed: Promise<{ code: number; reason: string }>;
}

export const DEFAULT_CLIENT: ClientInfo = { id: "cli", mode: "cli", version: "2026.9.6", platform: "linux", deviceFamily: "Linux" };

/**
 * Open a socket, wait for the challenge, send a (signed) connect, and wait for its response.
 * On a refusal it also waits for the close, so `close` is set.
 */
export async function connectDevice(opts: ConnectOptions): Promise<ConnectOutcome> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const ws = new WebSocket(opts.url, opts.headers ? ({ headers: opts.headers } as unknown as string[]) : undefined);
  const frames: Frame[] = [];
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  let closeInfo: { code: number; reason: string } | undefined;
  const waiters: Array<(f: Frame) => boolean> = [];
  ws.addEventListener("message", (ev) => {
    const frame = JSON.parse(String(ev.data)) as Frame;
    frames.push(frame);
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i](frame)) waiters.splice(i, 1);
  });
  ws.addEventListener("close", (ev) => {
    closeInfo = { code: ev.code, reason: ev.reason };
    resolveClosed(closeInfo);
  });
  const next = (pred: (f: Frame) => boolean, what: string) =>
    new Promise<Frame>((resolve, reject) => {
      const found = frames.find(pred);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      waiters.push((f) => {
        if (!pred(f)) return false;
        clearTimeout(timer);
        resolve(f);
        return true;
      });
      closed.then((c) => {
        clearTimeout(timer);
        if (!frames.find(pred)) reject(new Error(`socket closed (${c.code} ${c.reason}) before ${what}`));
      });
    });

  const challengeFrame = await next((f) => f.type === "event" && f.event === "connect.challenge", "connect.challenge");
  const challenge = challengeFrame.payload as { nonce: string; ts: number };
  const params = await buildConnectParams(opts, challenge);
  const id = `1:${crypto.randomUUID()}`;
  const request = { type: "req", id, method: "connect", params };
  ws.send(JSON.stringify(request));
  const response = await next((f) => f.type === "res" && f.id === id, "connect response");
  if (!response.ok) {
    await Promise.race([closed, Bun.sleep(timeoutMs)]);
  } else if (!opts.keepOpen) {
    ws.close(1000, "done");
  }
  return { challenge, request, response, close: closeInfo, ws: response.ok && opts.keepOpen ? ws : undefined, frames, closed };
}

/** The `connect` params for a challenge: client, role, scopes, auth and the (signed or forged) device proof. */
export async function buildConnectParams(
  opts: Omit<ConnectOptions, "url" | "headers" | "keepOpen" | "timeoutMs">,
  challenge: { nonce: string; ts: number },
): Promise<Record<string, any>> {
  const client = { version: "2026.9.6", platform: "linux", ...(opts.client ?? DEFAULT_CLIENT) };
  const role = opts.role ?? "operator";
  const params: Record<string, unknown> = {
    minProtocol: 4,
    maxProtocol: 4,
    client,
    role,
    caps: [],
  };
  if (opts.scopes) params.scopes = opts.scopes;
  if (opts.auth) params.auth = opts.auth;
  const mode = opts.sign ?? "v3";
  if (mode !== "none") {
    if (!opts.keys) throw new Error("connectDevice: keys are required to sign");
    const t = opts.tamper ?? {};
    const signedAt = t.signedAt ?? challenge.ts;
    const nonce = t.nonce ?? challenge.nonce;
    const fields: PayloadFields = {
      deviceId: t.deviceId ?? opts.keys.deviceId,
      clientId: client.id,
      clientMode: client.mode,
      role,
      scopes: opts.scopes ?? [],
      signedAt,
      token: opts.auth?.token ?? opts.auth?.deviceToken ?? opts.auth?.bootstrapToken ?? "",
      nonce,
      platform: client.platform,
      deviceFamily: client.deviceFamily,
      ...t.signedFields,
    };
    const signature = t.signature ?? (await sign(opts.keys, payloadString(mode, fields)));
    params.device = {
      id: t.deviceId ?? opts.keys.deviceId,
      publicKey: t.publicKey ?? opts.keys.publicKey,
      signature,
      signedAt,
      nonce,
    };
  }
  return params;
}

/** Send one request on an open socket and wait for its response. */
export function call(ws: WebSocket, method: string, params?: unknown, timeoutMs = 15_000): Promise<Frame> {
  const id = crypto.randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.removeEventListener("message", onMessage);
      reject(new Error(`timed out waiting for ${method}`));
    }, timeoutMs);
    const onMessage = (ev: MessageEvent) => {
      const f = JSON.parse(String(ev.data)) as Frame;
      if (f.type === "res" && f.id === id) {
        clearTimeout(timer);
        ws.removeEventListener("message", onMessage);
        resolve(f);
      }
    };
    ws.addEventListener("message", onMessage);
    ws.send(JSON.stringify({ type: "req", id, method, ...(params === undefined ? {} : { params }) }));
  });
}

/**
 * A `GatewayClient.connect({ device })` signer for these keys: signs the v3 payload (written out
 * here, independently of src/) over the challenge the gateway sent.
 */
export function deviceSigner(keys: DeviceKeys) {
  return async (
    challenge: { nonce: string; ts: number },
    f: { clientId: string; clientMode: string; role: string; scopes: readonly string[]; token: string; platform?: string; deviceFamily?: string },
  ) => {
    const signature = await sign(keys, payloadString("v3", { deviceId: keys.deviceId, signedAt: challenge.ts, nonce: challenge.nonce, ...f }));
    return { id: keys.deviceId, publicKey: keys.publicKey, signature, signedAt: challenge.ts, nonce: challenge.nonce };
  };
}
