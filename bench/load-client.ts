/**
 * The chat benchmark's load generator, in a process of its own so that the fakes' work (validating cards, counting
 * replies) does not delay its timers and socket reads and so its latencies. Reads one JSON line on stdin (the URL,
 * rate, duration and the requests to send in turn), answers `ready` on stdout, and on a `go` line runs autocannon
 * at that fixed rate, then prints autocannon's result as one JSON line (with this process's event-loop delay as
 * `loopDelay`). A Slack request is signed as it is sent, so
 * its timestamp is the current one for the whole run.
 */
import { createHmac } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

export interface LoadPlan {
  url: string;
  rate: number;
  seconds: number;
  requests: { body: string; headers: Record<string, string> }[];
  /** Sign each request as Slack does, with this signing secret and the time it is sent. */
  slackSigningSecret?: string;
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const first = await lines.next();
if (first.done) throw new Error('no load plan on stdin');
const plan = JSON.parse(first.value) as LoadPlan;
if (plan.requests.length === 0) throw new Error('the load plan has no requests');
process.stdout.write('ready\n');
const go = await lines.next();
if (go.done || go.value.trim() !== 'go') throw new Error('expected `go` on stdin');

/** Slack's v0 request signature: HMAC-SHA256 of `v0:<timestamp>:<body>` under the signing secret. */
function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

let next = 0;
const setupRequest = (req: autocannon.Request): autocannon.Request => {
  const { body, headers } = plan.requests[next++ % plan.requests.length] as LoadPlan['requests'][number];
  const signed = { ...headers };
  if (plan.slackSigningSecret) {
    const timestamp = Math.floor(Date.now() / 1000);
    signed['x-slack-request-timestamp'] = String(timestamp);
    signed['x-slack-signature'] = slackSignature(plan.slackSigningSecret, timestamp, body);
  }
  return { ...req, method: 'POST', body, headers: signed };
};

// This process's own event-loop delay during the run: how late its timers and socket reads could be.
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const result = await autocannon({
  url: plan.url,
  method: 'POST',
  // Enough connections that a slow answer does not hold back the rate (autocannon sends one request per
  // connection at a time).
  connections: 100,
  overallRate: plan.rate,
  duration: plan.seconds,
  timeout: 10,
  requests: [{ method: 'POST', setupRequest: setupRequest as never }],
});
delay.disable();
const ms = (ns: number) => Math.round(ns / 1e6);
const loopDelay = { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) };
process.stdout.write(`${JSON.stringify({ ...result, loopDelay })}\n`);
process.exit(0);
