import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { RotatingFileSink } from "../../src/log/file.ts";
import { createLogger } from "../../src/log/logger.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const dir = useTempDirs("openclaw-filelog-");
const record = (i: number) => ({ time: new Date(0).toISOString(), level: "info" as const, subsystem: "t", message: `message ${i} ${"x".repeat(100)}` });

describe("rotating file log", () => {
  test("appends JSON lines with mode 0600 in a 0700 directory", async () => {
    const d = join(dir(), "logs");
    const sink = new RotatingFileSink({ path: join(d, "gateway.log") });
    sink.write(record(1));
    sink.write(record(2));
    await sink.close();
    const text = readFileSync(join(d, "gateway.log"), "utf8").trim().split("\n");
    expect(text.map((l) => JSON.parse(l).message.split(" ")[1])).toEqual(["1", "2"]);
    expect(statSync(join(d, "gateway.log")).mode & 0o777).toBe(0o600);
    expect(statSync(d).mode & 0o777).toBe(0o700);
  });

  test("a flood stays under the cap: maxFileBytes × (keep + 1), newest lines kept", async () => {
    const d = dir();
    const path = join(d, "gateway.log");
    const sink = new RotatingFileSink({ path, maxFileBytes: 4096, keep: 3 });
    for (let i = 0; i < 2000; i++) {
      sink.write(record(i));
      if (i % 100 === 0) await Bun.sleep(1);
    }
    await sink.close();
    const files = readdirSync(d).sort();
    expect(files).toEqual(["gateway.log", "gateway.log.1", "gateway.log.2", "gateway.log.3"]);
    const total = files.reduce((n, f) => n + statSync(join(d, f)).size, 0);
    expect(total).toBeLessThanOrEqual(4096 * 4);
    for (const f of files) expect(statSync(join(d, f)).size).toBeLessThanOrEqual(4096);
    const last = readFileSync(path, "utf8").trim().split("\n").at(-1)!;
    expect(JSON.parse(last).message.split(" ")[1]).toBe("1999");
  });

  test("the logger masks registered secrets in every sink and honours per-sink levels", async () => {
    const d = dir();
    const sink = new RotatingFileSink({ path: join(d, "g.log") });
    sink.level = "debug";
    const console: string[] = [];
    const log = createLogger({ level: "warn", sinks: [{ write: (r) => void console.push(r.message) }] });
    log.addSink(sink);
    log.addSecret("super-secret-token-value-123456");
    log.debug("debug with super-secret-token-value-123456 inside");
    log.warn("warn");
    await sink.close();
    const file = readFileSync(join(d, "g.log"), "utf8");
    expect(file).not.toContain("super-secret-token-value-123456");
    expect(file).toContain("super-…3456");
    expect(file).toContain("debug with");
    expect(console).toEqual(["warn"]);
  });
});
