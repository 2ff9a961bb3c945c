/**
 * Child of the kill-writes scenario: writes config number `start`, `start+1`, … through the real
 * writer forever (until killed), announcing each write on stdout with synchronous writes (so a
 * SIGKILL never loses an announcement that was made): `B <n>` before, `D <n>` after.
 *
 *   bun scripts/reliability/config-writer-child.ts <configPath> <start>
 */
import { writeSync } from "node:fs";
import { writeConfigDocument } from "../../src/config/write.ts";

/** Config number `n`: sizes vary from 0.1 to 40 KB so kills land at every stage of a write. */
export function writerDoc(n: number): Record<string, unknown> {
  return {
    gateway: { mode: "local", auth: { mode: "token", token: `kill-token-${n}-0123456789` } },
    wizard: { seq: n, pad: "x".repeat((n * 7919) % 40_000) },
  };
}

export const WRITER_NOW = new Date("2026-12-01T00:00:00.000Z");

if (import.meta.main) {
  const [path, startArg] = process.argv.slice(2);
  for (let n = Number(startArg); ; n++) {
    writeSync(1, `B ${n}\n`);
    await writeConfigDocument(path, writerDoc(n), { now: WRITER_NOW, env: {} });
    writeSync(1, `D ${n}\n`);
  }
}
