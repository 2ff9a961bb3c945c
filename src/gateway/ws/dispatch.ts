/**
 * Frames on a socket: the pre-hello gate (size, JSON, first-frame rules, queueing while
 * `connect` runs) and post-hello `req` dispatch with role and scope checks.
 */
import { CloseCodes, ErrorCodes, Messages, RpcError } from "../../protocol/errors.ts";
import { describeIssues, RequestFrame } from "../../protocol/frames.ts";
import { authorizeMethod } from "../../protocol/method-scopes.ts";
import type { MethodCall } from "../methods/types.ts";
import type { Connection } from "./connection.ts";
import { handleConnect } from "./handshake.ts";
import type { WsHost } from "./types.ts";

const MAX_UNAUTHORIZED_STREAK = 10;

function textOf(message: string | Buffer): string {
  return typeof message === "string" ? message : message.toString("utf8");
}

function byteLength(message: string | Buffer): number {
  return typeof message === "string" ? Buffer.byteLength(message) : message.byteLength;
}

/** Entry point for every inbound message. */
export function onMessage(ctx: WsHost, conn: Connection, message: string | Buffer): void {
  if (conn.isClosing) return;
  if (conn.phase === "ready") {
    void dispatch(ctx, conn, textOf(message));
    return;
  }
  if (byteLength(message) > ctx.limits.preauthMaxBytes) {
    conn.close(CloseCodes.TOO_BIG, Messages.preauthTooLarge);
    return;
  }
  if (conn.phase === "connecting") {
    conn.pending.push(textOf(message));
    if (conn.pending.length >= ctx.limits.maxPendingHandshakeFrames) {
      conn.close(CloseCodes.POLICY, Messages.tooManyPending);
    }
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(textOf(message));
  } catch {
    conn.close(CloseCodes.NORMAL);
    return;
  }
  const parsed = RequestFrame.safeParse(value);
  if (!parsed.success) {
    conn.close(CloseCodes.POLICY, Messages.invalidFrame);
    return;
  }
  const frame = parsed.data;
  if (frame.method !== "connect") {
    conn.sendResponse(frame.id, false, undefined, { code: ErrorCodes.INVALID_REQUEST, message: Messages.firstMustBeConnect });
    conn.close(CloseCodes.POLICY, Messages.firstMustBeConnect);
    return;
  }
  conn.phase = "connecting";
  void handleConnect(ctx, conn, frame)
    .then((ok) => {
      if (!ok) return;
      ctx.onAuthenticated(conn);
      for (const text of conn.pending.splice(0)) void dispatch(ctx, conn, text);
    })
    .catch((err) => {
      ctx.log.error(`connect failed unexpectedly: ${(err as Error).stack ?? err}`);
      conn.close(CloseCodes.POLICY, "internal error");
    });
}

async function dispatch(ctx: WsHost, conn: Connection, text: string): Promise<void> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    ctx.log.debug(`ignored non-JSON frame from ${conn.data.ip} (conn ${conn.connId})`);
    return;
  }
  const parsed = RequestFrame.safeParse(value);
  if (!parsed.success) {
    const v = value as { type?: unknown; id?: unknown } | null;
    if (v && typeof v === "object" && v.type === "req" && typeof v.id === "string" && v.id) {
      conn.sendResponse(v.id, false, undefined, { code: ErrorCodes.INVALID_REQUEST, message: Messages.invalidFrame });
    } else {
      ctx.log.debug(`ignored non-request frame from ${conn.data.ip} (conn ${conn.connId})`);
    }
    return;
  }
  const frame = parsed.data;
  // Steps a method asked to run once its response is out (events it causes, closing sockets).
  const after: Array<() => void> = [];
  try {
    const payload = await invoke(ctx, conn, frame, after);
    conn.sendResponse(frame.id, true, payload);
  } catch (err) {
    if (err instanceof RpcError) {
      conn.sendResponse(frame.id, false, undefined, err.toShape());
      // Answer first, then close: the client learns why.
      if (conn.unauthorizedStreak > MAX_UNAUTHORIZED_STREAK) conn.close(CloseCodes.POLICY, Messages.repeatedUnauthorized);
      return;
    }
    ctx.log.error(`method ${frame.method} failed: ${(err as Error).stack ?? err}`);
    conn.sendResponse(frame.id, false, undefined, { code: ErrorCodes.UNAVAILABLE, message: `${frame.method} failed: internal error` });
  } finally {
    runAfter(ctx, after);
  }
}

async function invoke(ctx: WsHost, conn: Connection, frame: RequestFrame, after: Array<() => void>): Promise<unknown> {
  if (frame.method === "connect") throw new RpcError(ErrorCodes.INVALID_REQUEST, "already connected");
  // Role and scope first, from the one catalogue (params-aware): a caller without the scope an
  // unknown method would need (admin) learns nothing about which methods exist.
  const verdict = authorizeMethod(frame.method, conn, frame.params);
  if (!verdict.ok) {
    if (verdict.roleDenied) conn.unauthorizedStreak++;
    throw verdict.error;
  }
  conn.unauthorizedStreak = 0;
  const def = ctx.methods.get(frame.method);
  if (!def) throw new RpcError(ErrorCodes.INVALID_REQUEST, Messages.unknownMethod(frame.method));
  let params: unknown = frame.params ?? {};
  if (def.parse) {
    params = def.parse(params);
  } else if (def.params) {
    const checked = def.params.safeParse(params);
    if (!checked.success) {
      throw new RpcError(ErrorCodes.INVALID_REQUEST, Messages.invalidParams(def.name, describeIssues(checked.error, params)));
    }
    params = checked.data;
  }
  const call: MethodCall = {
    ctx: ctx.methodContext,
    client: conn,
    frameId: frame.id,
    interim: (payload) => void conn.sendResponse(frame.id, true, payload),
    afterResponse: (fn) => void after.push(fn),
  };
  return def.handler(params, call);
}

function runAfter(ctx: WsHost, fns: Array<() => void>): void {
  for (const fn of fns) {
    try {
      fn();
    } catch (err) {
      ctx.log.error(`after-response step failed: ${(err as Error).stack ?? err}`);
    }
  }
}
