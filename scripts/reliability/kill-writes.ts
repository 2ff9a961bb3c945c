/**
 * kill -9 during config writes: a child process writes configs through the real writer without
 * pause; it is SIGKILLed at a random moment, 750 times (quick: 60). After every kill the config
 * must be exactly the last finished write or the one in flight (never torn, never empty), parse
 * and validate, and the backup must parse. Running as root, the config starts owned by another
 * account (nobody, 0640): owner, group and mode must survive every write and every kill. At the
 * end a gateway must start on what the killed writers left.
 *
 *   bun scripts/reliability/kill-writes.ts [--quick]
 */
import { chownSync, chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateConfig } from "../../src/config/schema.ts";
import { serializeConfig, stampMeta, writeConfigDocument } from "../../src/config/write.ts";
import { stopChild } from "../lib/proc.ts";
import { writerDoc, WRITER_NOW } from "./config-writer-child.ts";
import { Operator, Recorder, ROOT, startGateway, TOKEN, type ScenarioOptions, type ScenarioResult } from "./lib.ts";

const WRITER = join(ROOT, "scripts/reliability/config-writer-child.ts");
const expected = (n: number) => serializeConfig(stampMeta(writerDoc(n), WRITER_NOW));

export async function killWrites(opts: ScenarioOptions): Promise<ScenarioResult> {
  const r = new Recorder("kill-writes");
  const kills = opts.quick ? 60 : 750;
  const dir = mkdtempSync(join(tmpdir(), "openclaw-kill-writes-"));
  const path = join(dir, "openclaw.json");
  const asRoot = process.getuid?.() === 0;
  try {
    await writeConfigDocument(path, writerDoc(0), { now: WRITER_NOW, env: {} });
    await writeConfigDocument(path, writerDoc(0), { now: WRITER_NOW, env: {} });
    const identity = { uid: 65534, gid: 65534, mode: 0o640 };
    if (asRoot) {
      // The backup the second write made too: under load a writer can be killed before its
      // first write replaces it, and it must already be what the invariant expects.
      for (const p of [path, `${path}.bak`]) {
        chownSync(p, identity.uid, identity.gid);
        chmodSync(p, identity.mode);
      }
    }
    let next = 1;
    let completed = 0;
    let midWrite = 0;
    let corrupt = 0;
    let invalid = 0;
    let ownerChanged = 0;
    let maxLeftovers = 0;
    const problems: string[] = [];
    const t0 = performance.now();
    for (let k = 0; k < kills; k++) {
      const proc = Bun.spawn([process.execPath, WRITER, path, String(next)], { stdout: "pipe", stderr: "ignore", stdin: "ignore" });
      const reader = proc.stdout.getReader();
      const decoder = new TextDecoder();
      let out = "";
      const first = (async () => {
        while (!out.includes("\n")) {
          const { value, done } = await reader.read();
          if (done) return;
          out += decoder.decode(value, { stream: true });
        }
      })();
      await Promise.race([first, Bun.sleep(10_000)]);
      await Bun.sleep(Math.random() * (opts.quick ? 60 : 150));
      proc.kill("SIGKILL");
      await stopChild(proc, 2_000, "SIGKILL");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out += decoder.decode(value, { stream: true });
      }
      const events = out.split("\n").filter(Boolean).map((l) => ({ kind: l[0], n: Number(l.slice(2)) }));
      const last = events.at(-1);
      const done = events.filter((e) => e.kind === "D").map((e) => e.n);
      completed += done.length;
      const allowed = last === undefined ? [expected(next - 1)] : last.kind === "D" ? [expected(last.n)] : [expected(last.n - 1), expected(last.n)];
      if (last?.kind === "B") midWrite++;
      const text = readFileSync(path, "utf8");
      if (!allowed.includes(text)) {
        corrupt++;
        problems.push(`kill ${k}: content is neither write ${last ? last.n - 1 : next - 1} nor ${last?.n} (${text.length} bytes)`);
      }
      try {
        const parsed = JSON.parse(text);
        if (!validateConfig(parsed).ok) invalid++;
        JSON.parse(readFileSync(`${path}.bak`, "utf8"));
      } catch (err) {
        invalid++;
        problems.push(`kill ${k}: ${(err as Error).message}`);
      }
      if (asRoot) {
        for (const p of [path, `${path}.bak`]) {
          const s = statSync(p);
          if (s.uid !== identity.uid || s.gid !== identity.gid || (s.mode & 0o777) !== identity.mode) {
            ownerChanged++;
            problems.push(`kill ${k}: ${p} is now ${s.uid}:${s.gid} 0${(s.mode & 0o777).toString(8)}`);
          }
        }
      }
      const leftovers = readdirSync(dir).filter((n) => n.endsWith(".tmp")).length;
      maxLeftovers = Math.max(maxLeftovers, leftovers);
      next = done.length ? done[done.length - 1] + 1 : next;
    }
    r.set("kills", kills);
    r.set("writes completed", completed);
    r.set("kills inside a write", midWrite);
    r.set("torn or wrong configs", corrupt);
    r.set("unparsable or invalid config/backup", invalid);
    r.set("ownership checked", asRoot ? "yes (nobody:nogroup 0640)" : "no (not root)");
    r.set("owner/mode changes", ownerChanged);
    r.set("temp leftovers (max at once)", maxLeftovers);
    r.set("duration s", (performance.now() - t0) / 1000);
    for (const p of problems.slice(0, 5)) r.set(`problem ${problems.indexOf(p) + 1}`, p);

    // A gateway starts on what is left (the writer's token is its auth token).
    const token = (JSON.parse(readFileSync(path, "utf8")) as { gateway: { auth: { token: string } } }).gateway.auth.token;
    const gw = await startGateway(opts, { ...JSON.parse(readFileSync(path, "utf8")), gateway: { mode: "local", auth: { mode: "token", token: TOKEN } } });
    let served = false;
    try {
      const op = await Operator.connect(gw.url, ["operator.read"]);
      served = (await op.request("health")).ok === true;
      await op.close();
    } finally {
      await gw.stop();
    }
    r.set("gateway serves the surviving config", served);
    r.check(token.startsWith("kill-token-"), "the surviving config is one the writer wrote");
    r.check(corrupt === 0, `the config is always the old or the new content (${corrupt} not)`);
    r.check(invalid === 0, `config and backup always parse and validate (${invalid} not)`);
    r.check(ownerChanged === 0, `owner, group and mode survive writes and kills (${ownerChanged} changes)`);
    r.check(midWrite > kills / 4, `kills land inside writes (${midWrite}/${kills})`);
    r.check(served, "a gateway starts on the surviving config");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return r.result();
}

if (import.meta.main) {
  const { runStandalone } = await import("./index.ts");
  await runStandalone(killWrites);
}
