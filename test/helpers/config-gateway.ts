/**
 * Per-file bookkeeping for tests that drive in-process config runtimes: `start` and `connect`
 * remember what they opened, and an `afterEach` closes the clients and stops the runtimes.
 */
import { afterEach } from "bun:test";
import type { GatewayClient } from "../../src/protocol/client.ts";
import { baseConfig, startTestRuntime, type TestRuntime } from "./runtime.ts";

export function useTestRuntimes(): {
  start(config?: unknown, opts?: Parameters<typeof startTestRuntime>[0]): Promise<TestRuntime>;
  connect(t: TestRuntime, opts?: { token?: string; scopes?: string[] }): Promise<GatewayClient>;
} {
  const running: TestRuntime[] = [];
  const clients: GatewayClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
    for (const t of running.splice(0)) await t.stop();
  });
  return {
    async start(config = baseConfig(), opts = {}) {
      const t = await startTestRuntime({ config, ...opts });
      running.push(t);
      return t;
    },
    async connect(t, opts = {}) {
      const c = await t.connect(opts);
      clients.push(c);
      return c;
    },
  };
}
