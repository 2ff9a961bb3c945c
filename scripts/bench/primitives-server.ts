/**
 * The program `scripts/bench/primitives.ts` compiles: a bare `Bun.serve` that first exercises
 * the runtime features named in its first argument (comma-separated), once, the way the gateway's
 * startup does, then serves "ok" on 127.0.0.1:<port> (second argument).
 *
 *   primitives-server <features> <port>
 *
 * Features: none, sqlite (open a WAL database, create a table, insert, select), watch (an
 * fs.watch on a directory), async-fs (Bun.file().text() and fs/promises readFile: Bun's file
 * thread pool), random (getRandomValues), hash (Bun.CryptoHasher sha256), ed25519 (WebCrypto
 * Ed25519 key generation, sign and verify), json5 (Bun.JSON5.parse), intl (Intl.DateTimeFormat
 * in an IANA time zone), gc (one full collection 1 s after start).
 */
import { mkdtempSync, rmSync, writeFileSync, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const FEATURES = ["none", "sqlite", "watch", "async-fs", "random", "hash", "ed25519", "json5", "intl", "gc"] as const;

async function exercise(feature: string, dir: string): Promise<void> {
  switch (feature) {
    case "none":
      return;
    case "sqlite": {
      const { Database } = await import("bun:sqlite");
      const db = new Database(join(dir, "x.sqlite"));
      db.exec("PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t(a INTEGER PRIMARY KEY, b TEXT)");
      db.query("INSERT INTO t(b) VALUES (?)").run("x");
      db.query("SELECT * FROM t").all();
      return;
    }
    case "watch":
      watch(dir, () => {});
      return;
    case "async-fs": {
      const file = join(dir, "c.json");
      writeFileSync(file, "{}");
      await Bun.file(file).text();
      await readFile(file, "utf8");
      return;
    }
    case "random":
      crypto.getRandomValues(new Uint8Array(32));
      return;
    case "hash":
      new Bun.CryptoHasher("sha256").update("x").digest("hex");
      return;
    case "ed25519": {
      const keys = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as unknown as CryptoKeyPair;
      const data = new Uint8Array(8);
      const sig = await crypto.subtle.sign("Ed25519", keys.privateKey, data);
      await crypto.subtle.verify("Ed25519", keys.publicKey, sig, data);
      return;
    }
    case "json5":
      Bun.JSON5.parse("{a: 1, // comment\n b: [1, 2,], c: 'x'}");
      return;
    case "intl":
      new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", hour: "numeric", minute: "numeric" }).format(new Date());
      return;
    case "gc":
      setTimeout(() => Bun.gc(true), 1000);
      return;
    default:
      throw new Error(`unknown feature ${feature}`);
  }
}

if (import.meta.main) {
  const [list = "none", portArg = "0"] = process.argv.slice(2);
  const dir = mkdtempSync(join(tmpdir(), "openclaw-bench-primitives-"));
  for (const feature of list.split(",")) await exercise(feature, dir);
  const server = Bun.serve({ port: Number(portArg), hostname: "127.0.0.1", fetch: () => new Response("ok") });
  process.on("SIGTERM", () => {
    server.stop(true);
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}
