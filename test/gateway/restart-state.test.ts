/**
 * The gateway object outlives its listener: an in-process restart (a port change in hybrid
 * reload mode) keeps the failed-auth lockout, an agent run that is in flight and device pairing.
 */
import { afterAll, expect, test } from "bun:test";
import { freePort } from "../../scripts/lib/proc.ts";
import { GatewayClient, GatewayConnectError } from "../../src/protocol/client.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { deviceSigner, generateDeviceKeys } from "../helpers/device-client.ts";
import { TEST_TOKEN } from "../helpers/gateway.ts";
import { useTestRuntimes } from "../helpers/config-gateway.ts";

const runtimes = useTestRuntimes();
const fake = new FakeUpstream().start();
afterAll(() => fake.stop());

const ORIGIN = "http://locked.example";

function config(port?: number) {
  return {
    gateway: {
      mode: "local",
      ...(port ? { port } : {}),
      auth: { mode: "token", token: TEST_TOKEN, rateLimit: { maxAttempts: 2, windowMs: 600_000, lockoutMs: 600_000, exemptLoopback: true } },
      controlUi: { allowedOrigins: [ORIGIN] },
      reload: { debounceMs: 20 },
    },
    models: { providers: { p: { baseUrl: `${fake.url}/v1`, api: "openai-completions", timeoutSeconds: 120, models: [{ id: "held" }] } } },
    agents: { defaults: { model: "p/held" } },
  };
}

/** A connect from a browser origin on loopback: its failures are counted against the origin, never exempt. */
function connectFromOrigin(url: string, token: string): Promise<GatewayClient> {
  return GatewayClient.connect({ url, token, headers: { Origin: ORIGIN }, scopes: ["operator.read"], connectTimeoutMs: 10_000 });
}

async function refusal(p: Promise<GatewayClient>): Promise<GatewayConnectError> {
  const err = await p.then(
    (c) => {
      void c.close();
      throw new Error("connect unexpectedly succeeded");
    },
    (e) => e,
  );
  expect(err).toBeInstanceOf(GatewayConnectError);
  return err as GatewayConnectError;
}

test("a port change restarts the listener in process: the lockout holds and the in-flight run finishes", async () => {
  const t = await runtimes.start(config());
  const gateway = t.runtime;
  const limiter = gateway.limiter;
  const agents = gateway.agents;

  // An agent run that is waiting on its provider.
  const c = await runtimes.connect(t, { scopes: ["operator.admin"] });
  const accepted = await c.request<any>("agent", { message: "hi across a restart", idempotencyKey: "run-across-restart" });
  expect(accepted).toMatchObject({ runId: "run-across-restart", status: "accepted" });
  expect(await fake.waitFor(() => fake.requests.some((r) => r.body.model === "held"), 10_000)).toBe(true);

  // Two wrong tokens from the browser origin lock it out; the right token is refused now.
  for (let i = 0; i < 2; i++) expect((await refusal(connectFromOrigin(t.url(), "wrong-token"))).detailCode).toBe("AUTH_TOKEN_MISMATCH");
  expect((await refusal(connectFromOrigin(t.url(), TEST_TOKEN))).detailCode).toBe("AUTH_RATE_LIMITED");

  // Restart on another port (the in-process restart of hybrid mode).
  const oldPort = gateway.port;
  const newPort = await freePort();
  const outcome = await t.processed(t.write(config(newPort)));
  expect(outcome.status).toBe("restarted");
  expect(gateway.port).toBe(newPort);
  expect(gateway.port).not.toBe(oldPort);
  expect(gateway.restarts).toBe(1);
  expect((await c.closed).code).toBe(1012);

  // Same gateway object, same limiter and runtime: the lockout still applies on the new listener.
  expect(t.runtime.limiter).toBe(limiter);
  expect(t.runtime.agents).toBe(agents);
  const locked = await refusal(connectFromOrigin(t.url(), TEST_TOKEN));
  expect(locked.detailCode).toBe("AUTH_RATE_LIMITED");

  // The run did not die with the old listener: once the provider answers, it completes.
  expect(agents.runs.get("run-across-restart")?.status).toBe("running");
  const again = await runtimes.connect(t, { scopes: ["operator.admin"] });
  fake.release();
  const waited = await again.request<any>("agent.wait", { runId: "run-across-restart", timeoutMs: 20_000 });
  expect(waited.status).toBe("ok");
  const history = await again.request<any>("chat.history", { sessionKey: "main" });
  expect(history.messages.map((m: any) => m.content[0]?.text)).toEqual(["hi across a restart", "echo: hi across a restart"]);
});

test("device pairing outlives the listener: a pending request survives an in-process restart and is approved after it", async () => {
  const base = { ...config(), gateway: { ...config().gateway, nodes: { pairing: { autoApproveLocal: false } } } };
  const t = await runtimes.start(base);
  const devices = t.runtime.devices;
  const keys = await generateDeviceKeys();
  const ask = () => GatewayClient.connect({ url: t.url(), token: TEST_TOKEN, scopes: ["operator.read"], device: deviceSigner(keys), connectTimeoutMs: 5_000 });
  const requestId = ((await refusal(ask())).extra.error?.details as { requestId: string }).requestId;

  const newPort = await freePort();
  const outcome = await t.processed(t.write({ ...base, gateway: { ...base.gateway, port: newPort } }));
  expect(outcome.status).toBe("restarted");
  expect(t.runtime.devices).toBe(devices);
  expect(devices.store.getPending(requestId)?.deviceId).toBe(keys.deviceId);

  const admin = await runtimes.connect(t, { scopes: ["operator.admin"] });
  expect((await admin.call("device.pair.approve", { requestId })).requestId).toBe(requestId);
  const paired = await ask();
  expect(paired.hello.auth.deviceToken).toEqual(expect.any(String));
  await paired.close();
});
