/**
 * The demo's vendors: the same HTTPS fakes of Microsoft Graph, Adobe UMAPI, Google Workspace and GitHub that the
 * tests use (each reproduces its vendor's documented contract, removals included), loaded with the demo
 * organisation and listening on loopback. The real connectors import from them and reclaim seats through them.
 *
 * The fakes serve the certificate in the directory named by `SEATKEEPER_TEST_TLS_DIR`, and the process must trust it
 * (`NODE_EXTRA_CA_CERTS`); `demo.ts` arranges both before anything starts.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdobeFake } from '../../test/fakes/adobe-fake.ts';
import { GithubFake } from '../../test/fakes/github-fake.ts';
import { GoogleFake, writeServiceAccount } from '../../test/fakes/google-fake.ts';
import { GraphFake } from '../../test/fakes/graph-fake.ts';
import type { Config } from '../config/config.ts';
import type { DemoOrg } from './demo-org.ts';
import { DEMO_GOOGLE_ADMIN } from './demo-org.ts';

const GRAPH_CLIENT_ID = '3f2a6c1d-8e4b-4a7f-9d0c-5b1e2f3a4c6d';
const ADOBE_ORG_ID = '4E8F1A2B3C4D5E6F7A8B9C0D@AdobeOrg';
const GITHUB_TOKEN = 'ghp_demo_token_0123456789';

/** The connector variables the demo sets. */
export type DemoConnectorConfig = Pick<
  Config,
  | 'M365_TENANT_ID'
  | 'M365_CLIENT_ID'
  | 'M365_CLIENT_SECRET'
  | 'GRAPH_BASE_URL'
  | 'MS_LOGIN_URL'
  | 'ADOBE_ORG_ID'
  | 'ADOBE_CLIENT_ID'
  | 'ADOBE_CLIENT_SECRET'
  | 'ADOBE_UMAPI_URL'
  | 'ADOBE_IMS_URL'
  | 'GOOGLE_SERVICE_ACCOUNT_FILE'
  | 'GOOGLE_ADMIN_SUBJECT'
  | 'GOOGLE_TOKEN_URL'
  | 'GOOGLE_DIRECTORY_URL'
  | 'GOOGLE_LICENSING_URL'
  | 'GITHUB_TOKEN'
  | 'GITHUB_ORG'
  | 'GITHUB_API_URL'
  | 'CSV_DIR'
  | 'PERSON_SOURCE'
>;

export interface DemoVendors {
  graph: GraphFake;
  adobe: AdobeFake;
  google: GoogleFake;
  github: GithubFake;
  /** Configuration that points every connector at the fakes (and the CSV connector at the demo's files). */
  config: DemoConnectorConfig;
  stop(): Promise<void>;
}

/**
 * Starts the four vendor fakes with the organisation's data and writes the CSV connector's files and Google's
 * service account key under `dir`. Credentials are made up per start; they never leave this machine.
 */
export async function startDemoVendors(org: DemoOrg, dir: string): Promise<DemoVendors> {
  mkdirSync(dir, { recursive: true });
  const csvDir = join(dir, 'csv');
  mkdirSync(csvDir, { recursive: true });
  for (const [name, text] of Object.entries(org.csv)) writeFileSync(join(csvDir, name), text);
  const serviceAccount = writeServiceAccount(dir);

  const secret = `demo~${randomBytes(18).toString('base64url')}`;
  const graph = new GraphFake({ org: org.graph, clientId: GRAPH_CLIENT_ID, clientSecret: secret });
  graph.servicePrincipals = org.servicePrincipals;
  graph.permissionGrants = org.permissionGrants;
  const adobe = new AdobeFake({
    orgId: ADOBE_ORG_ID,
    clientId: 'seatkeeper-demo',
    clientSecret: secret,
    data: org.adobe,
  });
  const google = new GoogleFake({ serviceAccount, adminSubject: DEMO_GOOGLE_ADMIN });
  google.users = org.google.users;
  google.assignments = org.google.assignments;
  const github = new GithubFake({ token: GITHUB_TOKEN, org: org.github.org, seats: org.github.seats });

  const started: { stop(): Promise<void> }[] = [];
  try {
    for (const fake of [graph, adobe, google, github]) {
      await fake.start();
      started.push(fake);
    }
  } catch (error) {
    for (const fake of started) await fake.stop().catch(() => undefined);
    throw error;
  }
  const config: DemoConnectorConfig = {
    M365_TENANT_ID: org.graph.tenantId,
    M365_CLIENT_ID: GRAPH_CLIENT_ID,
    M365_CLIENT_SECRET: secret,
    GRAPH_BASE_URL: graph.url,
    MS_LOGIN_URL: graph.url,
    ADOBE_ORG_ID,
    ADOBE_CLIENT_ID: 'seatkeeper-demo',
    ADOBE_CLIENT_SECRET: secret,
    ADOBE_UMAPI_URL: adobe.url,
    ADOBE_IMS_URL: adobe.url,
    GOOGLE_SERVICE_ACCOUNT_FILE: serviceAccount.file,
    GOOGLE_ADMIN_SUBJECT: DEMO_GOOGLE_ADMIN,
    GOOGLE_TOKEN_URL: google.tokenUrl,
    GOOGLE_DIRECTORY_URL: google.url,
    GOOGLE_LICENSING_URL: google.url,
    GITHUB_TOKEN,
    GITHUB_ORG: org.github.org,
    GITHUB_API_URL: github.url,
    CSV_DIR: csvDir,
    PERSON_SOURCE: 'm365',
  };
  return {
    graph,
    adobe,
    google,
    github,
    config,
    async stop() {
      await Promise.all([graph.stop(), adobe.stop(), google.stop(), github.stop()]);
    },
  };
}
