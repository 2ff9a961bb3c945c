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
  return GatewayClient.connect({
    url: target.url,
    token: target.token,
    password: target.password,
    client: { ...as.identity, deviceFamily: deviceFamily() },
    scopes: as.scopes ?? [READ],
    minProtocol: as.minProtocol ?? 4,
    connectTimeoutMs: as.timeoutMs,
    requestTimeoutMs: as.timeoutMs,
  });
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
