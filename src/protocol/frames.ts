/**
 * Wire frames of protocol v4 and the closed `connect` params schema.
 * Frames are UTF-8 JSON text; objects are closed (unknown keys are invalid).
 */
import { z, type ZodError } from "../zod.ts";
import type { ErrorShape } from "./errors.ts";

export const PROTOCOL_VERSION = 4;
export const MIN_CLIENT_PROTOCOL = 4;
export const MIN_NODE_PROTOCOL = 3;
export const MIN_PROBE_PROTOCOL = 3;

/**
 * Contracts this gateway honours, advertised in `hello-ok.features.capabilities` (clients check
 * them before sending the fields they add). `published-model-catalog`: `models.list` takes
 * `provider` and `includeDetails` and refuses `preparedOnly` with `refresh`; the official CLI's
 * `models list` requires it.
 */
export const SERVER_CAPABILITIES: readonly string[] = ["published-model-catalog"];

export const RequestFrame = z.strictObject({
  type: z.literal("req"),
  id: z.string().check(z.minLength(1)),
  method: z.string().check(z.minLength(1)),
  params: z.optional(z.unknown()),
  traceparent: z.optional(z.string().check(z.maxLength(128))),
});
export type RequestFrame = z.infer<typeof RequestFrame>;

export interface ResponseFrame {
  type: "res";
  id: string;
  ok: boolean;
  payload?: unknown;
  error?: ErrorShape;
}

export interface EventFrame {
  type: "event";
  event: string;
  payload?: unknown;
  seq?: number;
  stateVersion?: { presence: number; health: number };
}

export const CLIENT_IDS = [
  "webchat-ui",
  "openclaw-control-ui",
  "openclaw-browser-copilot",
  "openclaw-tui",
  "webchat",
  "cli",
  "gateway-client",
  "openclaw-macos",
  "openclaw-linux",
  "openclaw-ios",
  "openclaw-watchos",
  "openclaw-android",
  "node-host",
  "openclaw-worker",
  "test",
  "fingerprint",
  "openclaw-probe",
] as const;
export const CLIENT_MODES = ["webchat", "cli", "ui", "backend", "node", "worker", "probe", "test"] as const;
export type ClientId = (typeof CLIENT_IDS)[number];
export type ClientMode = (typeof CLIENT_MODES)[number];

const ProtocolInt = z.number().check(z.int(), z.minimum(1));

export const ConnectParams = z.strictObject({
  minProtocol: ProtocolInt,
  maxProtocol: ProtocolInt,
  client: z.strictObject({
    id: z.enum(CLIENT_IDS),
    displayName: z.optional(z.string()),
    version: z.string(),
    buildId: z.optional(z.string()),
    platform: z.string(),
    deviceFamily: z.optional(z.string()),
    modelIdentifier: z.optional(z.string()),
    timeZone: z.optional(z.string()),
    mode: z.enum(CLIENT_MODES),
    instanceId: z.optional(z.string()),
  }),
  role: z.optional(z.string()),
  scopes: z.optional(z.array(z.string())),
  caps: z.optional(z.array(z.string())),
  commands: z.optional(z.array(z.string())),
  permissions: z.optional(z.record(z.string(), z.unknown())),
  pathEnv: z.optional(z.string()),
  locale: z.optional(z.string()),
  userAgent: z.optional(z.string()),
  auth: z.optional(
    z.strictObject({
      token: z.optional(z.string()),
      password: z.optional(z.string()),
      deviceToken: z.optional(z.string()),
      bootstrapToken: z.optional(z.string()),
      approvalRuntimeToken: z.optional(z.string()),
      agentRuntimeIdentityToken: z.optional(z.string()),
    }),
  ),
  device: z.optional(
    z.strictObject({
      id: z.string().check(z.minLength(1)),
      publicKey: z.string().check(z.minLength(1)),
      signature: z.string().check(z.minLength(1)),
      signedAt: z.number().check(z.int(), z.nonnegative()),
      nonce: z.string(),
    }),
  ),
  modelCatalog: z.optional(z.unknown()),
  computerUse: z.optional(z.unknown()),
  workerRuns: z.optional(z.unknown()),
});
export type ConnectParams = z.infer<typeof ConnectParams>;

function pointer(path: readonly PropertyKey[]): string {
  return path.map((p) => `/${String(p)}`).join("");
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** AJV-style validation text, as the upstream gateway reports it (`must be object`, ...). */
export function describeIssues(error: ZodError, input: unknown): string {
  const parts: string[] = [];
  for (const issue of error.issues) {
    let path = issue.path;
    let text: string;
    if (path.length > 0 && issue.code !== "unrecognized_keys" && valueAt(input, path) === undefined) {
      text = `must have required property '${String(path[path.length - 1])}'`;
      path = path.slice(0, -1);
    } else {
      switch (issue.code) {
        case "invalid_type":
          text = `must be ${issue.expected === "int" ? "integer" : issue.expected}`;
          break;
        case "invalid_value":
          text = "must be equal to one of the allowed values";
          break;
        case "unrecognized_keys":
          text = `must NOT have additional properties (${issue.keys.join(", ")})`;
          break;
        case "too_small":
          text = issue.origin === "string" ? "must NOT have fewer than 1 characters" : `must be >= ${issue.minimum}`;
          break;
        case "too_big":
          text = `must be <= ${issue.maximum}`;
          break;
        default:
          text = issue.message;
      }
    }
    parts.push(path.length ? `at ${pointer(path)}: ${text}` : text);
  }
  return parts.join("; ");
}

export function encodeResponse(id: string, ok: boolean, payload?: unknown, error?: ErrorShape): string {
  const frame: ResponseFrame = { type: "res", id, ok };
  if (payload !== undefined) frame.payload = payload;
  if (error !== undefined) frame.error = error;
  return JSON.stringify(frame);
}

/**
 * An event frame split around its per-socket `seq`, so a broadcast encodes the payload once:
 * `head + seq + tail` is exactly `JSON.stringify({ type: "event", event, payload, seq, stateVersion })`
 * (no `payload` key when it is undefined, no `stateVersion` key when it is absent).
 */
export interface EncodedEvent {
  head: string;
  tail: string;
  /** UTF-8 bytes of head and tail, computed once by the first socket that queues the frame. */
  bytes?: number;
}

export function encodeEvent(event: string, payload: unknown, stateVersion?: EventFrame["stateVersion"]): EncodedEvent {
  const body = JSON.stringify(payload);
  return {
    head: `{"type":"event","event":${JSON.stringify(event)}${body === undefined ? "" : `,"payload":${body}`},"seq":`,
    tail: stateVersion ? `,"stateVersion":${JSON.stringify(stateVersion)}}` : "}",
  };
}
