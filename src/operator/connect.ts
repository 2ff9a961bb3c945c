/**
 * Connecting operator commands to a gateway with the client identity each command uses upstream
 * (see the transcripts): `cli/cli` for `gateway call` and `logs`, `cli/probe` (protocol 3..4)
 * for `gateway status` and `gateway probe`, `gateway-client/backend` for `health`, `status` and
 * `gateway status --require-rpc`.
 */
import { GatewayClient, type ClientIdentity, type HelloOk } from "../protocol/client.ts";
import { METHOD_SCOPES, requiredScopes } from "../protocol/method-scopes.ts";
import { READ } from "../protocol/scopes.ts";
import type { GatewayTarget } from "./target.ts";

export const ALL_OPERATOR_SCOPES = [
  "operator.admin",
  "operator.read",
  "operator.write",
  "operator.approvals",
  "operator.questions",
  "operator.pairing",
  "operator.talk.secrets",
];

/**
 * The scopes `gateway call <method>` connects with: the least the scopes catalogue says the call
 * needs (params-aware), every operator scope for a method the catalogue does not know.
 */
export function scopesForMethod(method: string, params?: unknown): string[] {
  return METHOD_SCOPES.has(method) ? requiredScopes(method, params) : [...ALL_OPERATOR_SCOPES];
}

export const IDENTITY = {
  cli: { id: "cli", mode: "cli" } satisfies ClientIdentity,
  probe: { id: "cli", mode: "probe" } satisfies ClientIdentity,
  backend: (displayName: string): ClientIdentity => ({ id: "gateway-client", mode: "backend", displayName }),
};

export interface ConnectAs {
  identity: ClientIdentity;
  scopes?: string[];
  timeoutMs: number;
  /** Probes offer protocol 3..4 like upstream's probe client. */
  minProtocol?: number;
}

export function connectTo(target: GatewayTarget, as: ConnectAs): Promise<GatewayClient> {
  const opts = {
    url: target.url,
    token: target.token,
    password: target.password,
    client: { ...as.identity, deviceFamily: deviceFamily() },
    scopes: as.scopes ?? [READ],
    minProtocol: as.minProtocol ?? 4,
    connectTimeoutMs: as.timeoutMs,
    requestTimeoutMs: as.timeoutMs,
  };
  if (!presentsDevice(target, as.identity)) return GatewayClient.connect(opts);
  // Loaded only here: the plain local case never opens the state database.
  return import("./device-auth.ts").then((m) => m.connectAsDevice(target.paths.stateDir, target.url, opts));
}

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "").toLowerCase();
    return host === "localhost" || host === "::1" || /^127\./.test(host);
  } catch {
    return false;
  }
}

/**
 * Whether this connect presents the CLI's own device identity, by the official CLI's rule: not
 * for the `cli` client with the shared secret on a loopback URL (the gateway keeps its scopes),
 * nor for the local backend helper on loopback (the gateway lets it in without a device); for
 * everything else of the `cli` and backend clients, yes: from another host a device-less client
 * gets no scopes, and a gateway without a shared secret asks for a device. Probes never do.
 */
export function presentsDevice(target: Pick<GatewayTarget, "url" | "token" | "password">, identity: ClientIdentity): boolean {
  const loopback = isLoopbackUrl(target.url);
  const secret = Boolean(target.token || target.password);
  if (identity.id === "cli" && identity.mode === "cli") return !(secret && loopback);
  if (identity.id === "gateway-client" && identity.mode === "backend") return !loopback;
  return false;
}

function deviceFamily(): string {
  return process.platform === "darwin" ? "Mac" : process.platform === "win32" ? "Windows" : "Linux";
}

/** Connect, run `fn`, always close. */
export async function withGateway<T>(target: GatewayTarget, as: ConnectAs, fn: (client: GatewayClient, hello: HelloOk) => Promise<T>): Promise<T> {
  const client = await connectTo(target, as);
  try {
    return await fn(client, client.hello);
  } finally {
    void client.close();
  }
}
