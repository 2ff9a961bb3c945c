/**
 * The browser's device identity: an Ed25519 key pair kept in localStorage under the same key
 * and format as the official Control UI (`openclaw-device-identity-v1`:
 * `{version:1, deviceId, publicKey, privateKey, createdAtMs}`, keys as unpadded base64url of
 * the raw 32-byte public key and 32-byte seed), so both UIs on one origin are one device.
 *
 * Signing prefers WebCrypto Ed25519 (the seed is imported as PKCS#8) and falls back to the
 * BigInt implementation in ./ed25519.ts. The device id is the hex SHA-256 of the public key.
 */
import * as ed from "./ed25519.ts";
import { digest } from "./sha2.ts";

export const IDENTITY_KEY = "openclaw-device-identity-v1";

export interface DeviceIdentity {
  deviceId: string;
  /** base64url, raw 32 bytes */
  publicKey: string;
  /** base64url, the 32-byte seed */
  privateKey: string;
}

interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export function toBase64Url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** DER header of a PKCS#8 Ed25519 private key; the 32-byte seed follows it. */
const PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

function pkcs8(seed: Uint8Array): Uint8Array {
  const out = new Uint8Array(PKCS8_PREFIX.length + 32);
  out.set(PKCS8_PREFIX);
  out.set(seed, PKCS8_PREFIX.length);
  return out;
}

const sha512 = (data: Uint8Array) => digest("SHA-512", data);

/** Which implementation signed last ("webcrypto" or "fallback"); shown on the status page. */
export let signer: "webcrypto" | "fallback" | "none" = "none";

let webCryptoEd25519: boolean | undefined;

async function importSeed(seed: Uint8Array, extractable: boolean): Promise<CryptoKey | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle || webCryptoEd25519 === false) return undefined;
  try {
    const key = await subtle.importKey("pkcs8", pkcs8(seed) as BufferSource, { name: "Ed25519" }, extractable, ["sign"]);
    webCryptoEd25519 = true;
    return key;
  } catch {
    webCryptoEd25519 = false;
    return undefined;
  }
}

/** The public key for a seed: WebCrypto (private JWK carries `x`) or the fallback. */
export async function publicKeyOf(seed: Uint8Array, opts: { forceFallback?: boolean } = {}): Promise<Uint8Array> {
  const key = opts.forceFallback ? undefined : await importSeed(seed, true);
  if (key) {
    const jwk = await globalThis.crypto.subtle.exportKey("jwk", key);
    if (jwk.x) return fromBase64Url(jwk.x);
  }
  return ed.getPublicKey(seed, sha512);
}

/** Sign UTF-8 text with a seed; returns the signature as base64url. */
export async function signText(privateKey: string, text: string, opts: { forceFallback?: boolean } = {}): Promise<string> {
  const seed = fromBase64Url(privateKey);
  const message = new TextEncoder().encode(text);
  const key = opts.forceFallback ? undefined : await importSeed(seed, false);
  if (key) {
    signer = "webcrypto";
    return toBase64Url(new Uint8Array(await globalThis.crypto.subtle.sign({ name: "Ed25519" }, key, message as BufferSource)));
  }
  signer = "fallback";
  return toBase64Url(await ed.sign(seed, message, sha512));
}

export async function deviceIdOf(publicKey: Uint8Array): Promise<string> {
  return hex(await digest("SHA-256", publicKey));
}

export async function createIdentity(opts: { forceFallback?: boolean } = {}): Promise<DeviceIdentity> {
  const seed = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const pub = await publicKeyOf(seed, opts);
  return { deviceId: await deviceIdOf(pub), publicKey: toBase64Url(pub), privateKey: toBase64Url(seed) };
}

let pending: Promise<DeviceIdentity> | undefined;

/**
 * The stored identity (its device id re-derived if it does not match its key), or a new one,
 * stored. Without storage the identity lives for this page only.
 */
export function loadIdentity(store: KeyValueStore | undefined, opts: { forceFallback?: boolean } = {}): Promise<DeviceIdentity> {
  pending ??= (async () => {
    try {
      const raw = store?.getItem(IDENTITY_KEY);
      const parsed = raw ? JSON.parse(raw) : undefined;
      if (parsed?.version === 1 && typeof parsed.publicKey === "string" && typeof parsed.privateKey === "string") {
        const id = await deviceIdOf(fromBase64Url(parsed.publicKey));
        if (id !== parsed.deviceId) store?.setItem(IDENTITY_KEY, JSON.stringify({ ...parsed, deviceId: id }));
        return { deviceId: id, publicKey: parsed.publicKey, privateKey: parsed.privateKey };
      }
    } catch {
      // unreadable: make a new one
    }
    const fresh = await createIdentity(opts);
    try {
      store?.setItem(IDENTITY_KEY, JSON.stringify({ version: 1, ...fresh, createdAtMs: Date.now() }));
    } catch {
      // storage full or blocked: this page keeps the identity in memory
    }
    return fresh;
  })();
  return pending;
}
