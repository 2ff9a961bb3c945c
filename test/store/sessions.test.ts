import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { rmSync, statSync } from "node:fs";
import { dbPath, migrateSet, MIGRATIONS, openDatabase, StoreVersionError } from "../../src/store/db.ts";
import { RESPONSE_TTL_MS, SessionStore, trimToUserStart } from "../../src/store/sessions.ts";
import { tempDir } from "../helpers/state-dir.ts";

const dirs: string[] = [];
function freshDir(): string {
  const d = tempDir("openclaw-store-");
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("state database", () => {
  test("is created 0600 in WAL mode at the latest schema version", () => {
    const dir = freshDir();
    const db = openDatabase(dir);
    expect((db.query("PRAGMA journal_mode").get() as any).journal_mode).toBe("wal");
    expect((db.query("PRAGMA user_version").get() as any).user_version).toBe(MIGRATIONS.length);
    db.close();
    expect(statSync(dbPath(dir)).mode & 0o777).toBe(0o600);
  });

  test("reopening runs no migration twice and keeps data", () => {
    const dir = freshDir();
    const a = new SessionStore(openDatabase(dir));
    a.append({ key: "k", agentId: "main", messages: [{ role: "user", content: "hi" }] });
    a.db.close();
    const b = new SessionStore(openDatabase(dir));
    expect(b.history("k")).toEqual([{ role: "user", content: "hi" }]);
    b.db.close();
  });

  test("a database from a newer schema is refused with a clear error", () => {
    const dir = freshDir();
    openDatabase(dir).close();
    const raw = new Database(dbPath(dir));
    raw.run(`PRAGMA user_version = ${MIGRATIONS.length + 5}`);
    raw.close();
    expect(() => openDatabase(dir)).toThrow(StoreVersionError);
    expect(() => openDatabase(dir)).toThrow(/newer than this gateway understands/);
  });
});

describe("SessionStore", () => {
  test("appends turns in order, with tool calls, usage and counts", () => {
    const store = new SessionStore(openDatabase(freshDir()));
    store.append({ key: "agent:main:x", agentId: "main", messages: [{ role: "user", content: "weather?" }, { role: "assistant", content: "", toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' }] }], usage: { input: 5, output: 2 }, model: "p/m" });
    const row = store.append({ key: "agent:main:x", agentId: "main", messages: [{ role: "tool", content: "sunny", toolCallId: "call_1" }, { role: "assistant", content: "It is sunny." }], usage: { input: 7, output: 3 } });
    expect(row.messageCount).toBe(4);
    expect(row.inputTokens).toBe(12);
    expect(row.outputTokens).toBe(5);
    expect(row.model).toBe("p/m");
    expect(store.history("agent:main:x")).toEqual([
      { role: "user", content: "weather?" },
      { role: "assistant", content: "", toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' }] },
      { role: "tool", content: "sunny", toolCallId: "call_1" },
      { role: "assistant", content: "It is sunny." },
    ]);
    expect(store.count()).toBe(1);
    expect(store.count("main")).toBe(1);
    expect(store.count("other")).toBe(0);
    store.db.close();
  });

  test("history is limited and starts at a user message", () => {
    const store = new SessionStore(openDatabase(freshDir()));
    for (let i = 0; i < 5; i++) {
      store.append({ key: "k", agentId: "main", messages: [{ role: "user", content: `u${i}` }, { role: "assistant", content: `a${i}` }] });
    }
    expect(store.history("k", 3).map((m) => m.content)).toEqual(["u4", "a4"]);
    expect(store.history("k", 4).map((m) => m.content)).toEqual(["u3", "a3", "u4", "a4"]);
    expect(trimToUserStart([{ role: "assistant", content: "x" }])).toEqual([]);
    store.db.close();
  });

  test("a session key cannot move to another agent", () => {
    const store = new SessionStore(openDatabase(freshDir()));
    store.append({ key: "k", agentId: "main", messages: [{ role: "user", content: "a" }] });
    expect(() => store.append({ key: "k", agentId: "other", messages: [{ role: "user", content: "b" }] })).toThrow(/belongs to agent main/);
    expect(store.history("k")).toHaveLength(1);
    store.db.close();
  });

  test("lists sessions newest first, per agent, with limit/offset", () => {
    const store = new SessionStore(openDatabase(freshDir()));
    store.append({ key: "a", agentId: "main", messages: [{ role: "user", content: "1" }], now: 1000 });
    store.append({ key: "b", agentId: "ops", messages: [{ role: "user", content: "2" }], now: 2000 });
    store.append({ key: "c", agentId: "main", messages: [{ role: "user", content: "3" }], now: 3000 });
    expect(store.list().map((s) => s.key)).toEqual(["c", "b", "a"]);
    expect(store.list({ agentId: "main" }).map((s) => s.key)).toEqual(["c", "a"]);
    expect(store.list({ limit: 1, offset: 1 }).map((s) => s.key)).toEqual(["b"]);
    expect(Object.fromEntries(store.countsByAgent())).toEqual({ main: 2, ops: 1 });
    store.db.close();
  });

  test("response links expire after the TTL", () => {
    const store = new SessionStore(openDatabase(freshDir()));
    store.saveResponse({ id: "resp_1", sessionKey: "k", agentId: "main", subject: "bearer:x", headerKey: null, createdAt: 1_000 });
    expect(store.findResponse("resp_1", 1_000 + 10)?.sessionKey).toBe("k");
    expect(store.findResponse("resp_1", 1_000 + RESPONSE_TTL_MS + 1)).toBeUndefined();
    expect(store.findResponse("nope")).toBeUndefined();
    store.db.close();
  });
});

describe("named migration sets", () => {
  test("each set is versioned on its own, applied once, and a newer set is refused", () => {
    const dir = freshDir();
    const db = openDatabase(dir);
    const steps = ["CREATE TABLE a (x INTEGER)", "ALTER TABLE a ADD COLUMN y TEXT"];
    expect(migrateSet(db, "alpha", steps)).toBe(2);
    expect(migrateSet(db, "alpha", steps)).toBe(2);
    expect(migrateSet(db, "beta", ["CREATE TABLE b (z INTEGER)"])).toBe(1);
    db.run("INSERT INTO a (x, y) VALUES (1, 'one')");
    expect((db.query("SELECT y FROM a").get() as any).y).toBe("one");
    expect(() => migrateSet(db, "alpha", steps.slice(0, 1))).toThrow(/alpha schema version 2 is newer/);
    expect((db.query("PRAGMA user_version").get() as any).user_version).toBe(MIGRATIONS.length);
    db.close();
  });
});
