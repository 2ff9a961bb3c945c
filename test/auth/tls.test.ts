/**
 * Gateway TLS material: generation without openssl (checked with openssl when present, and by
 * serving real HTTPS with Bun.serve to a fetch that trusts only that certificate), loading of
 * configured files (an openssl-made RSA pair too), the refusals, and the fingerprint format.
 */
import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  certificateFingerprint,
  defaultSubjectAltNames,
  der,
  derOid,
  derTime,
  derUnsigned,
  generateSelfSigned,
  inspectGatewayCertificate,
  ipBytes,
  loadGatewayTls,
  normalizeTlsFingerprint,
  resolveTlsPaths,
  TlsSetupError,
  type GatewayTlsMaterial,
} from "../../src/auth/tls.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const tempDir = useTempDirs("openclaw-tls-test-");
const openssl = Bun.which("openssl");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

async function run(cmd: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: out + err };
}

/** Serve HTTPS with the material and fetch it trusting only `ca`. */
async function httpsRoundTrip(m: { cert: string; key: string }, host: string, ca?: string): Promise<number | string> {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", tls: { cert: m.cert, key: m.key }, fetch: () => new Response("over tls") });
  try {
    const res = await fetch(`https://${host}:${server.port}/`, ca ? ({ tls: { ca } } as RequestInit) : {});
    return res.status === 200 && (await res.text()) === "over tls" ? 200 : res.status;
  } catch (err) {
    return String((err as Error).message ?? err);
  } finally {
    server.stop(true);
  }
}

describe("DER building blocks", () => {
  test("lengths, integers, OIDs, times", () => {
    expect(hex(der(0x04, new Uint8Array(3)))).toBe("0403000000");
    expect(hex(der(0x04, new Uint8Array(200))).slice(0, 6)).toBe("0481c8");
    expect(hex(der(0x04, new Uint8Array(300))).slice(0, 8)).toBe("0482012c");
    expect(hex(derUnsigned(Uint8Array.of(0x80)))).toBe("02020080");
    expect(hex(derUnsigned(Uint8Array.of(0, 0, 5)))).toBe("020105");
    expect(hex(derOid("1.2.840.10045.4.3.2"))).toBe("06082a8648ce3d040302");
    expect(hex(derOid("2.5.29.17"))).toBe("0603551d11");
    expect(new TextDecoder().decode(derTime(new Date("2036-12-02T23:16:18Z")).slice(2))).toBe("361202231618Z");
    expect(derTime(new Date("2051-01-01T00:00:00Z"))[0]).toBe(0x18);
  });

  test("IP literals for subjectAltName", () => {
    expect(Array.from(ipBytes("127.0.0.1")!)).toEqual([127, 0, 0, 1]);
    expect(hex(ipBytes("::1")!)).toBe("00000000000000000000000000000001");
    expect(hex(ipBytes("fe80::1:2")!)).toBe("fe800000000000000000000000010002");
    expect(ipBytes("999.1.1.1")).toBeUndefined();
    expect(ipBytes("localhost")).toBeUndefined();
    expect(ipBytes("1::2::3")).toBeUndefined();
    expect(defaultSubjectAltNames("Pi5")).toEqual(["localhost", "pi5", "pi5.local", "127.0.0.1", "::1"]);
    expect(defaultSubjectAltNames("box.lan")).toEqual(["localhost", "box.lan", "127.0.0.1", "::1"]);
  });

  test("fingerprints: the original's form (64 lowercase hex) from any common spelling", () => {
    const h = "23e363e7480b480adad200fe5a3d73a4878923963ac0e800ef60b85a32d946b6";
    const colons = h.toUpperCase().match(/../g)!.join(":");
    expect(normalizeTlsFingerprint(h.toUpperCase())).toBe(h);
    expect(normalizeTlsFingerprint(colons)).toBe(h);
    expect(normalizeTlsFingerprint(`sha256:${colons}`)).toBe(h);
    expect(normalizeTlsFingerprint("abc")).toBe("");
  });
});

describe("generateSelfSigned", () => {
  test("a valid X.509 v3 certificate: CN, SANs, 10 years, ECDSA P-256, self-verifying; the key matches", async () => {
    const now = new Date("2026-12-06T00:00:00Z");
    const pair = await generateSelfSigned({ hostname: "pi5", now });
    const x = new X509Certificate(pair.certPem);
    expect(x.subject).toBe("CN=openclaw-gateway");
    expect(x.issuer).toBe("CN=openclaw-gateway");
    expect(x.subjectAltName).toBe("DNS:localhost, DNS:pi5, DNS:pi5.local, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(new Date(x.validFrom).getTime()).toBe(now.getTime() - 3_600_000);
    expect(Math.round((new Date(x.validTo).getTime() - new Date(x.validFrom).getTime()) / 86_400_000)).toBe(3650);
    expect(x.ca).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(pair.keyPem.startsWith("-----BEGIN PRIVATE KEY-----\n")).toBe(true);
    expect(pair.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(pair.fingerprintSha256).toBe(certificateFingerprint(pair.certPem));
    const other = await generateSelfSigned({ hostname: "pi5", now });
    expect(other.fingerprintSha256).not.toBe(pair.fingerprintSha256);
  });

  test.skipIf(!openssl)("openssl reads it: text, verify against itself, same fingerprint", async () => {
    const dir = tempDir();
    const pair = await generateSelfSigned({ hostname: "gw" });
    const certFile = join(dir, "c.pem");
    const keyFile = join(dir, "k.pem");
    writeFileSync(certFile, pair.certPem);
    writeFileSync(keyFile, pair.keyPem);
    const text = await run([openssl!, "x509", "-in", certFile, "-noout", "-text"]);
    expect(text.code).toBe(0);
    expect(text.out).toContain("Version: 3 (0x2)");
    expect(text.out).toContain("Signature Algorithm: ecdsa-with-SHA256");
    expect(text.out).toContain("Subject: CN = openclaw-gateway");
    expect(text.out).toContain("NIST CURVE: P-256");
    expect(text.out).toContain("CA:TRUE");
    expect(text.out).toContain("TLS Web Server Authentication");
    expect(text.out).toContain("DNS:localhost, DNS:gw, DNS:gw.local, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect((await run([openssl!, "verify", "-CAfile", certFile, certFile])).out).toContain(": OK");
    const fp = await run([openssl!, "x509", "-in", certFile, "-noout", "-fingerprint", "-sha256"]);
    expect(normalizeTlsFingerprint(fp.out.split("=")[1])).toBe(pair.fingerprintSha256);
    const key = await run([openssl!, "pkey", "-in", keyFile, "-noout", "-check"]);
    expect(key.out).toContain("Key is valid");
  });

  test("serves HTTPS with Bun.serve: trusted by that certificate for 127.0.0.1 and localhost, refused without it", async () => {
    const pair = await generateSelfSigned();
    const m = { cert: pair.certPem, key: pair.keyPem };
    expect(await httpsRoundTrip(m, "127.0.0.1", pair.certPem)).toBe(200);
    expect(await httpsRoundTrip(m, "localhost", pair.certPem)).toBe(200);
    expect(String(await httpsRoundTrip(m, "127.0.0.1"))).toContain("self signed certificate");
  });
});

describe("loadGatewayTls", () => {
  test("off unless enabled", async () => {
    expect(await loadGatewayTls(undefined, { stateDir: tempDir() })).toEqual({ enabled: false });
    expect(await loadGatewayTls({ enabled: false, autoGenerate: true }, { stateDir: tempDir() })).toEqual({ enabled: false });
  });

  test("generates the pair in <state>/gateway/tls (0600, dir 0700) once, then reuses it", async () => {
    const stateDir = tempDir();
    const logs: string[] = [];
    const first = (await loadGatewayTls({ enabled: true }, { stateDir, hostname: "pi", log: { info: (m) => logs.push(m) } })) as GatewayTlsMaterial;
    expect(first.enabled).toBe(true);
    expect(first.generated).toBe(true);
    expect(first.certPath).toBe(join(stateDir, "gateway", "tls", "gateway-cert.pem"));
    expect(first.keyPath).toBe(join(stateDir, "gateway", "tls", "gateway-key.pem"));
    expect(statSync(first.certPath).mode & 0o777).toBe(0o600);
    expect(statSync(first.keyPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(stateDir, "gateway", "tls")).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(stateDir, "gateway", "tls")).sort()).toEqual(["gateway-cert.pem", "gateway-key.pem"]);
    expect(first.subjectAltName).toContain("DNS:pi.local");
    expect(logs).toEqual([`gateway tls: generated self-signed cert at ${first.certPath} (sha256 ${first.fingerprintSha256})`]);
    const again = (await loadGatewayTls({ enabled: true }, { stateDir })) as GatewayTlsMaterial;
    expect(again.generated).toBe(false);
    expect(again.fingerprintSha256).toBe(first.fingerprintSha256);
    expect(await inspectGatewayCertificate({ enabled: true }, stateDir)).toEqual({ ok: true, fingerprintSha256: first.fingerprintSha256, certPath: first.certPath });
    expect(await httpsRoundTrip(again, "localhost", again.cert)).toBe(200);
  });

  test.skipIf(!openssl)("loads configured paths (an openssl RSA pair, ~ expanded) with a CA bundle", async () => {
    const home = tempDir();
    const dir = join(home, "tls");
    mkdirSync(dir);
    const r = await run([openssl!, "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-days", "1", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-subj", "/CN=openclaw-gateway", "-addext", "subjectAltName=DNS:localhost"]);
    expect(r.code).toBe(0);
    writeFileSync(join(dir, "ca.pem"), readFileSync(join(dir, "c.pem")));
    const m = (await loadGatewayTls({ enabled: true, certPath: "~/tls/c.pem", keyPath: "~/tls/k.pem", caPath: "~/tls/ca.pem" }, { stateDir: tempDir(), home })) as GatewayTlsMaterial;
    expect(m).toMatchObject({ enabled: true, generated: false, certPath: join(dir, "c.pem"), keyPath: join(dir, "k.pem"), caPath: join(dir, "ca.pem") });
    expect(m.ca).toBe(readFileSync(join(dir, "c.pem"), "utf8"));
    const fp = await run([openssl!, "x509", "-in", join(dir, "c.pem"), "-noout", "-fingerprint", "-sha256"]);
    expect(m.fingerprintSha256).toBe(normalizeTlsFingerprint(fp.out.split("=")[1]));
    expect(await httpsRoundTrip(m, "localhost", m.cert)).toBe(200);
  });

  test("refuses instead of downgrading: partial pair, autoGenerate off, mismatched key, garbage, unreadable", async () => {
    const expectRefusal = async (p: Promise<unknown>, text: string) => {
      const err = await p.then(() => undefined, (e) => e);
      expect(err).toBeInstanceOf(TlsSetupError);
      expect((err as Error).message).toContain(text);
    };
    // One file present: never completed, never overwritten.
    const partial = tempDir();
    const { keyPath } = resolveTlsPaths({}, partial);
    mkdirSync(join(partial, "gateway", "tls"), { recursive: true });
    writeFileSync(keyPath, "keep me");
    await expectRefusal(loadGatewayTls({ enabled: true }, { stateDir: partial }), "gateway tls: cert/key missing");
    expect(readFileSync(keyPath, "utf8")).toBe("keep me");
    expect(existsSync(resolveTlsPaths({}, partial).certPath)).toBe(false);

    await expectRefusal(loadGatewayTls({ enabled: true, autoGenerate: false }, { stateDir: tempDir() }), "gateway.tls.autoGenerate is false");

    const a = await generateSelfSigned();
    const b = await generateSelfSigned();
    const mixed = tempDir();
    writeFileSync(join(mixed, "c.pem"), a.certPem);
    writeFileSync(join(mixed, "k.pem"), b.keyPem);
    await expectRefusal(loadGatewayTls({ enabled: true, certPath: join(mixed, "c.pem"), keyPath: join(mixed, "k.pem") }, { stateDir: mixed }), "is not the key of");

    writeFileSync(join(mixed, "junk.pem"), "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");
    await expectRefusal(loadGatewayTls({ enabled: true, certPath: join(mixed, "junk.pem"), keyPath: join(mixed, "k.pem") }, { stateDir: mixed }), "gateway tls: failed to load cert");
    writeFileSync(join(mixed, "bad-key.pem"), "nonsense");
    await expectRefusal(loadGatewayTls({ enabled: true, certPath: join(mixed, "c.pem"), keyPath: join(mixed, "bad-key.pem") }, { stateDir: mixed }), "gateway tls: failed to load key");
    writeFileSync(join(mixed, "huge.pem"), "x".repeat(70_000));
    await expectRefusal(loadGatewayTls({ enabled: true, certPath: join(mixed, "huge.pem"), keyPath: join(mixed, "k.pem") }, { stateDir: mixed }), "larger than 65536 bytes");
    await expectRefusal(loadGatewayTls({ enabled: true, certPath: join(mixed, "c.pem"), keyPath: join(mixed, "k.pem"), caPath: join(mixed, "nope.pem") }, { stateDir: mixed }), "failed to load cert");
    // Generation into a place that cannot hold it (a file where a directory must be; root too).
    const blocked = tempDir();
    writeFileSync(join(blocked, "state"), "a file");
    await expectRefusal(loadGatewayTls({ enabled: true }, { stateDir: join(blocked, "state") }), "gateway tls: failed to generate cert");
  });

  test("relative configured paths resolve against the state dir; the public side reads only the certificate", async () => {
    const stateDir = tempDir();
    expect(resolveTlsPaths({ certPath: "certs/c.pem", keyPath: " " }, stateDir, "/home/x")).toEqual({
      certPath: join(stateDir, "certs", "c.pem"),
      keyPath: join(stateDir, "gateway", "tls", "gateway-key.pem"),
    });
    expect(await inspectGatewayCertificate({ enabled: false }, stateDir)).toEqual({ ok: false, error: "gateway tls is disabled" });
    const missing = await inspectGatewayCertificate({ enabled: true }, stateDir);
    expect(missing.ok).toBe(false);
    expect(existsSync(join(stateDir, "gateway"))).toBe(false);
  });
});
