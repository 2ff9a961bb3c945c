import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { inspectLock, InstanceLock, lockPaths, LockHeldError } from "../../src/system/lock.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const dir = useTempDirs("openclaw-lock-");
const info = { configPath: "/x/openclaw.json", version: "2026.9.6" };

const HOLDER = `
import { InstanceLock } from ${JSON.stringify(resolve(import.meta.dir, "../../src/system/lock.ts"))};
await InstanceLock.acquire(process.argv[2], { configPath: "c", version: "v", port: 1234 });
console.log("locked");
await Bun.sleep(60_000);
`;

describe("instance lock", () => {
  test("one holder per state dir; inspect names it; release frees it", async () => {
    const d = dir();
    expect(await inspectLock(d)).toEqual({ held: false });
    const lock = await InstanceLock.acquire(d, info);
    // A second acquire from another connection in the same process is refused too.
    const err = await InstanceLock.acquire(d, info).catch((e) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect(err.holder.pid).toBe(process.pid);
    expect(err.message).toBe(`gateway already running (pid ${process.pid}) for state dir ${d}`);
    expect((await inspectLock(d)).held).toBe(true);
    const { statSync } = await import("node:fs");
    expect(statSync(lockPaths(d).lock).mode & 0o777).toBe(0o600);
    expect(statSync(lockPaths(d).info).mode & 0o777).toBe(0o600);
    lock.release();
    expect(existsSync(lockPaths(d).info)).toBe(false);
    expect(await inspectLock(d)).toEqual({ held: false });
    (await InstanceLock.acquire(d, info)).release();
  });

  test("kill -9 of the holder leaves nothing stale", async () => {
    const d = dir();
    const script = join(d, "holder.ts");
    await Bun.write(script, HOLDER);
    const child = Bun.spawn([process.execPath, script, d], { stdout: "pipe", stderr: "inherit" });
    const reader = child.stdout.getReader();
    const first = await Promise.race([reader.read(), Bun.sleep(10_000).then(() => undefined)]);
    expect(new TextDecoder().decode(first?.value)).toContain("locked");
    const held = await inspectLock(d);
    expect(held.held).toBe(true);
    expect(held.info).toMatchObject({ pid: child.pid, port: 1234 });
    child.kill("SIGKILL");
    await child.exited;
    expect((await inspectLock(d)).held).toBe(false);
    const lock = await InstanceLock.acquire(d, info);
    lock.release();
  });

  test("inspecting never creates files", async () => {
    const d = dir();
    await inspectLock(d);
    expect(existsSync(lockPaths(d).lock)).toBe(false);
  });
});
