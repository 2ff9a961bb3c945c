/**
 * Device identity proof on connect (Ed25519).
 *
 *   publicKey  unpadded base64url of the raw 32-byte key (PEM / std base64 tolerated)
 *   device.id  lowercase hex SHA-256 of the raw key
 *   signature  over `v3|deviceId|clientId|clientMode|role|scopesCsv|signedAt|token|nonce|platform|deviceFamily`
 *              or the v2 payload without the last two fields; v3 is tried first.
 *
 * Checks run in the original's order: identity (a key that does not decode counts as an identity
 * mismatch, as on the wire), signature age, nonce present, nonce equal to this socket's
 * challenge, signature. A replayed proof fails the nonce check: every socket gets a fresh nonce.
 */

export const SIGNATURE_MAX_SKEW_MS = 120_000;

export interface DeviceProof {
  id: string;
  publicKey: string;
  signature: string;
  signedAt: number;
  nonce: string;
}

export interface SignedFields {
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  token: string;
  platform?: string;
  deviceFamily?: string;
}

export type DeviceCheck =
  | { ok: true; publicKeyRaw: Buffer; /** canonical unpadded base64url of the raw key */ publicKey: string; version: "v3" | "v2" }
  | { ok: false; message: string; code: string; reason: string };

function decodeB64(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** Raw 32-byte key from base64url, std base64 or an SPKI PEM; undefined when unusable. */
export function rawPublicKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith("-----BEGIN")) {
    const body = trimmed.replace(/-----(BEGIN|END) [A-Z ]+-----/g, "").replace(/\s+/g, "");
    const der = decodeB64(body);
    if (der.length !== 44 || !der.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) return undefined;
    return der.subarray(12);
  }
  const raw = decodeB64(trimmed);
  return raw.length === 32 ? raw : undefined;
}

const norm = (v: string | undefined) => (v ?? "").trim().replace(/[A-Z]/g, (c) => c.toLowerCase());

export function signaturePayload(version: "v3" | "v2", device: Pick<DeviceProof, "id" | "signedAt" | "nonce">, f: SignedFields): string {
  const base = [version, device.id, f.clientId, f.clientMode, f.role, f.scopes.join(","), String(device.signedAt), f.token, device.nonce];
  if (version === "v3") base.push(norm(f.platform), norm(f.deviceFamily));
  return base.join("|");
}

export function deviceIdOf(raw: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(raw).digest("hex");
}

export async function verifyDevice(
  device: DeviceProof,
  fields: SignedFields,
  expectedNonce: string,
  now = Date.now(),
): Promise<DeviceCheck> {
  const raw = rawPublicKey(device.publicKey);
  if (!raw || deviceIdOf(raw) !== device.id) {
    return { ok: false, message: "device identity mismatch", code: "DEVICE_AUTH_DEVICE_ID_MISMATCH", reason: "device-id-mismatch" };
  }
  if (typeof device.signedAt !== "number" || !Number.isFinite(device.signedAt) || Math.abs(now - device.signedAt) > SIGNATURE_MAX_SKEW_MS) {
    return { ok: false, message: "device signature expired", code: "DEVICE_AUTH_SIGNATURE_EXPIRED", reason: "device-signature-stale" };
  }
  const nonce = typeof device.nonce === "string" ? device.nonce.trim() : "";
  if (nonce === "") {
    return { ok: false, message: "device nonce required", code: "DEVICE_AUTH_NONCE_REQUIRED", reason: "device-nonce-missing" };
  }
  if (nonce !== expectedNonce) {
    return { ok: false, message: "device nonce mismatch", code: "DEVICE_AUTH_NONCE_MISMATCH", reason: "device-nonce-mismatch" };
  }
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("raw", new Uint8Array(raw), { name: "Ed25519" }, false, ["verify"]);
  } catch {
    return { ok: false, message: "device public key invalid", code: "DEVICE_AUTH_PUBLIC_KEY_INVALID", reason: "device-public-key" };
  }
  const signature = decodeB64(device.signature);
  if (signature.length === 64) {
    const proof = { id: device.id, signedAt: device.signedAt, nonce };
    for (const version of ["v3", "v2"] as const) {
      const payload = new TextEncoder().encode(signaturePayload(version, proof, fields));
      try {
        if (await crypto.subtle.verify({ name: "Ed25519" }, key, new Uint8Array(signature), payload)) {
          return { ok: true, publicKeyRaw: raw, publicKey: raw.toString("base64url"), version };
        }
      } catch {
        // fall through to the next payload version
      }
    }
  }
  return { ok: false, message: "device signature invalid", code: "DEVICE_AUTH_SIGNATURE_INVALID", reason: "device-signature" };
}
