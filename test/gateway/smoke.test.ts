import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connectRaw, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.stop();
});

describe("smoke", () => {
  test("connect and health", async () => {
    const { peer, challenge, res } = await connectRaw(gw.url);
    expect(challenge.event).toBe("connect.challenge");
    expect(res.ok).toBe(true);
    peer.send({ type: "req", id: "h", method: "health" });
    const h = await peer.frame();
    expect(h.ok).toBe(true);
    expect(h.payload.ok).toBe(true);
    peer.close();
  });
});
