import { createSign, generateKeyPairSync } from 'node:crypto';

/** An RS256 JWT signed with a key of our own: well-formed, but no Microsoft key signed it. */
export function forgedToken(audience: string): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${encode({ alg: 'RS256', typ: 'JWT', kid: 'forged' })}.${encode({
    aud: audience,
    iss: 'https://api.botframework.com',
    serviceurl: 'https://smba.trafficmanager.net/emea/',
    nbf: now - 60,
    exp: now + 3600,
  })}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(privateKey).toString('base64url');
  return `${unsigned}.${signature}`;
}
