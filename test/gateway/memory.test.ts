/**
 * The quiet collector (src/gateway/memory.ts): when it collects, and what it tells the
 * collection about the gateway being idle; that JavaScriptCore's discard-all-code collection
 * leaves a working runtime behind; and schemas built on first use (src/zod.ts `lazy`).
 */
import { describe, expect, test } from "bun:test";
import { defaultCollect, QuietCollector } from "../../src/gateway/memory.ts";
import { JIT_POLICY } from "../../scripts/build.ts";
import { STARTUP_JIT_POLICY } from "../../src/gateway/jit-policy.ts";
import { lazy, setLazyBuilder, z } from "../../src/zod.ts";

/** A collector whose collections resolve promises, one per collection, in order. */
function recording(opts: { idle?: () => boolean; startupMs?: number; minCloses?: number; quietMs?: number; idleMs?: number }) {
  const seen: boolean[] = [];
  const waiters: Array<() => void> = [];
  const collector = new QuietCollector({
    ...opts,
    collect: (discardCode) => {
      seen.push(discardCode);
      waiters.shift()?.();
    },
  });
  const next = () => new Promise<void>((resolve) => waiters.push(resolve));
  return { collector, seen, next };
}

describe("QuietCollector", () => {
  test("after startup with nothing connected, the one collection discards compiled code too", async () => {
    const r = recording({ startupMs: 0, idle: () => true });
    await r.next();
    expect(r.seen).toEqual([true]);
    expect(r.collector.collections).toBe(1);
    r.collector.stop();
  });

  test("after startup with a socket connected, it is a plain collection", async () => {
    const r = recording({ startupMs: 0, idle: () => false });
    await r.next();
    expect(r.seen).toEqual([false]);
    r.collector.stop();
  });

  test("a burst of closes, then quiet: a plain collection; still idle after idleMs: compiled code goes too", async () => {
    let connected = 0;
    const r = recording({ minCloses: 3, quietMs: 1, idleMs: 1, idle: () => connected === 0 });
    const quiet = r.next();
    const idle = r.next();
    for (let i = 0; i < 3; i++) r.collector.closed();
    await quiet;
    expect(r.seen).toEqual([false]);
    await idle;
    expect(r.seen).toEqual([false, true]);
    expect(r.collector.collections).toBe(2);
    r.collector.stop();
  });
});

describe("defaultCollect", () => {
  test("after discarding all compiled code, code that ran before runs again with the same results", async () => {
    const schema = z.object({ a: z.number(), b: z.array(z.string()) });
    const run = () => JSON.stringify(schema.parse(JSON.parse('{"a":1,"b":["x","y"]}')));
    const before = Array.from({ length: 200 }, run);
    defaultCollect(true); // discards code once this callback returns
    await new Promise((resolve) => setTimeout(resolve, 0));
    defaultCollect(false);
    const after = Array.from({ length: 200 }, run);
    expect(after).toEqual(before);
    expect(schema.safeParse({ a: "no" }).success).toBe(false);
  });
});

describe("schemas built on first use", () => {
  test("lazy builds once, through the registered builder, and returns the same value after", () => {
    const runs: string[] = [];
    setLazyBuilder((build) => {
      runs.push("wrapped");
      return build();
    });
    try {
      let builds = 0;
      const get = lazy(() => {
        builds++;
        return z.object({ a: z.number() });
      });
      expect(builds).toBe(0);
      const first = get();
      expect(get()).toBe(first);
      expect(builds).toBe(1);
      expect(runs).toEqual(["wrapped"]);
      expect(first.safeParse({ a: 1 }).success).toBe(true);
    } finally {
      setLazyBuilder((build) => build());
    }
  });

  test("the gateway's startup JIT policy is the one the build compiles in", () => {
    expect(STARTUP_JIT_POLICY).toBe(JIT_POLICY);
  });
});
