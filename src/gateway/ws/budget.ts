/**
 * The gateway-wide send budget: one client must not be able to make the gateway hold the
 * memory of all the others.
 *
 * Each socket's own queue is bounded (`maxBufferedBytes`, 50 MiB, advertised in hello-ok), but
 * ten sockets that never read could hold ten times that. So the bytes waiting in every socket's
 * queue are also counted together; when a new frame would take the total past
 * `maxTotalBufferedBytes`, the socket with the most waiting is closed 1008 "slow consumer"
 * (its queue discarded, which returns its bytes) until the frame fits. If that socket is the
 * sender's own, the sender is the one closed. Past half the budget, droppable events (presence,
 * `config.changed`, …) are no longer queued for sockets that are already behind.
 *
 * Bun's own per-socket buffer is kept small (`socketBackpressureBytes`) so what a slow socket
 * holds is almost all in the accounted queue.
 */
/** What the budget needs of a socket (ws/connection.ts implements it). */
export interface BudgetedSocket {
  readonly isClosing: boolean;
  /** Bytes waiting in the socket's own queue (what the budget counts). */
  readonly queuedBytes: number;
  /** Bytes Bun holds for it (a tie-breaker when picking the worst consumer). */
  bunBufferedBytes(): number;
  closeSlowConsumer(): void;
}

export class SendBudget<S extends BudgetedSocket = BudgetedSocket> {
  /** Bytes queued across every socket. */
  total = 0;
  /** Sockets closed to keep the gateway under budget. */
  shed = 0;

  constructor(
    readonly limit: number,
    private readonly connections: () => Iterable<S>,
    private readonly onShed: (conn: S, queuedBytes: number) => void = () => {},
  ) {}

  add(delta: number): void {
    this.total += delta;
  }

  /** Over half the budget: droppable frames for sockets that are behind are dropped. */
  get pressured(): boolean {
    return this.total * 2 > this.limit;
  }

  /**
   * Make room for `size` more bytes queued by `sender`: close the sockets with the most waiting
   * until it fits. False when the sender itself had to go.
   */
  reserve(sender: S, size: number): boolean {
    while (this.total + size > this.limit) {
      let worst: S | undefined;
      let worstBytes = -1;
      for (const c of this.connections()) {
        if (c.isClosing || c.queuedBytes === 0) continue;
        const bytes = c.queuedBytes + c.bunBufferedBytes();
        if (bytes > worstBytes) {
          worst = c;
          worstBytes = bytes;
        }
      }
      // Nobody else holds queued bytes, or the sender holds the most: the sender goes.
      const senderBytes = sender.queuedBytes + sender.bunBufferedBytes() + size;
      if (!worst || worst === sender || senderBytes >= worstBytes) {
        this.closeSlow(sender);
        return false;
      }
      this.closeSlow(worst);
    }
    return true;
  }

  private closeSlow(conn: S): void {
    this.shed++;
    this.onShed(conn, conn.queuedBytes);
    conn.closeSlowConsumer();
  }
}
