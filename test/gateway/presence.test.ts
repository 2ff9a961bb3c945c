/** Presence is bounded: entries (the original's 200, self included) and client-supplied strings. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  boundPresence,
  MAX_PRESENCE_ENTRIES,
  MAX_PRESENCE_FIELD,
  MAX_PRESENCE_LIST,
  MAX_PRESENCE_TIMEZONE,
  PresenceStore,
  truncateUtf16,
} from "../../src/gateway/presence.ts";
import { connectParams, connectRaw, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

describe("PresenceStore", () => {
  test("at most 200 entries, self included; departed clients go first, then the least recently seen", () => {
    const store = new PresenceStore("self");
    for (let i = 0; i < 150; i++) store.upsert(`live-${i}`, { mode: "ui", reason: "connect", ts: 1000 + i });
    for (let i = 0; i < 40; i++) {
      store.upsert(`gone-${i}`, { mode: "ui", reason: "connect", ts: 5000 + i });
      store.disconnect(`gone-${i}`, Date.now());
    }
    expect(store.size).toBe(191);
    for (let i = 0; i < 30; i++) store.upsert(`new-${i}`, { mode: "ui", reason: "connect", ts: 9000 + i });
    const list = store.list();
    expect(list).toHaveLength(MAX_PRESENCE_ENTRIES);
    expect(list[0].reason).toBe("self");
    // 21 over the limit: 21 departed entries were dropped, every live one kept.
    expect(list.filter((e) => e.reason === "disconnect")).toHaveLength(19);
    expect(list.filter((e) => e.reason === "connect")).toHaveLength(180);
    // Past that, live entries go oldest first.
    for (let i = 0; i < 30; i++) store.upsert(`more-${i}`, { mode: "ui", reason: "connect", ts: 20_000 + i });
    const after = store.list();
    expect(after).toHaveLength(MAX_PRESENCE_ENTRIES);
    expect(after.filter((e) => e.reason === "disconnect")).toHaveLength(0);
    expect(after.some((e) => e.ts === 1000)).toBe(false);
    expect(after.some((e) => e.ts === 20_029)).toBe(true);
  });

  test("client strings are cut (60 KB names included), lists bounded, junk types dropped", () => {
    const huge = "n".repeat(60_000);
    const e = boundPresence({
      host: huge,
      clientId: huge,
      version: "1",
      timeZone: "Z".repeat(500),
      text: huge,
      ts: 1,
      roles: Array.from({ length: 100 }, () => huge),
      scopes: ["operator.read", 5 as unknown as string],
      platform: { evil: true } as unknown as string,
    });
    expect(e.host).toHaveLength(MAX_PRESENCE_FIELD);
    expect(e.clientId).toHaveLength(MAX_PRESENCE_FIELD);
    expect(e.version).toBe("1");
    expect(e.timeZone).toHaveLength(MAX_PRESENCE_TIMEZONE);
    expect(e.text!.length).toBeLessThanOrEqual(512);
    expect(e.roles).toHaveLength(MAX_PRESENCE_LIST);
    expect(e.roles![0]).toHaveLength(MAX_PRESENCE_FIELD);
    expect(e.scopes).toEqual(["operator.read"]);
    expect("platform" in e).toBe(false);
  });

  test("truncation never leaves half a surrogate pair", () => {
    const s = `${"a".repeat(MAX_PRESENCE_FIELD - 1)}😀tail`;
    const cut = truncateUtf16(s, MAX_PRESENCE_FIELD);
    expect(cut).toBe("a".repeat(MAX_PRESENCE_FIELD - 1));
    expect(truncateUtf16("short", 10)).toBe("short");
  });
});

describe("through the handshake", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.stop());

  test("a UI connecting with a 60 KB display name is listed with a bounded name", async () => {
    const name = "x".repeat(60_000);
    const { peer: ui, res } = await connectRaw(gw.url, connectParams({ client: { id: "openclaw-macos", displayName: name, version: "2026.9.6", platform: "macos", mode: "ui", instanceId: "big" } }));
    expect(res.ok).toBe(true);
    const { peer: reader } = await connectRaw(gw.url);
    reader.send({ type: "req", id: "p", method: "system-presence" });
    let f: any;
    do f = await reader.frame();
    while (f.type !== "res");
    const entry = f.payload.find((e: any) => e.instanceId === "big");
    expect(entry.host).toHaveLength(MAX_PRESENCE_FIELD);
    expect(JSON.stringify(f.payload).length).toBeLessThan(10_000);
    ui.close();
    reader.close();
  });
});
