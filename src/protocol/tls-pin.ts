/**
 * Certificate pinning for `wss://` / `https://` connections to a gateway: the client trusts
 * exactly the certificate whose SHA-256 fingerprint it was given (the local gateway's own
 * certificate, or `gateway.remote.tlsFingerprint`), not the system's CAs and not a host name.
 *
 * Bun's WebSocket and fetch only consult `checkServerIdentity` once the chain verifies, so the
 * server's chain is read first (one TLS handshake, nothing sent), its leaf compared with the
 * pin, and then offered as the trust anchors of the real connection, whose
 * `checkServerIdentity` compares the leaf again: a different certificate on the second
 * handshake fails it. Loaded only when a pinned connection is made.
 */
import { connect as tlsConnect, type PeerCertificate, type DetailedPeerCertificate } from "node:tls";
import { isIP } from "node:net";
import { normalizeTlsFingerprint as normalizeFingerprint } from "./fingerprint.ts";

export class TlsPinError extends Error {
  override name = "TlsPinError";
  constructor(
    message: string,
    /** mismatch: another certificate; handshake: no TLS answer; invalid: the pin itself is malformed. */
    readonly kind: "mismatch" | "handshake" | "invalid",
  ) {
    super(message);
  }
}

export interface PinnedTls {
  ca: string[];
  rejectUnauthorized: true;
  checkServerIdentity(host: string, cert: PeerCertificate): Error | undefined;
}

function pem(der: Buffer): string {
  const b64 = der.toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}

/** The chain the server at `host:port` presents (leaf first), without verifying it. */
export function presentedChain(host: string, port: number, timeoutMs: number): Promise<DetailedPeerCertificate[]> {
  return new Promise((resolve, reject) => {
    const bare = host.replace(/^\[|\]$/g, "");
    const socket = tlsConnect({ host: bare, port, rejectUnauthorized: false, ...(isIP(bare) ? {} : { servername: bare }) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TlsPinError(`TLS handshake with ${host}:${port} timed out after ${timeoutMs}ms`, "handshake"));
    }, timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const chain: DetailedPeerCertificate[] = [];
      let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (cert?.raw && !chain.some((c) => c.fingerprint256 === cert!.fingerprint256)) {
        chain.push(cert);
        cert = cert.issuerCertificate;
      }
      socket.end();
      if (chain.length === 0) reject(new TlsPinError(`${host}:${port} presented no certificate`, "mismatch"));
      else resolve(chain);
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(new TlsPinError(`TLS handshake with ${host}:${port} failed: ${err.message}`, "handshake"));
    });
  });
}

/**
 * `tls` options for Bun's WebSocket / fetch that accept only the certificate pinned by
 * `fingerprint`. Throws TlsPinError when the server presents another one.
 */
export async function pinnedTls(url: string, fingerprint: string, timeoutMs: number): Promise<PinnedTls> {
  const pin = normalizeFingerprint(fingerprint);
  if (!pin) throw new TlsPinError(`invalid TLS fingerprint "${fingerprint}" (expected a SHA-256 fingerprint: 64 hex digits)`, "invalid");
  const u = new URL(url);
  const port = Number(u.port || 443);
  const chain = await presentedChain(u.hostname, port, timeoutMs);
  const seen = normalizeFingerprint(chain[0].fingerprint256);
  if (seen !== pin) throw new TlsPinError(mismatch(pin, seen), "mismatch");
  return {
    ca: chain.map((c) => pem(c.raw)),
    rejectUnauthorized: true,
    // A pin replaces the host-name check: the certificate itself is what is trusted.
    checkServerIdentity: (_host, cert) => {
      const got = normalizeFingerprint(cert.fingerprint256 ?? "");
      return got === pin ? undefined : new TlsPinError(mismatch(pin, got), "mismatch");
    },
  };
}

function mismatch(pin: string, got: string): string {
  return `TLS certificate fingerprint mismatch: expected sha256 ${pin}, the gateway presented sha256 ${got || "(none)"}`;
}
