import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { retryAfterMs, VendorError, VendorHttp } from '../../connectors/vendor-http.ts';
import { FakeServer } from '../fakes/fake-server.ts';

describe('vendor HTTP', () => {
  let fake: FakeServer;
  const waits: number[] = [];
  let tokens = 0;

  beforeEach(async () => {
    waits.length = 0;
    tokens = 0;
    fake = await new FakeServer()
      .route('GET', /^\/items$/, (req) =>
        req.headers.authorization === `Bearer t${tokens}`
          ? { body: { value: [1, 2, 3] } }
          : {
              status: 401,
              body: { error: { code: 'InvalidAuthenticationToken', message: 'Access token has expired.' } },
            },
      )
      .route('GET', /^\/bad$/, () => ({
        status: 400,
        body: { error: { code: 'Request_BadRequest', message: 'Invalid filter' } },
      }))
      .start();
  });
  afterEach(() => fake.stop());

  const client = (over: Partial<ConstructorParameters<typeof VendorHttp>[0]> = {}) =>
    new VendorHttp({
      vendor: 'Microsoft Graph',
      baseUrl: fake.url,
      authHeaders: async () => ({ authorization: `Bearer t${tokens || ++tokens}` }),
      invalidateAuth: () => {
        tokens++;
      },
      sleep: async (ms) => {
        waits.push(ms);
      },
      ...over,
    });

  it('waits as long as Retry-After says on 429, then succeeds', async () => {
    fake.inject(
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 429, headers: { 'retry-after': '2' } },
    );
    const { body } = await client().json<{ value: number[] }>({ path: '/items' });
    expect(body.value).toEqual([1, 2, 3]);
    expect(waits).toEqual([7000, 2000]);
    expect(fake.calls(/^\/items$/)).toHaveLength(3);
  });

  it('backs off exponentially with jitter on 5xx and gives up after the bounded attempts', async () => {
    fake.inject(...Array.from({ length: 10 }, () => ({ status: 503 })));
    const error = await client({ maxAttempts: 4, baseBackoffMs: 100 })
      .send({ path: '/items' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(VendorError);
    expect(error.message).toBe('Microsoft Graph GET /items: HTTP 503 (gave up after 4 attempts)');
    expect(waits).toHaveLength(3);
    waits.forEach((w, i) => {
      expect(w).toBeGreaterThanOrEqual(0);
      expect(w).toBeLessThanOrEqual(100 * 2 ** i);
    });
  });

  it('fetches a new token once when the old one expired mid-run', async () => {
    tokens = 1;
    const http = client({ authHeaders: async () => ({ authorization: 'Bearer t1' }) });
    tokens = 2; // the server now only accepts t2; the client still holds t1
    const refreshing = client({
      authHeaders: async () => ({ authorization: `Bearer t${tokens}` }),
      invalidateAuth: () => undefined,
    });
    await expect(refreshing.json({ path: '/items' })).resolves.toMatchObject({ body: { value: [1, 2, 3] } });
    const error = await http.send({ path: '/items' }).catch((e) => e);
    expect(error.status).toBe(401);
    expect(error.code).toBe('InvalidAuthenticationToken');
  });

  it('names vendor, endpoint, status and the vendor error code on a client error, without retrying', async () => {
    const error = await client()
      .send({ path: '/bad', query: { $filter: 'x' } })
      .catch((e) => e);
    expect(error.message).toBe('Microsoft Graph GET /bad: HTTP 400 Request_BadRequest: Invalid filter');
    expect(fake.calls(/^\/bad$/)).toHaveLength(1);
  });

  it('times out a hung response and retries it', async () => {
    fake.inject({ hang: true });
    const { body } = await client({ timeoutMs: 300 }).json<{ value: number[] }>({ path: '/items' });
    expect(body.value).toHaveLength(3);
    expect(fake.calls(/^\/items$/)).toHaveLength(2);
  });

  it('streams a body as it arrives, and fails a body that stalls midway with the endpoint named', async () => {
    const streamed = await client().stream({ path: '/items' });
    const chunks: Buffer[] = [];
    for await (const chunk of streamed.body) chunks.push(Buffer.from(chunk));
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toEqual({ value: [1, 2, 3] });

    fake.inject({ stall: true });
    const stalled = await client({ timeoutMs: 300 }).stream({ path: '/items' });
    expect(stalled.status).toBe(200);
    const error = await (async () => {
      for await (const _ of stalled.body);
    })().catch((e) => e);
    expect(error).toBeInstanceOf(VendorError);
    expect(error).toMatchObject({ status: 0, endpoint: 'GET /items' });
    expect(error.message).toBe('Microsoft Graph GET /items: the download broke off: no answer within 300 ms');
    // Nothing was resent: what was read of the body is the caller's to judge.
    expect(fake.calls(/^\/items$/)).toHaveLength(2);
  });

  it('reports a truncated JSON body as malformed', async () => {
    fake.inject({ truncate: true });
    const error = await client()
      .json({ path: '/items' })
      .catch((e) => e);
    expect(error.message).toBe(
      'Microsoft Graph GET /items: the response is not valid JSON (truncated or malformed)',
    );
  });

  it('parses Retry-After in seconds and as an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(
      5000,
    );
    expect(retryAfterMs(null)).toBeUndefined();
  });
});
