/** The Teams app, tenant and person the Teams endpoint tests talk as, against the service process. */
import { createSign, generateKeyPairSync } from 'node:crypto';
import type { TeamsUser } from '../fakes/bot-connector-fake.ts';

/** The Microsoft app id the service is configured with when Bot Framework authentication is on. */
export const APP_ID = '2f9b6e3a-1c4d-4e5f-8a7b-9c0d1e2f3a4b';
/** The Microsoft tenant the service is configured with alongside the app id. */
export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
/** A Teams user who talks to the bot. */
export const ANA: TeamsUser = {
  id: '29:1ana-mri',
  aadObjectId: '0d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  name: 'Ana Lopez',
  email: 'ana@example.com',
};

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
