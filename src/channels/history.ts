/**
 * Group context: admitted group messages that did not start a turn (no mention) are kept per
 * chat and handed to the next mentioned turn there, then cleared. Bounded three ways: entries
 * per chat (`historyLimit`), characters per entry, and chats per account (least recently used
 * chats are forgotten first).
 */
import type { HistoryEntry } from "./types.ts";
import { LruMap } from "./util.ts";

export const MAX_ENTRY_CHARS = 2000;
export const MAX_CHATS = 200;

export class GroupHistory {
  private chats: LruMap<string, HistoryEntry[]>;
  constructor(maxChats = MAX_CHATS) {
    this.chats = new LruMap(maxChats);
  }

  add(chatKey: string, entry: HistoryEntry, limit: number): void {
    if (limit <= 0) return;
    const text = entry.text.length > MAX_ENTRY_CHARS ? `${entry.text.slice(0, MAX_ENTRY_CHARS)}…` : entry.text;
    const list = this.chats.get(chatKey) ?? [];
    list.push({ ...entry, text });
    if (list.length > limit) list.splice(0, list.length - limit);
    this.chats.set(chatKey, list);
  }

  /** The pending context of a chat, oldest first; the chat's window is cleared. */
  take(chatKey: string): HistoryEntry[] {
    const list = this.chats.get(chatKey) ?? [];
    this.chats.delete(chatKey);
    return list;
  }

  /** Put taken context back in front of anything added since (a turn that was deferred). */
  restore(chatKey: string, entries: readonly HistoryEntry[], limit: number): void {
    if (entries.length === 0 || limit <= 0) return;
    const list = [...entries, ...(this.chats.get(chatKey) ?? [])];
    if (list.length > limit) list.splice(0, list.length - limit);
    this.chats.set(chatKey, list);
  }

  peek(chatKey: string): readonly HistoryEntry[] {
    return this.chats.get(chatKey) ?? [];
  }

  get size(): number {
    return this.chats.size;
  }
}
