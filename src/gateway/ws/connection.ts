/**
 * Per-socket state and the bounded send queue.
 *
 * Bun's `ws.send` returns -1 once the kernel buffer is full (the frame is kept by Bun). From
 * then on frames wait in our queue until `drain`. If Bun's buffer plus our queue would pass
 * `maxBufferedBytes`, a droppable event is dropped (its `seq` is still consumed) and anything
 * else closes the socket 1008 "slow consumer": the queue is discarded so the close frame goes
 * out right behind what the kernel already holds.
 */
import type { ServerWebSocket } from "bun";
import type { ConnectParams, EncodedEvent } from "../../protocol/frames.ts";
import { encodeResponse } from "../../protocol/frames.ts";
import type { ErrorShape } from "../../protocol/errors.ts";
import { CloseCodes, Messages, truncateReason } from "../../protocol/errors.ts";
import type { OriginVerdict } from "../../auth/origin.ts";

/** What the upgrade handler learned about the request; `ws.data`. */
export interface SocketData {
  /** The client's address (attributed through trusted proxies; the socket peer otherwise). */
  ip: string;
  /** The TCP peer. */
  socketIp: string;
  /** The client address is a loopback address. */
  loopback: boolean;
  directLocal: boolean;
  /** The upgrade carried forwarding (proxy) headers. */
  forwarded: boolean;
  origin?: string;
  originVerdict?: OriginVerdict;
  host: string | null;
  /** Upgrade request headers; kept until the handshake ends (trusted-proxy needs them). */
  headers?: Headers;
  conn?: Connection;
}

export type Phase = "handshake" | "connecting" | "ready" | "closed";

export interface SendLimits {
  maxBufferedBytes: number;
}

export class Connection {
  readonly connId = crypto.randomUUID();
  readonly nonce = crypto.randomUUID();
  readonly openedAt = Date.now();
  phase: Phase = "handshake";
  role: "operator" | "node" = "operator";
  scopes: string[] = [];
  authMethod = "none";
  client?: ConnectParams["client"];
  /** The verified device this socket presented (set at hello). */
  device?: { id: string; publicKey: string };
  /** Authenticated by the device's own token: device management is self-scoped. */
  isDeviceTokenAuth = false;
  /** `hello-ok.auth` as decided at connect. */
  helloAuth?: Record<string, unknown>;
  caps: string[] = [];
  /** Frames that arrived while `connect` was being processed. */
  pending: string[] = [];
  unauthorizedStreak = 0;
  /** Counted in the per-IP cap of unauthenticated sockets. */
  countedUnauthenticated = false;
  handshakeTimer?: ReturnType<typeof setTimeout>;
  private seq = 0;
  private queue: string[] = [];
  private queuedBytes = 0;
  private blocked = false;
  private closing = false;
  private readonly closedController = new AbortController();
  onSlowConsumer?: () => void;

  constructor(
    readonly ws: ServerWebSocket<SocketData>,
    private readonly limits: SendLimits,
  ) {}

  get data(): SocketData {
    return this.ws.data;
  }

  /** The client's address (CallerInfo for methods). */
  get ip(): string {
    return this.ws.data.ip;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Aborted once the socket is closing or closed. */
  get closed(): AbortSignal {
    return this.closedController.signal;
  }

  /** The socket went away (from the server's close handler). */
  markClosed(): void {
    this.closing = true;
    this.closedController.abort();
  }

  get queuedFrames(): number {
    return this.queue.length;
  }

  /** Send one text frame through the bounded queue. Returns false when it was not sent or queued. */
  sendText(text: string, droppable = false): boolean {
    if (this.closing) return false;
    if (this.blocked || this.queue.length > 0) {
      const size = Buffer.byteLength(text);
      if (this.queuedBytes + size + this.ws.getBufferedAmount() > this.limits.maxBufferedBytes) {
        if (droppable) return false;
        this.slowConsumer();
        return false;
      }
      this.queue.push(text);
      this.queuedBytes += size;
      return true;
    }
    const result = this.ws.send(text);
    if (result === -1) this.blocked = true;
    else if (result === 0) {
      // Dropped by Bun: the socket is closed or over its own backpressure limit.
      if (this.ws.readyState === 1 && !droppable) this.slowConsumer();
      return false;
    }
    return true;
  }

  /** Called from the server's `drain` handler. */
  drain(): void {
    this.blocked = false;
    while (this.queue.length > 0 && !this.closing) {
      const text = this.queue.shift()!;
      this.queuedBytes -= Buffer.byteLength(text);
      const result = this.ws.send(text);
      if (result === -1) {
        this.blocked = true;
        return;
      }
      if (result === 0) {
        this.slowConsumer();
        return;
      }
    }
  }

  sendResponse(id: string, ok: boolean, payload?: unknown, error?: ErrorShape): boolean {
    return this.sendText(encodeResponse(id, ok, payload, error));
  }

  /**
   * Send an event (`encodeEvent`, once for all recipients of a broadcast) with the next
   * per-socket seq; the seq is consumed even when dropped.
   */
  sendEvent(frame: EncodedEvent, droppable = false): boolean {
    return this.sendText(frame.head + ++this.seq + frame.tail, droppable);
  }

  /** `connect.challenge` carries no seq. */
  sendUnsequenced(event: string, payload: unknown): boolean {
    return this.sendText(JSON.stringify({ type: "event", event, payload }));
  }

  close(code: number, reason = ""): void {
    if (this.closing) return;
    this.closing = true;
    this.closedController.abort();
    this.queue = [];
    this.queuedBytes = 0;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    try {
      this.ws.close(code, truncateReason(reason));
    } catch {
      // already closed
    }
  }

  private slowConsumer(): void {
    this.onSlowConsumer?.();
    this.close(CloseCodes.POLICY, Messages.slowConsumer);
  }
}
