/**
 * The dashboard's own Ed25519 (BigInt) and SHA-2 fallbacks against RFC 8032's test vectors,
 * node:crypto and WebCrypto; and the device identity format against the gateway's verifier.
 */
import { describe, expect, test } from "bun:test";
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { signaturePayload, verifyDevice } from "../../src/auth/device-identity.ts";
import * as ed from "../../src/ui/app/crypto/ed25519.ts";
import { createIdentity, deviceIdOf, fromBase64Url, loadIdentity, publicKeyOf, signText, toBase64Url, IDENTITY_KEY } from "../../src/ui/app/crypto/identity.ts";
import { sha256, sha512 } from "../../src/ui/app/crypto/sha2.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));

/** RFC 8032 §7.1: TEST 1, 2, 3, 1024 and SHA(abc). */
const VECTORS = [
  {
    name: "TEST 1 (empty message)",
    secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature:
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    name: "TEST 2 (one byte)",
    secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature:
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    name: "TEST 3 (two bytes)",
    secret: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    public: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    message: "af82",
    signature:
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
  {
    name: "TEST SHA(abc)",
    secret: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
    public: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
    message:
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    signature:
      "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
  },
];

describe("Ed25519 fallback", () => {
  for (const v of VECTORS) {
    test(`RFC 8032 ${v.name}`, async () => {
      const seed = unhex(v.secret);
      expect(hex(await ed.getPublicKey(seed))).toBe(v.public);
      const sig = await ed.sign(seed, unhex(v.message));
      expect(hex(sig)).toBe(v.signature);
      expect(await ed.verify(unhex(v.public), unhex(v.message), sig)).toBe(true);
    });
  }

  test("agrees with node:crypto and WebCrypto on random keys and messages", async () => {
    for (let i = 0; i < 8; i++) {
      const seed = crypto.getRandomValues(new Uint8Array(32));
      const message = crypto.getRandomValues(new Uint8Array(i * 37));
      const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
      const nodeKey = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
      const nodePub = createPublicKey(nodeKey).export({ format: "der", type: "spki" }).subarray(12);
      const ours = await ed.getPublicKey(seed);
      expect(hex(ours)).toBe(hex(nodePub));
      const sig = await ed.sign(seed, message);
      // Ed25519 is deterministic: every implementation produces the same bytes.
      expect(hex(sig)).toBe(hex(nodeSign(null, message, nodeKey)));
      const webKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
      expect(hex(sig)).toBe(hex(new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, webKey, message))));
      expect(nodeVerify(null, message, createPublicKey(nodeKey), sig)).toBe(true);
      expect(await ed.verify(ours, message, sig)).toBe(true);
    }
  });

  test("verify rejects a tampered message, signature or key", async () => {
    const seed = unhex(VECTORS[1].secret);
    const pub = await ed.getPublicKey(seed);
    const sig = await ed.sign(seed, unhex("72"));
    expect(await ed.verify(pub, unhex("73"), sig)).toBe(false);
    const badSig = sig.slice();
    badSig[5] ^= 1;
    expect(await ed.verify(pub, unhex("72"), badSig)).toBe(false);
    const highS = sig.slice();
    highS[63] |= 0xf0; // s ≥ L is malleable and refused
    expect(await ed.verify(pub, unhex("72"), highS)).toBe(false);
    expect(await ed.verify(unhex(VECTORS[0].public), unhex("72"), sig)).toBe(false);
    expect(await ed.verify(pub, unhex("72"), sig.slice(0, 63))).toBe(false);
    expect(await ed.verify(new Uint8Array(32).fill(0xff), unhex("72"), sig)).toBe(false);
  });

  test("a seed that is not 32 bytes is refused", async () => {
    await expect(ed.getPublicKey(new Uint8Array(31))).rejects.toThrow("32 bytes");
    await expect(ed.sign(new Uint8Array(33), new Uint8Array())).rejects.toThrow("32 bytes");
  });
});

describe("SHA-2 fallback", () => {
  test("matches node:crypto across block boundaries", () => {
    for (const n of [0, 1, 3, 55, 56, 63, 64, 65, 111, 112, 119, 127, 128, 129, 255, 1000]) {
      const data = crypto.getRandomValues(new Uint8Array(n));
      expect(hex(sha256(data))).toBe(createHash("sha256").update(data).digest("hex"));
      expect(hex(sha512(data))).toBe(createHash("sha512").update(data).digest("hex"));
    }
  });

  test("known answers for 'abc'", () => {
    const abc = new TextEncoder().encode("abc");
    expect(hex(sha256(abc))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hex(sha512(abc))).toStartWith("ddaf35a193617abacc417349ae204131");
  });
});

describe("device identity", () => {
  test("WebCrypto and the fallback derive the same key and signature", async () => {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    expect(hex(await publicKeyOf(seed))).toBe(hex(await publicKeyOf(seed, { forceFallback: true })));
    const text = "v2|dev|openclaw-control-ui|webchat|operator|operator.read|1|tok|nonce";
    expect(await signText(toBase64Url(seed), text)).toBe(await signText(toBase64Url(seed), text, { forceFallback: true }));
  });

  test("the gateway accepts a connect proof signed by the fallback (v2 payload, challenge ts)", async () => {
    const identity = await createIdentity({ forceFallback: true });
    expect(identity.deviceId).toBe(await deviceIdOf(fromBase64Url(identity.publicKey)));
    const nonce = crypto.randomUUID();
    const signedAt = Date.now();
    const fields = { clientId: "openclaw-control-ui", clientMode: "webchat", role: "operator", scopes: ["operator.admin", "operator.read"], token: "secret-token" };
    const payload = signaturePayload("v2", { id: identity.deviceId, signedAt, nonce }, fields);
    const signature = await signText(identity.privateKey, payload, { forceFallback: true });
    const check = await verifyDevice({ id: identity.deviceId, publicKey: identity.publicKey, signature, signedAt, nonce }, fields, nonce);
    expect(check).toMatchObject({ ok: true, version: "v2" });
    const wrongNonce = await verifyDevice({ id: identity.deviceId, publicKey: identity.publicKey, signature, signedAt, nonce }, fields, "other");
    expect(wrongNonce.ok).toBe(false);
    const otherToken = await verifyDevice({ id: identity.deviceId, publicKey: identity.publicKey, signature, signedAt, nonce }, { ...fields, token: "x" }, nonce);
    expect(otherToken.ok).toBe(false);
  });

  test("loadIdentity keeps upstream's storage format and repairs a wrong device id", async () => {
    const store = new Map<string, string>();
    const kv = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const pub = await publicKeyOf(seed);
    store.set(IDENTITY_KEY, JSON.stringify({ version: 1, deviceId: "stale", publicKey: toBase64Url(pub), privateKey: toBase64Url(seed), createdAtMs: 1 }));
    const id = await loadIdentity(kv);
    expect(id.deviceId).toBe(hex(sha256(pub)));
    const saved = JSON.parse(store.get(IDENTITY_KEY)!);
    expect(saved).toMatchObject({ version: 1, deviceId: id.deviceId, publicKey: toBase64Url(pub), privateKey: toBase64Url(seed), createdAtMs: 1 });
    expect(toBase64Url(fromBase64Url(saved.publicKey))).toBe(saved.publicKey);
    expect(saved.publicKey).not.toMatch(/[=+/]/);
  });
});
