/**
 * A byte stream for Server-Sent Events with backpressure: `write()` resolves once the client
 * side has room again (the queue is below 64 KiB), so a slow client slows the upstream read
 * instead of growing memory. Cancellation (the client went away) calls `onCancel` once;
 * `onBlocked` is called the first time a write has to wait for the client.
 */
const encoder = new TextEncoder();

export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache",
  Connection: "keep-alive",
};

export const QUEUE_HIGH_WATER = 64 * 1024;

export class SseStream {
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private waiter?: () => void;
  private done = false;
  private blocked = false;

  constructor(
    private readonly onCancel: () => void,
    private readonly onBlocked?: () => void,
  ) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => this.release(),
        cancel: () => {
          if (this.done) return;
          this.done = true;
          this.release();
          this.onCancel();
        },
      },
      { highWaterMark: QUEUE_HIGH_WATER, size: (chunk) => chunk?.byteLength ?? 0 },
    );
  }

  get closed(): boolean {
    return this.done;
  }

  private release(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Queue text; resolves when there is room for more (immediately while under the mark). */
  async write(text: string): Promise<void> {
    if (this.done || !text) return;
    this.controller.enqueue(encoder.encode(text));
    if ((this.controller.desiredSize ?? 1) > 0) return;
    if (!this.blocked) {
      this.blocked = true;
      this.onBlocked?.();
    }
    await new Promise<void>((resolve) => {
      this.waiter = resolve;
    });
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.release();
    try {
      this.controller.close();
    } catch {
      // already cancelled
    }
  }

  response(): Response {
    return new Response(this.stream, { status: 200, headers: SSE_HEADERS });
  }
}
