/**
 * kill -9 in the middle of a write loop: every approval the writer acknowledged is still there
 * with a working token, the database is intact, and the store opens and writes again.
 */
import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { PairingStore } from "../../src/auth/pairing-store.ts";
import { dbPath } from "../../src/store/db.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const dirs = useTempDirs("openclaw-pairing-crash-");

test("acknowledged approvals survive SIGKILL mid-write; the database stays consistent", async () => {
  const dir = dirs();
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "pairing-writer.ts"), dir, "crash", "loop"], { stdout: "pipe", stderr: "pipe" });
  const acked = new Map<number, string>();
  const reader = child.stdout.getReader();
  let buffered = "";
  // Wait (bounded in count) until enough commits were acknowledged, then kill without warning.
  while (acked.size < 25) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`writer exited early: ${await new Response(child.stderr).text()}`);
    buffered += new TextDecoder().decode(value);
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const [, i, token] = buffered.slice(0, nl).split(" ");
      acked.set(Number(i), token);
      buffered = buffered.slice(nl + 1);
    }
  }
  child.kill("SIGKILL");
  expect(await child.exited).not.toBe(0);
  expect(child.signalCode).toBe("SIGKILL");

  const raw = new Database(dbPath(dir), { readonly: true });
  expect(raw.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  raw.close();

  const store = PairingStore.open(dir);
  const paired = store.list().paired;
  // Every device is whole: a device row always has its token row (one transaction each).
  for (const d of paired) expect(Object.keys(d.tokens)).toEqual(["operator"]);
  for (const [i, token] of acked) {
    const deviceId = new Bun.CryptoHasher("sha256").update(`device-crash-${i}`).digest("hex");
    expect(store.getPaired(deviceId)?.displayName).toBe(`crash-${i}`);
    expect(store.verifyToken({ deviceId, role: "operator", token, scopes: ["operator.read"] })).toEqual({ ok: true });
  }
  expect(paired.length).toBeGreaterThanOrEqual(acked.size);
  // And it keeps working.
  const r = store.requestPairing({ deviceId: "a".repeat(64), publicKey: "k", role: "operator", scopes: [] });
  expect(store.approve(r.request.requestId, { callerScopes: ["operator.admin"] })?.status).toBe("approved");
  store.close();
});
