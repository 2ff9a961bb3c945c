/**
 * `kill -9` of a writer at random points over 500 writes: after every kill the config parses
 * and is exactly the old or the new content (never torn, never empty), and the `.bak` parses too.
 * The child announces `B n` / `D n` around each write with synchronous writes to stdout, so the
 * parent knows which write was in flight when the kill landed. Kills are timed by those
 * announcements (a random number of writes in, then 0–2 ms into the next one), not by the clock:
 * the number of kills does not depend on how fast the writer or the machine is.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { serializeConfig, stampMeta, writeConfigDocument } from "../../src/config/write.ts";
import { crashDoc, CRASH_NOW } from "../fixture/config-writer-doc.ts";

const TOTAL_WRITES = 500;
const WRITER = resolve(import.meta.dir, "../fixture/config-writer.ts");
const expected = (n: number) => serializeConfig(stampMeta(crashDoc(n), CRASH_NOW));

test(
  `kill -9 at random points over ${TOTAL_WRITES} writes: the config is always the old or the new content`,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "openclaw-crash-test-"));
    const path = join(dir, "openclaw.json");
    try {
      // Written twice so a `.bak` exists before the first kill.
      await writeConfigDocument(path, crashDoc(0), { now: CRASH_NOW, env: {} });
      await writeConfigDocument(path, crashDoc(0), { now: CRASH_NOW, env: {} });
      let next = 1;
      let completed = 0;
      let kills = 0;
      let midWrite = 0;
      for (let round = 0; completed < TOTAL_WRITES && round < 400; round++) {
        const proc = Bun.spawn([process.execPath, WRITER, path, String(next), String(TOTAL_WRITES)], {
          stdout: "pipe",
          stderr: "pipe",
          stdin: "ignore",
        });
        // Wait (bounded) until the child announces the start of a random one of its next 30
        // writes, then kill it 0–2 ms later.
        const reader = proc.stdout.getReader();
        const chunks: string[] = [];
        const decoder = new TextDecoder();
        const lines = 2 * Math.floor(Math.random() * 30) + 1;
        const announced = (async () => {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            chunks.push(decoder.decode(value, { stream: true }));
            if (chunks.join("").split("\n").length > lines) return;
          }
        })();
        await Promise.race([announced, Bun.sleep(10_000)]);
        await Bun.sleep(Math.random() * 2);
        proc.kill("SIGKILL");
        kills++;
        await proc.exited;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          chunks.push(decoder.decode(value, { stream: true }));
        }
        const events = chunks
          .join("")
          .split("\n")
          .filter(Boolean)
          .map((l) => {
            const [kind, n] = l.split(" ");
            return { kind, n: Number(n) };
          });
        const last = events.at(-1);
        const done = events.filter((e) => e.kind === "D").map((e) => e.n);
        completed += done.length;
        const text = readFileSync(path, "utf8");
        const ok =
          last === undefined
            ? [expected(next - 1)]
            : last.kind === "D"
              ? [expected(last.n)]
              : [expected(last.n - 1), expected(last.n)];
        if (last?.kind === "B") midWrite++;
        expect(ok).toContain(text);
        JSON.parse(text);
        JSON.parse(readFileSync(`${path}.bak`, "utf8"));
        // Only temp files of interrupted writes may be left over; the next write resumes after the last finished one.
        for (const name of readdirSync(dir)) expect(name === "openclaw.json" || name === "openclaw.json.bak" || /^\.openclaw\.json(\.bak)?\.[0-9a-f]+\.tmp$/.test(name)).toBe(true);
        next = done.length ? done[done.length - 1] + 1 : next;
      }
      expect(completed).toBeGreaterThanOrEqual(TOTAL_WRITES);
      expect(kills).toBeGreaterThan(10);
      // Most kills land inside a write (between B and D), where it matters.
      expect(midWrite).toBeGreaterThan(kills / 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  120_000,
);
