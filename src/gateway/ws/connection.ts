/**
 * Per-socket state and the bounded send queue.
 *
 * Bun's `ws.send` returns -1 once the kernel buffer is full (the frame is kept by Bun). From
 * then on frames wait in our queue until `drain`. If Bun's buffer plus our queue would pass
 * `maxBufferedBytes`, a droppable event is dropped (its `seq` is still consumed) and anything
 * else closes the socket 1008 "slow consumer": the queue is discarded so the close frame goes
 * out right behind what the kernel already holds. Queued bytes also count against the
 * gateway-wide budget (budget.ts), which closes the worst consumer first when it is exceeded.
 */
import type { ServerWebSocket } from "bun";
import type { ConnectParams, EncodedEvent } from "../../protocol/frames.ts";
import { encodeResponse } from "../../protocol/frames.ts";
import type { ErrorShape } from "../../protocol/errors.ts";
import { CloseCodes, Messages, truncateReason } from "../../protocol/errors.ts";
import type { OriginVerdict } from "../../auth/origin.ts";
import type { BudgetedSocket, SendBudget } from "./budget.ts";

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

interface Queued {
  text?: string;
  frame?: EncodedEvent;
  seq?: number;
  /** UTF-8 bytes on the wire (counted against the socket's and the gateway's budgets). */
  size: number;
}
const EMPTY: Queued = { size: 0 };

function digits(n: number): number {
  return n < 10 ? 1 : String(n).length;
}

export interface SendLimits {
  maxBufferedBytes: number;
  /** What Bun may hold for the socket before we stop handing it frames (its backpressureLimit). */
  socketBackpressureBytes?: number;
}

export class Connection implements BudgetedSocket {
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
  /** Counted in the per-IP cap of authenticated sockets. */
  countedAuthenticated = false;
  handshakeTimer?: ReturnType<typeof setTimeout>;
  private seq = 0;
  /** Waiting frames from `queueHead` on (a text, or a shared event frame and this socket's seq). */
  private queue: Queued[] = [];
  private queueHead = 0;
  private queued = 0;
  private blocked = false;
  private closing = false;
  private readonly closedController = new AbortController();
  onSlowConsumer?: () => void;

  constructor(
    readonly ws: ServerWebSocket<SocketData>,
    private readonly limits: SendLimits,
    private readonly budget?: SendBudget<Connection>,
  ) {}

  /** Bytes waiting in our queue. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** Bytes Bun holds for the socket (0 once closed). */
  bunBufferedBytes(): number {
    try {
      return this.ws.getBufferedAmount();
    } catch {
      return 0;
    }
  }

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
    return this.queue.length - this.queueHead;
  }

  /** Send one text frame through the bounded queue. Returns false when it was not sent or queued. */
  sendText(text: string, droppable = false): boolean {
    if (this.closing) return false;
    if (this.blocked || this.queueHead < this.queue.length) return this.enqueue({ text, size: Buffer.byteLength(text) }, droppable);
    return this.sendNow(text, droppable);
  }

  private sendNow(text: string, droppable: boolean): boolean {
    const result = this.ws.send(text);
    if (result === -1) this.blocked = true;
    else if (result === 0) {
      // Dropped by Bun: the socket is closed or over its own backpressure limit.
      if (this.ws.readyState === 1 && !droppable) this.slowConsumer();
      return false;
    }
    return true;
  }

  private enqueue(entry: Queued, droppable: boolean): boolean {
    const size = entry.size;
    if (this.queued + size + this.ws.getBufferedAmount() > this.limits.maxBufferedBytes) {
      if (droppable) return false;
      this.slowConsumer();
      return false;
    }
    if (this.budget) {
      if (droppable && this.budget.pressured) return false;
      if (!this.budget.reserve(this, size)) return false;
      this.budget.add(size);
    }
    this.queue.push(entry);
    this.queued += size;
    return true;
  }

  /** Called from the server's `drain` handler. */
  drain(): void {
    this.blocked = false;
    const bunLimit = this.limits.socketBackpressureBytes;
    while (this.queueHead < this.queue.length && !this.closing) {
      // Bun refuses a frame while it holds more than its limit: wait for the next drain.
      if (bunLimit !== undefined && this.ws.getBufferedAmount() > bunLimit) {
        this.blocked = true;
        break;
      }
      const entry = this.queue[this.queueHead];
      this.queue[this.queueHead++] = EMPTY;
      this.queued -= entry.size;
      this.budget?.add(-entry.size);
      const result = this.ws.send(entry.text ?? entry.frame!.head + entry.seq + entry.frame!.tail);
      if (result === -1) {
        this.blocked = true;
        break;
      }
      if (result === 0) {
        this.slowConsumer();
        return;
      }
    }
    // Sent entries are dropped in chunks rather than shifted one by one.
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead >= 1024 && this.queueHead * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
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
    const seq = ++this.seq;
    if (this.closing) return false;
    if (this.blocked || this.queueHead < this.queue.length) {
      // Queued as the shared frame plus this socket's seq: sockets that are behind on the same
      // broadcast share its text instead of holding a copy each.
      frame.bytes ??= Buffer.byteLength(frame.head) + Buffer.byteLength(frame.tail);
      return this.enqueue({ frame, seq, size: frame.bytes + digits(seq) }, droppable);
    }
    return this.sendNow(frame.head + seq + frame.tail, droppable);
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
    this.queueHead = 0;
    this.budget?.add(-this.queued);
    this.queued = 0;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    try {
      this.ws.close(code, truncateReason(reason));
    } catch {
      // already closed
    }
  }

  /** Close 1008 "slow consumer" (the gateway's send budget chose this socket). */
  closeSlowConsumer(): void {
    this.close(CloseCodes.POLICY, Messages.slowConsumer);
  }

  private slowConsumer(): void {
    this.onSlowConsumer?.();
    this.close(CloseCodes.POLICY, Messages.slowConsumer);
  }
}
