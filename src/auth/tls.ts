/**
 * Gateway TLS material (`gateway.tls`): load `certPath` / `keyPath` / `caPath`, or generate a
 * self-signed pair in the state dir when both files are missing and `autoGenerate` is not
 * false (the original's default is true), and the certificate's SHA-256 fingerprint as the
 * original spells it (64 lowercase hex digits, the value of the Bonjour TXT `gatewayTlsSha256`
 * and of `gateway.remote.tlsFingerprint` pins).
 *
 * Defaults as in the original: `<stateDir>/gateway/tls/gateway-cert.pem` and `gateway-key.pem`.
 * A partial pair (one file present) is never completed or overwritten: the gateway refuses to
 * start (TlsSetupError) rather than serve plaintext when TLS was asked for.
 *
 * The generated certificate is ours, written without openssl: an ECDSA P-256 key from WebCrypto
 * and a small DER encoder for the X.509 v3 structure (subject and issuer CN=openclaw-gateway,
 * 10 years like the original's, basicConstraints CA so it can be trusted as its own anchor,
 * serverAuth, and subjectAltName localhost, the host name, `<host>.local`, 127.0.0.1 and ::1).
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { link, mkdir, open, readFile, rm, stat } from "node:fs/promises";
import { hostname as osHostname, homedir } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { normalizeTlsFingerprint } from "../protocol/fingerprint.ts";

export interface TlsConfig {
  enabled?: boolean;
  autoGenerate?: boolean;
  certPath?: string;
  keyPath?: string;
  caPath?: string;
}

export interface GatewayTlsMaterial {
  enabled: true;
  /** PEM text, ready for `Bun.serve({ tls: { cert, key, ca } })`. */
  cert: string;
  key: string;
  ca?: string;
  certPath: string;
  keyPath: string;
  caPath?: string;
  /** SHA-256 of the certificate's DER bytes, 64 lowercase hex digits. */
  fingerprintSha256: string;
  /** This call generated the pair. */
  generated: boolean;
  notBefore: Date;
  notAfter: Date;
  /** As `openssl x509 -text` words it, e.g. `DNS:localhost, IP Address:127.0.0.1`. */
  subjectAltName?: string;
}

export type GatewayTls = { enabled: false } | GatewayTlsMaterial;

/** TLS was asked for and cannot be served: the gateway must refuse to start. */
export class TlsSetupError extends Error {
  override name = "TlsSetupError";
}

const MAX_PEM_BYTES = 65_536;
export const GENERATED_VALIDITY_DAYS = 3650;
export const GENERATED_COMMON_NAME = "openclaw-gateway";

function expandHome(path: string, home: string): string {
  if (path === "~") return home;
  if (path.startsWith("~/")) return join(home, path.slice(2));
  return path;
}

/** Where the files are: configured paths (`~` expanded, relative to the state dir), else the defaults. */
export function resolveTlsPaths(tls: TlsConfig | undefined, stateDir: string, home = homedir()): { certPath: string; keyPath: string; caPath?: string } {
  const base = join(stateDir, "gateway", "tls");
  const pick = (p: string | undefined, fallback: string) => {
    const t = p?.trim();
    if (!t) return fallback;
    const expanded = expandHome(t, home);
    return isAbsolute(expanded) ? expanded : resolve(stateDir, expanded);
  };
  const caPath = tls?.caPath?.trim() ? pick(tls.caPath, "") : undefined;
  return { certPath: pick(tls?.certPath, join(base, "gateway-cert.pem")), keyPath: pick(tls?.keyPath, join(base, "gateway-key.pem")), ...(caPath ? { caPath } : {}) };
}

export { normalizeTlsFingerprint };

/** The fingerprint of a PEM certificate (the first one in the text). */
export function certificateFingerprint(certPem: string): string {
  return normalizeTlsFingerprint(new X509Certificate(certPem).fingerprint256);
}

// --- DER ------------------------------------------------------------------------------------

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(parts.reduce((n, p) => n + p.length, 0)));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One TLV: tag byte, length, contents. */
export function der(tag: number, ...contents: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const body = concat(contents);
  return concat([Uint8Array.of(tag), derLength(body.length), body]);
}

const seq = (...c: Uint8Array[]): Uint8Array<ArrayBuffer> => der(0x30, ...c);
const set = (...c: Uint8Array[]) => der(0x31, ...c);
const explicit = (n: number, ...c: Uint8Array[]) => der(0xa0 | n, ...c);

/** A non-negative INTEGER from big-endian magnitude bytes (minimal, sign bit kept clear). */
export function derUnsigned(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.slice(i);
  return der(0x02, trimmed[0] & 0x80 ? concat([Uint8Array.of(0), trimmed]) : trimmed);
}

const derSmallInt = (n: number) => derUnsigned(Uint8Array.of(n));

export function derOid(oid: string): Uint8Array {
  const parts = oid.split(".").map(Number);
  const out: number[] = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return der(0x06, Uint8Array.from(out));
}

const utf8 = (s: string) => der(0x0c, new TextEncoder().encode(s));
const bitString = (bytes: Uint8Array) => der(0x03, Uint8Array.of(0), bytes);
const octets = (bytes: Uint8Array) => der(0x04, bytes);
const boolTrue = der(0x01, Uint8Array.of(0xff));

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
export function derTime(d: Date): Uint8Array {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const tail = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  if (y < 2050) return der(0x17, new TextEncoder().encode(`${p(y % 100)}${tail}`));
  return der(0x18, new TextEncoder().encode(`${p(y, 4)}${tail}`));
}

const OID = {
  commonName: "2.5.4.3",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyIdentifier: "2.5.29.14",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(derOid(oid), boolTrue, octets(value)) : seq(derOid(oid), octets(value));
}

/** 4 or 16 address bytes of an IP literal; undefined for anything else. */
export function ipBytes(ip: string): Uint8Array | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) {
    const parts = ip.split(".").map(Number);
    return parts.every((n) => n <= 255) ? Uint8Array.from(parts) : undefined;
  }
  if (!ip.includes(":")) return undefined;
  const [head, tail, extra] = ip.split("::");
  if (extra !== undefined) return undefined;
  const group = (s: string) => (s ? s.split(":") : []);
  const h = group(head);
  const t = tail === undefined ? [] : group(tail);
  const missing = 8 - h.length - t.length;
  if ((tail === undefined && missing !== 0) || missing < 0) return undefined;
  const words = [...h, ...Array(tail === undefined ? 0 : missing).fill("0"), ...t];
  if (words.length !== 8 || !words.every((w) => /^[0-9a-f]{1,4}$/i.test(w))) return undefined;
  return Uint8Array.from(words.flatMap((w) => [parseInt(w, 16) >> 8, parseInt(w, 16) & 0xff]));
}

/** Certificate SANs: `localhost`, the host name (and `<host>.local`), 127.0.0.1 and ::1, plus extras. */
export function defaultSubjectAltNames(host = osHostname(), extra: string[] = []): string[] {
  const names = ["localhost"];
  const h = host.trim().toLowerCase();
  if (h && h !== "localhost" && /^[a-z0-9.-]+$/.test(h)) {
    names.push(h);
    if (!h.includes(".")) names.push(`${h}.local`);
  }
  return [...new Set([...names, "127.0.0.1", "::1", ...extra])];
}

function generalNames(names: string[]): Uint8Array {
  return seq(
    ...names.map((n) => {
      const ip = ipBytes(n);
      return ip ? der(0x87, ip) : der(0x82, new TextEncoder().encode(n));
    }),
  );
}

/** WebCrypto's raw `r || s` ECDSA signature as the DER `Ecdsa-Sig-Value` X.509 wants. */
function ecdsaSignatureDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return seq(derUnsigned(raw.slice(0, half)), derUnsigned(raw.slice(half)));
}

function pem(label: string, bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString("base64");
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END ${label}-----\n`;
}

export interface GeneratedPair {
  certPem: string;
  keyPem: string;
  fingerprintSha256: string;
}

/** A self-signed ECDSA P-256 certificate and its PKCS#8 key. */
export async function generateSelfSigned(opts: { hostname?: string; altNames?: string[]; now?: Date; days?: number } = {}): Promise<GeneratedPair> {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const rawPublic = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
  const ski = new Uint8Array(await crypto.subtle.digest("SHA-1", rawPublic));
  const now = opts.now ?? new Date();
  // An hour of slack for clocks that are a little behind.
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 3_600_000);
  const notAfter = new Date(notBefore.getTime() + (opts.days ?? GENERATED_VALIDITY_DAYS) * 86_400_000);
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  if (serial[0] === 0) serial[0] = 1;
  const name = seq(set(seq(derOid(OID.commonName), utf8(GENERATED_COMMON_NAME))));
  const algorithm = seq(derOid(OID.ecdsaWithSha256));
  const extensions = seq(
    extension(OID.basicConstraints, true, seq(boolTrue)),
    // digitalSignature (bit 0) and keyCertSign (bit 5): 0b10000100, 2 unused bits.
    extension(OID.keyUsage, true, der(0x03, Uint8Array.of(2, 0x84))),
    extension(OID.extKeyUsage, false, seq(derOid(OID.serverAuth))),
    extension(OID.subjectKeyIdentifier, false, octets(ski)),
    extension(OID.subjectAltName, false, generalNames(opts.altNames ?? defaultSubjectAltNames(opts.hostname))),
  );
  const tbs = seq(explicit(0, derSmallInt(2)), derUnsigned(serial), algorithm, name, seq(derTime(notBefore), derTime(notAfter)), name, spki, explicit(3, extensions));
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, tbs));
  const cert = seq(tbs, algorithm, bitString(ecdsaSignatureDer(signature)));
  const fingerprint = Buffer.from(await crypto.subtle.digest("SHA-256", cert)).toString("hex");
  return { certPem: pem("CERTIFICATE", cert), keyPem: pem("PRIVATE KEY", pkcs8), fingerprintSha256: fingerprint };
}

// --- files ----------------------------------------------------------------------------------

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readBounded(path: string): Promise<string> {
  const info = await stat(path);
  if (info.size > MAX_PEM_BYTES) throw new Error(`${path} is larger than ${MAX_PEM_BYTES} bytes`);
  return readFile(path, "utf8");
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const h = await open(dir, "r");
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // not supported everywhere
  }
}

/** Write `text` to `path` 0600 only if `path` does not exist (staged, then hard-linked: never clobbers). */
async function publishNoClobber(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  const h = await open(tmp, "wx", 0o600);
  try {
    await h.writeFile(text, "utf8");
    await h.chmod(0o600);
    await h.sync();
  } finally {
    await h.close();
  }
  try {
    await link(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  await fsyncDir(dir);
}

/**
 * Load (or first generate) the gateway's TLS material. `{enabled:false}` when TLS is off;
 * throws TlsSetupError when it is on and cannot be served (never a silent downgrade).
 */
export async function loadGatewayTls(
  tls: TlsConfig | undefined,
  opts: { stateDir: string; home?: string; hostname?: string; log?: { info(message: string): void }; now?: Date },
): Promise<GatewayTls> {
  if (!tls || tls.enabled !== true) return { enabled: false };
  const { certPath, keyPath, caPath } = resolveTlsPaths(tls, opts.stateDir, opts.home);
  const hasCert = await exists(certPath);
  const hasKey = await exists(keyPath);
  let generated = false;
  if (!hasCert && !hasKey && tls.autoGenerate !== false) {
    try {
      const pair = await generateSelfSigned({ hostname: opts.hostname, now: opts.now });
      await publishNoClobber(keyPath, pair.keyPem);
      await publishNoClobber(certPath, pair.certPem);
      generated = true;
      opts.log?.info(`gateway tls: generated self-signed cert at ${certPath} (sha256 ${pair.fingerprintSha256})`);
    } catch (err) {
      throw new TlsSetupError(`gateway tls: failed to generate cert (${(err as Error).message ?? err})`);
    }
  }
  if (!(await exists(certPath)) || !(await exists(keyPath))) {
    const missing = [!(await exists(certPath)) ? certPath : undefined, !(await exists(keyPath)) ? keyPath : undefined].filter(Boolean).join(", ");
    const why = tls.autoGenerate === false ? "gateway.tls.autoGenerate is false" : "a partial pair is never completed";
    throw new TlsSetupError(`gateway tls: cert/key missing (${missing}; ${why})`);
  }
  let cert: string;
  let key: string;
  let ca: string | undefined;
  let x509: X509Certificate;
  try {
    cert = await readBounded(certPath);
    key = await readBounded(keyPath);
    ca = caPath ? await readFile(caPath, "utf8") : undefined;
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new TlsSetupError(`gateway tls: failed to load cert (${(err as Error).message ?? err})`);
  }
  let matches = false;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new TlsSetupError(`gateway tls: failed to load key ${keyPath} (${(err as Error).message ?? err})`);
  }
  if (!matches) throw new TlsSetupError(`gateway tls: ${keyPath} is not the key of ${certPath}`);
  const fingerprintSha256 = normalizeTlsFingerprint(x509.fingerprint256);
  if (!fingerprintSha256) throw new TlsSetupError("gateway tls: unable to compute certificate fingerprint");
  return {
    enabled: true,
    cert,
    key,
    ...(ca !== undefined ? { ca } : {}),
    certPath,
    keyPath,
    ...(caPath ? { caPath } : {}),
    fingerprintSha256,
    generated,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    ...(x509.subjectAltName ? { subjectAltName: x509.subjectAltName } : {}),
  };
}

/**
 * The public side only (for `gateway status`, `probe`, the beacon): the fingerprint of the
 * certificate the gateway serves, without reading the key or generating anything.
 */
export async function inspectGatewayCertificate(tls: TlsConfig | undefined, stateDir: string, home?: string): Promise<{ ok: true; fingerprintSha256: string; certPath: string } | { ok: false; error: string }> {
  if (!tls || tls.enabled !== true) return { ok: false, error: "gateway tls is disabled" };
  const { certPath } = resolveTlsPaths(tls, stateDir, home);
  try {
    return { ok: true, fingerprintSha256: certificateFingerprint(await readBounded(certPath)), certPath };
  } catch (err) {
    return { ok: false, error: `gateway tls: failed to load cert (${(err as Error).message ?? err})` };
  }
}
