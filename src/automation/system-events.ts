/**
 * System events waiting for a session's next heartbeat turn (`wake`, `/hooks/wake`, main-session
 * jobs). Ephemeral by design, as documented: they are not persisted across restarts. A text
 * equal to the session's most recent pending event coalesces into it; each session keeps at
 * most MAX_PER_SESSION events (oldest dropped).
 */

export interface QueuedSystemEvent {
  text: string;
  ts: number;
}

export type EnqueueOutcome = "queued" | "coalesced";

export const MAX_PER_SESSION = 20;
const MAX_SESSIONS = 1000;

export class SystemEventQueue {
  private readonly bySession = new Map<string, QueuedSystemEvent[]>();

  enqueue(sessionKey: string, text: string, ts: number): EnqueueOutcome {
    let list = this.bySession.get(sessionKey);
    if (list && list.length && list[list.length - 1].text === text) return "coalesced";
    if (!list) {
      if (this.bySession.size >= MAX_SESSIONS) this.bySession.delete(this.bySession.keys().next().value as string);
      list = [];
      this.bySession.set(sessionKey, list);
    }
    list.push({ text, ts });
    if (list.length > MAX_PER_SESSION) list.shift();
    return "queued";
  }

  peek(sessionKey: string): readonly QueuedSystemEvent[] {
    return this.bySession.get(sessionKey) ?? [];
  }

  /** Take the session's pending events (they are consumed by the turn that reads them). */
  drain(sessionKey: string): QueuedSystemEvent[] {
    const list = this.bySession.get(sessionKey) ?? [];
    this.bySession.delete(sessionKey);
    return list;
  }

  /** Put drained events back (the turn that took them did not run). */
  restore(sessionKey: string, events: QueuedSystemEvent[]): void {
    if (!events.length) return;
    const list = this.bySession.get(sessionKey) ?? [];
    this.bySession.set(sessionKey, [...events, ...list].slice(-MAX_PER_SESSION));
  }

  size(sessionKey?: string): number {
    if (sessionKey !== undefined) return this.bySession.get(sessionKey)?.length ?? 0;
    let n = 0;
    for (const list of this.bySession.values()) n += list.length;
    return n;
  }

  /** All pending events, for `status.queuedSystemEvents`. */
  all(): Array<QueuedSystemEvent & { sessionKey: string }> {
    const out: Array<QueuedSystemEvent & { sessionKey: string }> = [];
    for (const [sessionKey, list] of this.bySession) for (const e of list) out.push({ sessionKey, ...e });
    return out;
  }
}

/** `System: [2026-12-06 00:00:52 UTC] text` lines, as the heartbeat prompt shows them. */
export function formatSystemEvents(events: readonly QueuedSystemEvent[]): string {
  return events
    .map((e) => {
      const d = new Date(e.ts).toISOString();
      return `System: [${d.slice(0, 10)} ${d.slice(11, 19)} UTC] ${e.text}`;
    })
    .join("\n");
}
