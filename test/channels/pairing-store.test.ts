/**
 * The DM pairing store: the original's file (state/openclaw.sqlite), its rules (code alphabet,
 * one-hour expiry, three pending per account), request ids, and — when OPENCLAW_REF_CLI points
 * at the official CLI — that both CLIs read and write the same rows.
 */
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  accountKey,
  channelKey,
  coordinatorDirectory,
  coordinatorPathFor,
  isPairingCode,
  PAIRING_CODE_ALPHABET,
  PAIRING_TTL_MS,
  PairingKeyError,
  PairingStore,
  randomPairingCode,
  requestIdFor,
  stateDatabasePath,
} from "../../src/channels/pairing-store.ts";
import { bootstrapCommandOwner, buildPairingReply, hasCommandOwner } from "../../src/channels/pairing.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const newDir = useTempDirs("openclaw-pairing-");

describe("codes and keys", () => {
  test("codes are 8 characters of the unambiguous alphabet", () => {
    expect(PAIRING_CODE_ALPHABET).toHaveLength(32);
    for (const ch of "0O1I") expect(PAIRING_CODE_ALPHABET.includes(ch)).toBe(false);
    for (let i = 0; i < 200; i++) {
      const code = randomPairingCode();
      expect(isPairingCode(code)).toBe(true);
    }
    expect(isPairingCode("ABCDEFG0")).toBe(false);
    expect(isPairingCode("abcdefgh")).toBe(false);
  });

  test("channel and account keys are normalized; hostile channel names are refused", () => {
    expect(channelKey(" Telegram ")).toBe("telegram");
    expect(channelKey("a/b:c")).toBe("a_b_c");
    expect(() => channelKey("")).toThrow(PairingKeyError);
    expect(() => channelKey("/")).toThrow(PairingKeyError);
    expect(accountKey(undefined)).toBe("default");
    expect(accountKey(" Work ")).toBe("work");
  });

  test("request ids are the original's (checked against a captured channels.pairing.list answer)", () => {
    const captured = JSON.parse(readFileSync(join(import.meta.dir, "../fixture/transcripts/channels/call-channels-pairing-list.json"), "utf8"));
    const req = captured.requests[0];
    const id = requestIdFor("telegram", { id: req.senderId, createdAt: req.createdAt, meta: { accountId: req.accountId } });
    expect(id).toBe(req.requestId);
    expect(id).toHaveLength(32);
  });

  test("the pairing reply is the original's text", () => {
    expect(buildPairingReply("discord", "Your Discord user id: 42", "ABCDEFGH")).toBe(
      "OpenClaw: access not configured.\n\nYour Discord user id: 42\nPairing code:\n```\nABCDEFGH\n```\n\nAsk the bot owner to approve with:\n```\nopenclaw pairing approve discord ABCDEFGH\n```",
    );
  });

  test("the write lock is the original's coordinator path", () => {
    const dir = newDir();
    const path = coordinatorPathFor(stateDatabasePath(dir), "/tmp/locks");
    expect(path).toMatch(/^\/tmp\/locks\/state-lifecycle\.[0-9a-f]{8}\.lock\.sqlite$/);
    if (typeof process.getuid === "function") expect(coordinatorDirectory()).toEndWith(`openclaw-state-locks-${process.getuid()}`);
  });
});

describe("store", () => {
  test("the database is the original's file with its tables, 0600 in a 0700 dir, WAL", () => {
    const dir = newDir();
    const store = new PairingStore(dir);
    store.upsertRequest({ channel: "telegram", id: "1" });
    store.close();
    const path = join(dir, "state", "openclaw.sqlite");
    expect(existsSync(path)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "state")).mode & 0o777).toBe(0o700);
    const db = new Database(path, { readonly: true });
    const tables = (db.query("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string; sql: string }>).map((t) => t.name).sort();
    expect(tables).toEqual(["channel_pairing_allow_entries", "channel_pairing_requests"]);
    expect((db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
    const row = db.query("SELECT * FROM channel_pairing_requests").get() as Record<string, unknown>;
    expect(row.channel_key).toBe("telegram");
    expect(row.account_id).toBe("default");
    expect(JSON.parse(String(row.meta_json))).toEqual({ accountId: "default" });
    db.close();
  });

  test("a sender keeps its code while pending; meta is refreshed; empty values dropped", () => {
    const store = new PairingStore(newDir());
    const a = store.upsertRequest({ channel: "telegram", id: "10", meta: { username: "a", firstName: "", lastName: undefined } });
    expect(a.created).toBe(true);
    const b = store.upsertRequest({ channel: "telegram", id: "10", meta: { username: "a2" } });
    expect(b).toEqual({ code: a.code, created: false });
    const [req] = store.listRequests("telegram");
    expect(req.meta).toEqual({ username: "a2", accountId: "default" });
    store.close();
  });

  test("at most three pending requests per account; others are ignored until one goes", () => {
    const store = new PairingStore(newDir());
    for (const id of ["1", "2", "3"]) expect(store.upsertRequest({ channel: "telegram", id }).created).toBe(true);
    expect(store.upsertRequest({ channel: "telegram", id: "4" })).toEqual({ code: "", created: false });
    // another account has its own cap
    expect(store.upsertRequest({ channel: "telegram", accountId: "work", id: "4" }).created).toBe(true);
    const [first] = store.listRequests("telegram", "default");
    expect(store.approveCode({ channel: "telegram", code: first.code })?.id).toBe("1");
    expect(store.upsertRequest({ channel: "telegram", id: "4" }).created).toBe(true);
    store.close();
  });

  test("requests expire after one hour", () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const store = new PairingStore(newDir(), { now: () => now });
    const { code } = store.upsertRequest({ channel: "telegram", id: "1" });
    now += PAIRING_TTL_MS - 1000;
    expect(store.listRequests("telegram")).toHaveLength(1);
    now += 2000;
    expect(store.listRequests("telegram")).toHaveLength(0);
    expect(store.approveCode({ channel: "telegram", code })).toBeNull();
    store.close();
  });

  test("approve by code (case-insensitive) moves the sender to the account's allowlist; approve/dismiss by request id", () => {
    const store = new PairingStore(newDir());
    const { code } = store.upsertRequest({ channel: "telegram", accountId: "work", id: "77" });
    expect(store.approveCode({ channel: "telegram", code: code.toLowerCase(), accountId: "default" })).toBeNull();
    expect(store.approveCode({ channel: "telegram", code: code.toLowerCase() })?.id).toBe("77");
    expect(store.readAllowFrom("telegram", "work")).toEqual(["77"]);
    expect(store.readAllowFrom("telegram", "default")).toEqual([]);
    expect(store.approveCode({ channel: "telegram", code })).toBeNull();

    store.upsertRequest({ channel: "telegram", id: "88" });
    const [r88] = store.listRequests("telegram");
    const rid = requestIdFor("telegram", r88);
    expect(store.dismissRequest({ channel: "telegram", requestId: "nope" })).toBeNull();
    expect(store.dismissRequest({ channel: "telegram", requestId: rid })?.id).toBe("88");
    expect(store.readAllowFrom("telegram")).toEqual([]);
    store.upsertRequest({ channel: "telegram", id: "88" });
    const [again] = store.listRequests("telegram");
    expect(store.approveRequest({ channel: "telegram", accountId: "default", requestId: requestIdFor("telegram", again) })?.id).toBe("88");
    expect(store.readAllowFrom("telegram")).toEqual(["88"]);
    store.close();
  });

  test("corrupt rows written by someone else are skipped, never thrown", () => {
    const dir = newDir();
    const store = new PairingStore(dir);
    store.upsertRequest({ channel: "telegram", id: "1" });
    const db = new Database(stateDatabasePath(dir));
    db.run("INSERT INTO channel_pairing_requests VALUES ('telegram','default','2','XXXXXXXX','not a date','also not','{bad json')");
    db.close();
    const list = store.listRequests("telegram");
    expect(list.map((r) => r.id)).toEqual(["1"]);
    store.close();
  });
});

describe("owner bootstrap", () => {
  test("the first approval writes commands.ownerAllowFrom; later ones leave it", async () => {
    const dir = newDir();
    const path = join(dir, "openclaw.json");
    writeFileSync(path, JSON.stringify({ channels: { telegram: { botToken: "1:x" } } }), { mode: 0o600 });
    expect(await bootstrapCommandOwner(path, "telegram", "555")).toEqual({ status: "configured", entry: "telegram:555" });
    const doc = JSON.parse(readFileSync(path, "utf8"));
    expect(doc.commands.ownerAllowFrom).toEqual(["telegram:555"]);
    expect(doc.channels.telegram.botToken).toBe("1:x");
    expect(hasCommandOwner(doc)).toBe(true);
    expect((await bootstrapCommandOwner(path, "telegram", "777")).status).toBe("already-configured");
    expect(JSON.parse(readFileSync(path, "utf8")).commands.ownerAllowFrom).toEqual(["telegram:555"]);
  });
});

const REF = process.env.OPENCLAW_REF_CLI;

describe.skipIf(!REF)("compatibility with the official CLI (OPENCLAW_REF_CLI)", () => {
  function official(stateDir: string, ...args: string[]) {
    const res = Bun.spawnSync([REF!, ...args], {
      env: { ...process.env, HOME: join(stateDir, "home"), OPENCLAW_STATE_DIR: stateDir, OPENCLAW_CONFIG_PATH: join(stateDir, "openclaw.json"), NO_COLOR: "1", FORCE_COLOR: "0" },
      stdout: "pipe",
      stderr: "pipe",
    });
    return { code: res.exitCode, out: res.stdout.toString(), err: res.stderr.toString() };
  }

  test(
    "requests we store are listed and approved by the official CLI; its approval admits the sender here",
    () => {
      const dir = newDir();
      writeFileSync(join(dir, "openclaw.json"), JSON.stringify({ channels: { telegram: { botToken: "123:abc" } } }), { mode: 0o600 });
      const store = new PairingStore(dir);
      const { code } = store.upsertRequest({ channel: "telegram", id: "4242", meta: { username: "zed", firstName: "Zed" } });
      store.close();
      const list = official(dir, "pairing", "list", "--channel", "telegram", "--json");
      expect(list.code).toBe(0);
      const json = JSON.parse(list.out);
      expect(json.channel).toBe("telegram");
      expect(json.requests).toHaveLength(1);
      expect(json.requests[0]).toMatchObject({ id: "4242", code, meta: { username: "zed", firstName: "Zed", accountId: "default" } });

      const approve = official(dir, "pairing", "approve", "telegram", code);
      expect(approve.code).toBe(0);
      expect(approve.out).toContain("Approved telegram sender 4242.");
      expect(approve.out).toContain("Command owner configured telegram:4242 (commands.ownerAllowFrom was empty).");
      const after = new PairingStore(dir);
      expect(after.readAllowFrom("telegram")).toEqual(["4242"]);
      expect(after.listRequests("telegram")).toEqual([]);
      // The database the official CLI upgraded still works for us.
      const next = after.upsertRequest({ channel: "telegram", id: "5151" });
      after.close();
      expect(JSON.parse(readFileSync(join(dir, "openclaw.json"), "utf8")).commands.ownerAllowFrom).toEqual(["telegram:4242"]);
      const relist = official(dir, "pairing", "list", "telegram", "--json");
      expect(JSON.parse(relist.out).requests.map((r: { code: string }) => r.code)).toEqual([next.code]);
    },
    120_000,
  );
});
