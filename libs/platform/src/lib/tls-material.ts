import * as x509 from '@peculiar/x509';
import { webcrypto, createPrivateKey, X509Certificate as NodeX509 } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BerthConfig } from '@berth/config';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface TlsMaterial {
  key: string;
  cert: string;
  /** The CA clients must trust (self-signed mode only); also written to `<data>/tls/ca.pem`. */
  caFile?: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 60 * 60 * 1000;

/**
 * Loads or creates the server's TLS key and certificate for BERTH_TLS.
 * - `off`: none.
 * - `files`: reads BERTH_TLS_CERT / BERTH_TLS_KEY and checks they are a PEM pair.
 * - `self-signed`: a CA and a server certificate for localhost, 127.0.0.1, ::1, the login suffix and
 *   `*.<suffix>` (plus `*.<region>.geo.<suffix>` for regional endpoints), generated once under `<data>/tls/`
 *   and reused while valid and covering the same names.
 */
export async function resolveTls(config: BerthConfig): Promise<TlsMaterial | undefined> {
  switch (config.tls.mode) {
    case 'off':
      return undefined;
    case 'files':
      return readPair(String(config.tls.certFile), String(config.tls.keyFile));
    case 'self-signed':
      return selfSigned(config);
  }
}

async function readPair(certFile: string, keyFile: string): Promise<TlsMaterial> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([fs.readFile(certFile, 'utf8'), fs.readFile(keyFile, 'utf8')]);
  } catch {
    throw new Error('BERTH_TLS_CERT or BERTH_TLS_KEY cannot be read');
  }
  try {
    const c = new NodeX509(cert);
    if (!c.checkPrivateKey(createPrivateKey(key))) throw new Error('mismatch');
  } catch {
    throw new Error('BERTH_TLS_CERT and BERTH_TLS_KEY are not a matching PEM certificate and key');
  }
  return { cert, key };
}

export function selfSignedNames(config: BerthConfig): string[] {
  const s = config.loginSuffix;
  return ['localhost', s, `*.${s}`, ...config.regions.map((r) => `*.${r}.geo.${s}`)];
}

async function selfSigned(config: BerthConfig): Promise<TlsMaterial> {
  const dir = path.join(config.dataDir, 'tls');
  const files = {
    caCert: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca-key.pem'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server-key.pem'),
  };
  const names = selfSignedNames(config);
  const existing = await readExisting(files.cert, files.key);
  if (existing && covers(existing.cert, names)) return { ...existing, caFile: files.caCert };

  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  let ca = await readExisting(files.caCert, files.caKey);
  let caCert: x509.X509Certificate;
  let caKeys: CryptoKeyPair;
  if (ca) {
    caCert = new x509.X509Certificate(ca.cert);
    caKeys = { privateKey: await importKey(ca.key), publicKey: await caCert.publicKey.export(ALG, ['verify']) };
  } else {
    caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: 'CN=Berth local CA',
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 3650 * DAY),
      keys: caKeys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
    ca = { cert: caCert.toString('pem'), key: await exportKey(caKeys.privateKey) };
    await writeSecret(files.caKey, ca.key);
    await fs.writeFile(files.caCert, ca.cert, { mode: 0o644 });
  }

  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=localhost',
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 825 * DAY),
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.map((value) => ({ type: 'dns' as const, value })),
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const material = { cert: `${cert.toString('pem')}\n${ca.cert}`, key: await exportKey(keys.privateKey) };
  await writeSecret(files.key, material.key);
  await fs.writeFile(files.cert, material.cert, { mode: 0o644 });
  return { ...material, caFile: files.caCert };
}

function covers(certPem: string, names: string[]): boolean {
  try {
    const c = new NodeX509(certPem);
    if (new Date(c.validTo).getTime() < Date.now() + 7 * DAY) return false;
    const san = c.subjectAltName ?? '';
    return names.every((n) => san.includes(`DNS:${n}`));
  } catch {
    return false;
  }
}

async function readExisting(certFile: string, keyFile: string): Promise<{ cert: string; key: string } | undefined> {
  try {
    const [cert, key] = await Promise.all([fs.readFile(certFile, 'utf8'), fs.readFile(keyFile, 'utf8')]);
    return { cert, key };
  } catch {
    return undefined;
  }
}

async function writeSecret(file: string, content: string): Promise<void> {
  await fs.writeFile(file, content, { mode: 0o600 });
  await fs.chmod(file, 0o600);
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trim()}\n-----END PRIVATE KEY-----\n`;
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']) as Promise<CryptoKey>;
}

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
