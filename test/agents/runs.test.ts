import { expect, test } from "bun:test";
import { IDEMPOTENCY_MAX, RUN_RETENTION_MAX, RunRegistry } from "../../src/agents/runs.ts";

test("runs: idempotency per method, wait with a bound, bounded retention", async () => {
  const reg = new RunRegistry();
  const { record, finish } = reg.start({ runId: "r1", method: "agent", agentId: "main", sessionKey: "k", idempotencyKey: "i1", accepted: {} });
  expect(reg.byIdempotencyKey("agent", "i1")).toBe(record);
  expect(reg.byIdempotencyKey("chat.send", "i1")).toBeUndefined();
  expect(await reg.wait(record, 10)).toBe(false);
  setTimeout(() => finish("ok", { status: "ok" }), 5);
  expect(await reg.wait(record, 2000)).toBe(true);
  expect(record.status).toBe("ok");
  finish("error", {});
  expect(record.status).toBe("ok");

  for (let i = 0; i < RUN_RETENTION_MAX + 50; i++) {
    reg.start({ runId: `x${i}`, method: "chat.send", agentId: "main", sessionKey: "k", idempotencyKey: `x${i}`, accepted: {} }).finish("ok", {});
  }
  reg.start({ runId: "last", method: "chat.send", agentId: "main", sessionKey: "k", idempotencyKey: "last", accepted: {} });
  expect(reg.get("r1")).toBeUndefined();
  expect(reg.get("last")).toBeDefined();
  expect(reg.byIdempotencyKey("chat.send", "x0")).toBeUndefined();
  expect(IDEMPOTENCY_MAX).toBe(1000);
});

test("runs: finished payloads are kept up to a byte budget, oldest dropped first, running runs and the newest always kept", () => {
  const reg = new RunRegistry(300_000);
  const text = "y".repeat(100_000);
  const running = reg.start({ runId: "live", method: "agent", agentId: "main", sessionKey: "k", idempotencyKey: "live", accepted: {} });
  for (let i = 0; i < 5; i++) {
    reg.start({ runId: `big${i}`, method: "agent", agentId: "main", sessionKey: "k", idempotencyKey: `big${i}`, accepted: {} }).finish("ok", { result: { payloads: [{ text }] } });
  }
  const kept = reg.retention();
  expect(kept.bytes).toBeLessThanOrEqual(300_000);
  expect(kept.finished).toBe(2);
  expect(reg.get("big0")).toBeUndefined();
  expect(reg.get("big2")).toBeUndefined();
  expect(reg.get("big3")?.final).toEqual({ result: { payloads: [{ text }] } });
  expect(reg.get("big4")).toBeDefined();
  expect(reg.get("live")).toBe(running.record);
  // One payload larger than the whole budget is still kept (the newest), alone.
  reg.start({ runId: "huge", method: "agent", agentId: "main", sessionKey: "k", idempotencyKey: "huge", accepted: {} }).finish("ok", { text: "z".repeat(400_000) });
  expect(reg.get("huge")).toBeDefined();
  expect(reg.retention().finished).toBe(1);
  running.finish("ok", {});
  expect(reg.get("huge")).toBeDefined();
});
