/**
 * The Discord Gateway (WebSocket, v10, JSON) for one bot account.
 *
 *   connect → 10 HELLO {heartbeat_interval} → 2 IDENTIFY {token, intents, properties}
 *           (or 6 RESUME {token, session_id, seq} on the session's `resume_gateway_url`)
 *           → 0 READY / RESUMED → dispatches (sequence numbers tracked for resume).
 *   heartbeat  1 HEARTBEAT {d: last seq} every interval (the first after a random fraction);
 *           no 11 ACK before the next beat means a zombie connection: close (not 1000/1001,
 *           so the session stays resumable) and resume.
 *   7 RECONNECT → close and resume; 9 INVALID_SESSION → resume when `d` is true, else wait
 *   1–5 s and identify anew; close 4007/4009 → identify anew; close 4004 (bad token) and
 *   4010–4014 (shard, version, intents) → fatal, no reconnect; anything else → resume after
 *   backoff (reset once a connection is READY or RESUMED).
 */
import type { Logger } from "../../log/logger.ts";
import { FatalChannelError, type RuntimeStatusPatch } from "../types.ts";
import { backoffMs, describeError, sleep, type BackoffPolicy } from "../util.ts";

export const Op = {
  DISPATCH: 0,
  HEARTBEAT: 1,
  IDENTIFY: 2,
  RESUME: 6,
  RECONNECT: 7,
  INVALID_SESSION: 9,
  HELLO: 10,
  HEARTBEAT_ACK: 11,
} as const;

export const Intents = {
  GUILDS: 1 << 0,
  GUILD_MESSAGES: 1 << 9,
  GUILD_MESSAGE_REACTIONS: 1 << 10,
  DIRECT_MESSAGES: 1 << 12,
  DIRECT_MESSAGE_REACTIONS: 1 << 13,
  MESSAGE_CONTENT: 1 << 15,
} as const;

export const DEFAULT_INTENTS = Intents.GUILDS | Intents.GUILD_MESSAGES | Intents.GUILD_MESSAGE_REACTIONS | Intents.DIRECT_MESSAGES | Intents.MESSAGE_CONTENT;

export const FATAL_CLOSE_CODES: ReadonlyMap<number, string> = new Map([
  [4004, "Authentication failed"],
  [4010, "Invalid shard"],
  [4011, "Sharding required"],
  [4012, "Invalid API version"],
  [4013, "Invalid intent(s)"],
  [4014, "Disallowed intent(s)"],
]);
/** Close codes after which the session cannot be resumed (identify again). */
export const NEW_SESSION_CLOSE_CODES: ReadonlySet<number> = new Set([4007, 4009]);
/** Our close code for a connection we abandon but want to resume. */
export const RESUMABLE_CLOSE = 4900;
const MAX_FRAME_CHARS = 8 * 1024 * 1024;

export interface GatewayOptions {
  token: string;
  intents: number;
  /** The gateway URL (from GET /gateway/bot). */
  url: () => Promise<string>;
  signal: AbortSignal;
  log: Logger;
  retry: BackoffPolicy;
  /** Range of the wait after a non-resumable INVALID_SESSION (Discord asks for 1–5 s). */
  invalidSessionDelayMs?: [number, number];
  status: (patch: RuntimeStatusPatch) => void;
  onDispatch: (t: string, d: any) => void;
  onReady: (d: any) => void;
  accountLabel: string;
}

interface Session {
  id: string;
  seq: number | null;
  resumeUrl: string;
}

interface Outcome {
  code: number;
  reason: string;
  /** The connection reached READY or RESUMED. */
  ready: boolean;
  /** The session must not be resumed. */
  dropSession: boolean;
  /** Wait before identifying again (non-resumable INVALID_SESSION). */
  invalidDelay: boolean;
  aborted: boolean;
}

export function withGatewayQuery(url: string): string {
  try {
    const u = new URL(url);
    u.searchParams.set("v", "10");
    u.searchParams.set("encoding", "json");
    return u.toString();
  } catch {
    return `${url.replace(/\/+$/u, "")}/?v=10&encoding=json`;
  }
}

export async function runGateway(opts: GatewayOptions): Promise<void> {
  let session: Session | undefined;
  let attempt = 0;
  while (!opts.signal.aborted) {
    const url = session ? session.resumeUrl : await opts.url();
    const outcome = await connectOnce(url, session, opts, (s) => (session = s));
    if (outcome.aborted || opts.signal.aborted) return;
    opts.status({ connected: false });
    const fatal = FATAL_CLOSE_CODES.get(outcome.code);
    if (fatal) {
      const hint = outcome.code === 4004 ? ` Update channels.discord.token or DISCORD_BOT_TOKEN.` : outcome.code === 4014 ? " Enable the privileged intents (Message Content) in the Discord Developer Portal." : "";
      throw new FatalChannelError(`Discord gateway closed ${outcome.code} (${fatal}) for account "${opts.accountLabel}".${hint}`, outcome.code);
    }
    if (outcome.dropSession || NEW_SESSION_CLOSE_CODES.has(outcome.code)) session = undefined;
    attempt = outcome.ready ? 1 : attempt + 1;
    opts.status({ reconnectAttempts: attempt });
    let delay = backoffMs(opts.retry, attempt);
    if (outcome.invalidDelay) {
      const [lo, hi] = opts.invalidSessionDelayMs ?? [1000, 5000];
      delay = Math.max(delay, lo + Math.random() * (hi - lo));
    }
    opts.log.info(`[${opts.accountLabel}] gateway closed ${outcome.code}${outcome.reason ? ` (${outcome.reason})` : ""}; ${session ? "resuming" : "reconnecting"} in ${Math.round(delay)} ms`);
    try {
      await sleep(delay, opts.signal);
    } catch {
      return;
    }
  }
}

function connectOnce(url: string, resume: Session | undefined, opts: GatewayOptions, setSession: (s: Session | undefined) => void): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    const outcome: Outcome = { code: 0, reason: "", ready: false, dropSession: false, invalidDelay: false, aborted: false };
    let ws: WebSocket;
    try {
      ws = new WebSocket(withGatewayQuery(url));
    } catch (err) {
      resolve({ ...outcome, code: 1006, reason: describeError(err) });
      return;
    }
    let session = resume;
    let beat: ReturnType<typeof setTimeout> | undefined;
    let acked = true;
    let settled = false;
    const finish = (code: number, reason: string) => {
      if (settled) return;
      settled = true;
      if (beat) clearTimeout(beat);
      opts.signal.removeEventListener("abort", onAbort);
      resolve({ ...outcome, code, reason });
    };
    const close = (code: number, reason: string) => {
      try {
        ws.close(code, reason);
      } catch {
        // already closing
      }
      finish(code, reason);
    };
    const onAbort = () => {
      outcome.aborted = true;
      close(1000, "shutting down");
    };
    opts.signal.addEventListener("abort", onAbort, { once: true });
    const send = (payload: unknown) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(payload));
    };
    const heartbeat = () => send({ op: Op.HEARTBEAT, d: session?.seq ?? lastSeq });
    let lastSeq: number | null = resume?.seq ?? null;
    const schedule = (intervalMs: number, first: boolean) => {
      beat = setTimeout(() => {
        if (!acked) {
          opts.log.warn(`[${opts.accountLabel}] no heartbeat ACK within ${intervalMs} ms; reconnecting`);
          close(RESUMABLE_CLOSE, "heartbeat ACK missing");
          return;
        }
        acked = false;
        heartbeat();
        schedule(intervalMs, false);
      }, first ? Math.floor(intervalMs * Math.random()) : intervalMs);
    };
    ws.onmessage = (ev) => {
      const text = typeof ev.data === "string" ? ev.data : "";
      if (!text || text.length > MAX_FRAME_CHARS) return;
      let p: any;
      try {
        p = JSON.parse(text);
      } catch {
        opts.log.warn(`[${opts.accountLabel}] ignoring an undecodable gateway frame`);
        return;
      }
      if (!p || typeof p !== "object") return;
      if (typeof p.s === "number") {
        lastSeq = p.s;
        if (session) session.seq = p.s;
      }
      switch (p.op) {
        case Op.HELLO: {
          const interval = Number(p.d?.heartbeat_interval);
          if (!Number.isFinite(interval) || interval < 10) {
            close(RESUMABLE_CLOSE, "invalid HELLO");
            return;
          }
          schedule(Math.min(interval, 120_000), true);
          if (session) send({ op: Op.RESUME, d: { token: opts.token, session_id: session.id, seq: session.seq } });
          else send({ op: Op.IDENTIFY, d: { token: opts.token, intents: opts.intents, properties: { os: process.platform, browser: "openclaw", device: "openclaw" } } });
          return;
        }
        case Op.HEARTBEAT_ACK:
          acked = true;
          opts.status({ lastTransportActivityAt: Date.now() });
          return;
        case Op.HEARTBEAT:
          heartbeat();
          return;
        case Op.RECONNECT:
          close(RESUMABLE_CLOSE, "reconnect requested");
          return;
        case Op.INVALID_SESSION:
          if (p.d !== true) {
            outcome.dropSession = true;
            outcome.invalidDelay = true;
            session = undefined;
            setSession(undefined);
          }
          close(RESUMABLE_CLOSE, "invalid session");
          return;
        case Op.DISPATCH: {
          const t = String(p.t ?? "");
          if (t === "READY") {
            const d = p.d ?? {};
            if (typeof d.session_id === "string") {
              session = { id: d.session_id, seq: lastSeq, resumeUrl: typeof d.resume_gateway_url === "string" && d.resume_gateway_url ? d.resume_gateway_url : url };
              setSession(session);
            }
            outcome.ready = true;
            opts.onReady(d);
            opts.status({ connected: true });
            return;
          }
          if (t === "RESUMED") {
            outcome.ready = true;
            opts.status({ connected: true });
            return;
          }
          try {
            opts.onDispatch(t, p.d);
          } catch (err) {
            opts.log.warn(`[${opts.accountLabel}] dispatch ${t} failed: ${describeError(err)}`);
          }
          return;
        }
        default:
          return;
      }
    };
    ws.onclose = (ev) => finish(ev.code, ev.reason);
    ws.onerror = () => {
      // a close event follows
    };
  });
}
