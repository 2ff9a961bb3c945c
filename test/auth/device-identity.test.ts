/**
 * The device proof, checked with an independent Ed25519 client (test/helpers/device-client.ts
 * builds and signs its own v2/v3 payloads): every row of the protocol spec's device-auth table.
 */
import { describe, expect, test } from "bun:test";
import { deviceIdOf, rawPublicKey, signaturePayload, verifyDevice, type SignedFields } from "../../src/auth/device-identity.ts";
import { b64url, buildConnectParams, generateDeviceKeys, payloadString } from "../helpers/device-client.ts";

const challenge = () => ({ nonce: crypto.randomUUID(), ts: Date.now() });

async function check(opts: Parameters<typeof buildConnectParams>[0], c = challenge(), expectedNonce = c.nonce, now = c.ts) {
  const p = await buildConnectParams(opts, c);
  const fields: SignedFields = {
    clientId: p.client.id,
    clientMode: p.client.mode,
    role: p.role,
    scopes: p.scopes ?? [],
    token: p.auth?.token ?? p.auth?.deviceToken ?? p.auth?.bootstrapToken ?? "",
    platform: p.client.platform,
    deviceFamily: p.client.deviceFamily,
  };
  return verifyDevice(p.device, fields, expectedNonce, now);
}

describe("device proof", async () => {
  const keys = await generateDeviceKeys();
  const other = await generateDeviceKeys();
  const base = { keys, scopes: ["operator.read", "operator.write"], auth: { token: "tok" } };

  test("v3 and v2 signatures over the challenge verify; v3 is preferred", async () => {
    expect(await check(base)).toMatchObject({ ok: true, version: "v3", publicKey: keys.publicKey });
    expect(await check({ ...base, sign: "v2" })).toMatchObject({ ok: true, version: "v2" });
  });

  test("our payload strings are byte-identical to the independent client's", () => {
    const proof = { id: keys.deviceId, signedAt: 1737264000000, nonce: "n-1" };
    const fields = { clientId: "cli", clientMode: "cli", role: "operator", scopes: ["operator.read", "operator.write"], token: "tok", platform: " Darwin ", deviceFamily: "Mac" };
    for (const v of ["v2", "v3"] as const) {
      expect(signaturePayload(v, proof, fields)).toBe(payloadString(v, { ...fields, deviceId: proof.id, signedAt: proof.signedAt, nonce: proof.nonce }));
    }
    expect(signaturePayload("v3", proof, fields)).toBe(`v3|${keys.deviceId}|cli|cli|operator|operator.read,operator.write|1737264000000|tok|n-1|darwin|mac`);
  });

  test("the public key is accepted as base64url, standard base64 or an SPKI PEM", async () => {
    const std = Buffer.from(keys.publicKeyRaw).toString("base64");
    const der = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(keys.publicKeyRaw)]);
    const pem = `-----BEGIN PUBLIC KEY-----\n${der.toString("base64")}\n-----END PUBLIC KEY-----\n`;
    for (const text of [keys.publicKey, std, pem]) {
      expect(rawPublicKey(text)?.equals(Buffer.from(keys.publicKeyRaw))).toBe(true);
      expect(await check({ ...base, tamper: { publicKey: text } })).toMatchObject({ ok: true, publicKey: keys.publicKey });
    }
    expect(deviceIdOf(keys.publicKeyRaw)).toBe(keys.deviceId);
  });

  const rows: Array<[string, Parameters<typeof buildConnectParams>[0]["tamper"], string, string, string]> = [
    ["id not derived from the key", { deviceId: other.deviceId }, "device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH", "device-id-mismatch"],
    ["a key that does not decode (captured: an identity mismatch)", { publicKey: "AAAA" }, "device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH", "device-id-mismatch"],
    ["an upper-case id", { deviceId: keys.deviceId.toUpperCase() }, "device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH", "device-id-mismatch"],
    ["signedAt 121 s in the past", { signedAt: Date.now() - 121_000 }, "device signature expired", "DEVICE_AUTH_SIGNATURE_EXPIRED", "device-signature-stale"],
    ["signedAt 121 s in the future", { signedAt: Date.now() + 121_000 }, "device signature expired", "DEVICE_AUTH_SIGNATURE_EXPIRED", "device-signature-stale"],
    ["a blank nonce", { nonce: "  " }, "device nonce required", "DEVICE_AUTH_NONCE_REQUIRED", "device-nonce-missing"],
    ["another socket's nonce (a replay)", { nonce: crypto.randomUUID() }, "device nonce mismatch", "DEVICE_AUTH_NONCE_MISMATCH", "device-nonce-mismatch"],
    ["a forged signature", { signature: b64url(new Uint8Array(64).fill(7)) }, "device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID", "device-signature"],
    ["a signature of the wrong length", { signature: "abc" }, "device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID", "device-signature"],
    ["signed by another key", { publicKey: other.publicKey, deviceId: other.deviceId }, "device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID", "device-signature"],
    ["signed over other scopes", { signedFields: { scopes: ["operator.admin"] } }, "device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID", "device-signature"],
    ["signed over another token", { signedFields: { token: "other" } }, "device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID", "device-signature"],
    ["v3 signed over another platform", { signedFields: { platform: "windows" } }, "device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID", "device-signature"],
  ];
  for (const [name, tamper, message, code, reason] of rows) {
    test(`${name} → ${code}`, async () => {
      expect(await check({ ...base, tamper })).toEqual({ ok: false, message, code, reason });
    });
  }

  test("a proof replayed on a new socket fails: the nonce is per socket", async () => {
    const first = challenge();
    const params = await buildConnectParams(base, first);
    const fields: SignedFields = { clientId: "cli", clientMode: "cli", role: "operator", scopes: base.scopes, token: "tok", platform: "linux", deviceFamily: "Linux" };
    expect((await verifyDevice(params.device, fields, first.nonce, first.ts)).ok).toBe(true);
    expect(await verifyDevice(params.device, fields, crypto.randomUUID(), first.ts)).toMatchObject({ code: "DEVICE_AUTH_NONCE_MISMATCH" });
  });

  test("32 bytes that are no key of the signer cannot pass: the signature check fails", async () => {
    const raw = new Uint8Array(32).fill(0xff);
    expect(await check({ ...base, tamper: { publicKey: b64url(raw), deviceId: deviceIdOf(raw) } })).toMatchObject({
      ok: false,
      code: "DEVICE_AUTH_SIGNATURE_INVALID",
    });
  });
});
