/**
 * A missing model (404) hands over to the next model of the chain, as in the original, and the
 * turn writes the original's operator lines: one `model fallback decision` per failed model
 * (`next=` the model that takes over, `none` at the end) and `embedded run agent end` for the
 * final failure.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { fallbackDecisionLine, runTurn } from "../../src/agents/turn.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { isFailoverWorthy, ProviderError } from "../../src/providers/errors.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";

const fake = new FakeUpstream();
beforeAll(() => fake.start());
afterAll(() => fake.stop());

const cfg = (): OpenClawConfig =>
  ({ models: { providers: { p: { baseUrl: `${fake.url}/v1`, api: "openai-completions", retry: { maxAttempts: 1 } } } } }) as OpenClawConfig;

function turn(model: string, fallbacks: string[], lines: string[]) {
  return runTurn({
    config: cfg(),
    store: undefined as never, // persist: false never touches it
    agent: { id: "main", isDefault: true, model, fallbacks },
    sessionKey: "agent:main:t",
    plan: { context: [{ role: "user", content: "hi" }], append: [] },
    persist: false,
    runId: "run-1",
    log: { warn: (m) => lines.push(m) },
  });
}

test("model_not_found is failover-worthy; queue_full and aborts are not", () => {
  expect(isFailoverWorthy(new ProviderError("model_not_found", "x"))).toBe(true);
  expect(isFailoverWorthy(new ProviderError("queue_full", "x"))).toBe(false);
  expect(isFailoverWorthy(new ProviderError("aborted", "x"))).toBe(false);
});

test("a 404 hands over to the fallback; the decision names what took over", async () => {
  const lines: string[] = [];
  const out = await turn("p/status-404", ["p/echo"], lines);
  expect(out.ref).toEqual({ provider: "p", model: "echo" });
  expect(out.result.text).toBe("echo: hi");
  expect(lines).toEqual(["model fallback decision: decision=candidate_failed requested=p/status-404 candidate=p/status-404 reason=model_not_found next=p/echo detail=404 fake upstream says 404"]);
});

test("the final failure: agent end, then the decision with next=none", async () => {
  const lines: string[] = [];
  const err = await turn("p/status-404", ["p/status-429"], lines).catch((e) => e);
  expect(err).toBeInstanceOf(ProviderError);
  expect(err.reason).toBe("rate_limit");
  expect(lines).toEqual([
    "model fallback decision: decision=candidate_failed requested=p/status-404 candidate=p/status-404 reason=model_not_found next=p/status-429 detail=404 fake upstream says 404",
    "embedded run agent end: runId=run-1 isError=true model=status-429 provider=p error=fake upstream says 429 rawError=429 fake upstream says 429",
    "model fallback decision: decision=candidate_failed requested=p/status-404 candidate=p/status-429 reason=rate_limit next=none detail=429 fake upstream says 429",
  ]);
});

test("upstream text in a log line is one bounded line", () => {
  const e = new ProviderError("server_error", `line one\nline two\u0007${"z".repeat(1000)}`, { status: 500 });
  const line = fallbackDecisionLine({ provider: "a", model: "b" }, { provider: "a", model: "b" }, e, undefined);
  expect(line).not.toContain("\n");
  expect(line).toContain("detail=500 line one line two zzz");
  expect(line.length).toBeLessThan(500);
});
