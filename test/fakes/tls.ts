/**
 * Test TLS: one self-signed certificate for localhost/127.0.0.1, made per test run. Vendor fakes serve HTTPS with
 * it (the Graph client follows only https links) and test processes trust it through NODE_EXTRA_CA_CERTS, the same
 * way an operator trusts a private CA in front of a proxy.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export const TLS_DIR_ENV = 'SEATKEEPER_TEST_TLS_DIR';

export async function writeTestCertificate(dir: string): Promise<{ certFile: string; keyFile: string }> {
  mkdirSync(dir, { recursive: true });
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  writeFileSync(certFile, pems.cert);
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  return { certFile, keyFile };
}

/** The certificate and key made by the global setup. */
export function testTls(): { cert: Buffer; key: Buffer } {
  const dir = process.env[TLS_DIR_ENV];
  if (!dir) throw new Error(`${TLS_DIR_ENV} is not set: the vitest global setup makes the test certificate`);
  return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
}
