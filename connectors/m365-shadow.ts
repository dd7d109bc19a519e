/**
 * Shadow IT from Microsoft Entra ID: the third-party apps people have signed in to with their work account and
 * granted delegated permissions (`GET /v1.0/oauth2PermissionGrants`), named through their service principals
 * (`GET /v1.0/servicePrincipals`). Microsoft's own apps and the tenant's in-house apps are not shadow IT and are
 * left out. Needs the application permission `Directory.Read.All` (admin consent) on the Seatkeeper app
 * registration, besides what the license import needs.
 *
 * Kept apart from the license connector: it reads other endpoints, for another purpose, and runs on its own
 * schedule; it shares the vendor HTTP client (retries, Retry-After, token refresh on 401).
 */
import { z } from 'zod';
import type { Config } from '../src/config/config.ts';
import type { ShadowObservation, ShadowSource } from '../src/findings/shadow-observation.ts';
import type { ConnectorDeps } from './types.ts';
import { VendorError, VendorHttp } from './vendor-http.ts';

const VENDOR = 'Microsoft Graph';
/** The `source` of every observation from here. */
export const GRAPH_GRANTS_SOURCE = 'graph:oauth2PermissionGrants';

/**
 * Tenants that publish Microsoft's first-party apps (Microsoft Services and Microsoft's corporate tenant): their
 * service principals are part of Microsoft 365, not shadow IT.
 */
export const MICROSOFT_TENANTS: readonly string[] = [
  'f8cdef31-a31e-4b4a-93e4-5f571e91255a',
  '72f988bf-86f1-41af-91ab-2d7cd011db47',
];

const tokenResponse = z.object({
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', { message: 'expected Bearer' }),
  expires_in: z.coerce.number().int().positive(),
  access_token: z.string().min(1),
});

const servicePrincipal = z.object({
  id: z.string().min(1),
  appId: z.string().nullish(),
  displayName: z.string().nullish(),
  appOwnerOrganizationId: z.string().nullish(),
  servicePrincipalType: z.string().nullish(),
  publisherName: z.string().nullish(),
});

const grant = z.object({
  id: z.string().min(1),
  clientId: z.string().min(1),
  consentType: z.string().nullish(),
  principalId: z.string().nullish(),
  scope: z.string().nullish(),
});

const SP_FIELDS = 'id,appId,displayName,appOwnerOrganizationId,servicePrincipalType,publisherName';

export interface M365ShadowOptions {
  /** `$top` of service principal pages (default 999, Graph's maximum). */
  pageSize?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  baseBackoffMs?: number;
}

/**
 * The Entra ID shadow-IT source from the `M365_*`, `GRAPH_BASE_URL` and `MS_LOGIN_URL` settings.
 * @throws Error when M365_TENANT_ID, M365_CLIENT_ID or M365_CLIENT_SECRET is not set
 */
export function createM365ShadowSource(
  config: Config,
  deps: ConnectorDeps = {},
  options: M365ShadowOptions = {},
): ShadowSource {
  const tenantId = config.M365_TENANT_ID;
  const clientId = config.M365_CLIENT_ID;
  const clientSecret = config.M365_CLIENT_SECRET;
  if (!tenantId || !clientId || !clientSecret) {
    throw new Error(
      'Microsoft 365 is not configured: set M365_TENANT_ID, M365_CLIENT_ID and M365_CLIENT_SECRET. See README, "Configuration".',
    );
  }
  const now = deps.now ?? (() => new Date());
  const graphBase = config.GRAPH_BASE_URL.replace(/\/+$/, '');
  const shared = {
    maxAttempts: options.maxAttempts,
    timeoutMs: options.timeoutMs,
    baseBackoffMs: options.baseBackoffMs,
    sleep: deps.sleep,
    onRetry: deps.onRetry,
  };
  const login = new VendorHttp({
    ...shared,
    vendor: 'Microsoft identity platform',
    baseUrl: config.MS_LOGIN_URL,
  });
  let token: { value: string; refreshAt: number } | undefined;

  async function accessToken(): Promise<string> {
    if (token && now().getTime() < token.refreshAt) return token.value;
    const path = `/${encodeURIComponent(tenantId as string)}/oauth2/v2.0/token`;
    const form = new URLSearchParams({
      client_id: clientId as string,
      client_secret: clientSecret as string,
      scope: `${graphBase}/.default`,
      grant_type: 'client_credentials',
    });
    let body: unknown;
    try {
      ({ body } = await login.json({
        method: 'POST',
        path,
        body: form.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        auth: false,
      }));
    } catch (error) {
      // The secret is in the request body, never in an error message; say which step failed.
      if (error instanceof VendorError)
        throw new Error(`Cannot sign in to Microsoft Graph: ${error.message}`);
      throw error;
    }
    const parsed = tokenResponse.safeParse(body);
    if (!parsed.success) throw contractError('Microsoft identity platform', `POST ${path}`, parsed.error);
    const lifetimeMs = parsed.data.expires_in * 1000;
    token = {
      value: parsed.data.access_token,
      refreshAt: now().getTime() + lifetimeMs - Math.min(300_000, lifetimeMs / 10),
    };
    return token.value;
  }

  const graph = new VendorHttp({
    ...shared,
    vendor: VENDOR,
    baseUrl: `${graphBase}/v1.0`,
    authHeaders: async () => ({ authorization: `Bearer ${await accessToken()}` }),
    invalidateAuth: () => {
      token = undefined;
    },
  });

  /** Pages of a collection, following `@odata.nextLink` until there is none. */
  async function* pages<T>(first: string, endpoint: string, item: z.ZodType<T>): AsyncGenerator<T[]> {
    const schema = z.object({ value: z.array(item), '@odata.nextLink': z.string().min(1).nullish() });
    let link: string = first;
    const followed = new Set<string>([first]);
    for (;;) {
      let body: unknown;
      try {
        ({ body } = await graph.json({ path: link }));
      } catch (error) {
        if (error instanceof VendorError && error.status === 403) {
          throw new VendorError(
            VENDOR,
            endpoint,
            403,
            error.code,
            'permission denied: grant the app registration the application permission Directory.Read.All (with admin consent) to find shadow IT',
          );
        }
        throw error;
      }
      const page = schema.safeParse(body);
      if (!page.success) throw contractError(VENDOR, endpoint, page.error);
      yield page.data.value;
      const next = page.data['@odata.nextLink'];
      if (!next) return;
      // A link back to any page already read (not only the last one) would page forever.
      if (next === link || followed.has(next))
        throw new VendorError(
          VENDOR,
          endpoint,
          200,
          'contract',
          'the next-page link points back to a page already read',
        );
      followed.add(next);
      // The token goes with every request: never to a host other than Graph's.
      if (new URL(next, `${graphBase}/`).origin !== new URL(graphBase).origin)
        throw new VendorError(VENDOR, endpoint, 200, 'contract', 'the next-page link leaves the Graph host');
      link = next;
    }
  }

  async function* observations(): AsyncGenerator<ShadowObservation[]> {
    // Third-party apps only (a few thousand at most): the map names the grants that follow.
    const apps = new Map<string, z.infer<typeof servicePrincipal>>();
    const pageSize = options.pageSize ?? 999;
    for await (const page of pages(
      `servicePrincipals?$select=${SP_FIELDS}&$top=${pageSize}`,
      'GET /v1.0/servicePrincipals',
      servicePrincipal,
    )) {
      for (const sp of page) {
        const owner = sp.appOwnerOrganizationId?.toLowerCase();
        if (
          sp.servicePrincipalType === 'Application' &&
          sp.displayName &&
          owner &&
          owner !== (tenantId as string).toLowerCase() &&
          !MICROSOFT_TENANTS.includes(owner)
        ) {
          apps.set(sp.id, sp);
        }
      }
    }
    for await (const page of pages('oauth2PermissionGrants', 'GET /v1.0/oauth2PermissionGrants', grant)) {
      const seen: ShadowObservation[] = [];
      for (const g of page) {
        const app = apps.get(g.clientId);
        if (!app?.displayName) continue;
        const allUsers = g.consentType === 'AllPrincipals';
        seen.push({
          app: app.displayName,
          source: GRAPH_GRANTS_SOURCE,
          user: allUsers ? null : (g.principalId ?? null),
          allUsers,
          appId: app.appId ?? null,
          publisher: app.publisherName ?? null,
          scopes: g.scope?.trim() || null,
        });
      }
      if (seen.length > 0) yield seen;
    }
  }

  return { name: 'm365', sources: [GRAPH_GRANTS_SOURCE], observations };
}

/** A payload that breaks the contract: names the vendor, the endpoint and the field. */
function contractError(vendor: string, endpoint: string, error: z.ZodError): VendorError {
  const issue = error.issues[0];
  const field = issue?.path.map(String).join('.') || '(body)';
  return new VendorError(vendor, endpoint, 200, 'contract', `${field}: ${issue?.message ?? 'invalid'}`);
}
