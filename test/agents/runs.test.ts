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
