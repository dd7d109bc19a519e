/** BENCHMARKS.md and its scaling chart, written from one run's measurements. */
import type { LoadMeasure } from './chat-load.ts';
import type { ImportMeasure } from './import-bench.ts';
import type { QueryMeasure } from './queries.ts';
import { formatSpread, type Spread, spread } from './stats.ts';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  postgres: string;
  os: string;
  loadAverage: number[];
}

export interface BenchRun {
  startedAt: Date;
  finishedAt: Date;
  command: string;
  machine: Machine;
  imports: Map<number, ImportMeasure[]>;
  queries: { accounts: number; runs: QueryMeasure[][] } | undefined;
  chat: { accounts: number; runs: LoadMeasure[][] } | undefined;
  chartPath: string;
}

export const GOALS = {
  importRatio: 3,
  rssMb: 512,
  queryP99Ms: 50,
  queryRatio: 3,
  chatRate: 200,
  chatSeconds: 60,
  ackP99Ms: 300,
} as const;

interface SizeRow {
  accounts: number;
  seconds: Spread;
  rate: Spread;
  copy: Spread;
  ratio: Spread;
  rss: Spread;
  usPerAccount: Spread;
  copyUsPerAccount: Spread;
  staged: Spread;
}

function sizeRows(imports: Map<number, ImportMeasure[]>): SizeRow[] {
  return [...imports.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, runs]) => {
      const accounts = runs[0]?.accounts ?? 0;
      return {
        accounts,
        seconds: spread(runs.map((r) => r.seconds)),
        rate: spread(runs.map((r) => r.accounts / r.seconds)),
        copy: spread(runs.map((r) => r.copySeconds)),
        ratio: spread(runs.map((r) => r.seconds / r.copySeconds)),
        rss: spread(runs.map((r) => r.peakRssMb)),
        usPerAccount: spread(runs.map((r) => (r.seconds / r.accounts) * 1e6)),
        copyUsPerAccount: spread(runs.map((r) => (r.copySeconds / r.accounts) * 1e6)),
        staged: spread(runs.map((r) => r.stagedSeconds / r.seconds)),
      };
    });
}

const thousands = (n: number) => Math.round(n).toLocaleString('en-US');

/** The scaling chart: cost per account against organisation size (flat = linear). */
export function scalingSvg(imports: Map<number, ImportMeasure[]>): string {
  const rows = sizeRows(imports);
  const width = 680;
  const height = 380;
  const m = { left: 70, right: 170, top: 40, bottom: 60 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const xs = rows.map((r) => Math.log10(r.accounts));
  const xMin = Math.min(...xs) - 0.15;
  const xMax = Math.max(...xs) + 0.15;
  const yMaxRaw = Math.max(1, ...rows.map((r) => Math.max(r.usPerAccount.max, r.copyUsPerAccount.max)));
  const step = niceStep(yMaxRaw / 5);
  const yMax = Math.ceil(yMaxRaw / step) * step;
  const x = (accounts: number) => m.left + ((Math.log10(accounts) - xMin) / (xMax - xMin)) * plotW;
  const y = (v: number) => m.top + plotH - (v / yMax) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    '<title>Seatkeeper import cost per account against organisation size, with the COPY floor and the goal</title>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${m.left}" y="22" font-size="14" font-weight="bold">Import cost per account (µs), median and min–max of the runs</text>`,
  );
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`,
    );
  }
  parts.push(
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + plotH}" stroke="#333"/>`,
    `<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#333"/>`,
  );
  for (const r of rows) {
    parts.push(
      `<text x="${x(r.accounts).toFixed(1)}" y="${m.top + plotH + 18}" text-anchor="middle">${thousands(r.accounts)}</text>`,
    );
  }
  parts.push(
    `<text x="${m.left + plotW / 2}" y="${height - 18}" text-anchor="middle">accounts (log scale)</text>`,
    `<text transform="translate(18 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">µs per account</text>`,
  );
  const series = [
    { label: 'Seatkeeper import', color: '#1f6feb', pick: (r: SizeRow) => r.usPerAccount },
    { label: 'COPY floor', color: '#8c959f', pick: (r: SizeRow) => r.copyUsPerAccount },
    {
      label: `${GOALS.importRatio}× COPY (goal)`,
      color: '#d1242f',
      pick: (r: SizeRow) => {
        const s = r.copyUsPerAccount;
        return { ...s, median: s.median * GOALS.importRatio, min: Number.NaN, max: Number.NaN };
      },
      dashed: true,
    },
  ];
  for (const [i, s] of series.entries()) {
    const points = rows.map((r) => [x(r.accounts), y(s.pick(r).median)] as const);
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2"${'dashed' in s ? ' stroke-dasharray="6 4"' : ''} points="${points
        .map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`)
        .join(' ')}"/>`,
    );
    for (const r of rows) {
      const v = s.pick(r);
      const px = x(r.accounts).toFixed(1);
      if (Number.isFinite(v.min) && Number.isFinite(v.max)) {
        parts.push(
          `<line x1="${px}" x2="${px}" y1="${y(v.min).toFixed(1)}" y2="${y(v.max).toFixed(1)}" stroke="${s.color}"/>`,
        );
      }
      if (!('dashed' in s))
        parts.push(`<circle cx="${px}" cy="${y(v.median).toFixed(1)}" r="4" fill="${s.color}"/>`);
    }
    const ly = m.top + 10 + i * 20;
    parts.push(
      `<line x1="${width - m.right + 15}" x2="${width - m.right + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${'dashed' in s ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${width - m.right + 46}" y="${ly + 4}">${s.label}</text>`,
    );
  }
  parts.push(
    `<text x="${width - m.right + 15}" y="${m.top + 80}" fill="#57606a">A flat line is linear</text>`,
    `<text x="${width - m.right + 15}" y="${m.top + 96}" fill="#57606a">cost; rising is worse.</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * power >= raw) return f * power;
  return 10 * power;
}

function verdict(met: boolean, text: string): string {
  return `${met ? '**Met.**' : '**Missed.**'} ${text}`;
}

/** The report, in Markdown. `notes` explain shortfalls (set by the caller from what the run showed). */
export function benchmarksMarkdown(run: BenchRun, notes: Record<string, string>): string {
  const rows = sizeRows(run.imports);
  const largest = rows[rows.length - 1];
  const smallest = rows[0];
  const lines: string[] = [];
  const m = run.machine;
  lines.push(
    '# Benchmarks',
    '',
    `Written by \`${run.command}\` on ${run.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC ` +
      `(${Math.max(1, Math.round((run.finishedAt.getTime() - run.startedAt.getTime()) / 60000))} min). Run it again to ` +
      'reproduce every figure below on your own machine; `npm run bench -- --quick` is a small sanity run.',
    '',
    '## Machine',
    '',
    '| | |',
    '| --- | --- |',
    `| CPU | ${m.cpu}, ${m.cores} cores |`,
    `| Memory | ${m.memoryGb.toFixed(0)} GB |`,
    `| OS | ${m.os} |`,
    `| Node.js | ${m.node} |`,
    `| PostgreSQL | ${m.postgres} (same machine, default settings) |`,
    `| Load average at start | ${m.loadAverage.map((l) => l.toFixed(2)).join(', ')} |`,
    '',
    'The machine is shared and its timings are noisy: that is why every goal is a ratio to PostgreSQL\u2019s own ' +
      'speed measured side by side in the same run, and why every figure is the median of several runs with the ' +
      'smallest and largest in brackets.',
    '',
    '## What is measured',
    '',
    '- **Organisation.** A deterministic generator (`bench/org.ts`): one Microsoft 365 tenant with 50 ' +
      'subscriptions (a few popular, a long tail), 2.5 licenses per user on average, 62% of users signed in ' +
      'within 30 days, 15% 30–89 days ago, 13% 90–365 days ago, 10% never; 3% disabled accounts; some licenses ' +
      'inherited from groups; 5% of users with a mail address other than their sign-in name. The Graph fake of the ' +
      'tests serves it over HTTPS, building each page from the generator on demand (its `/users` pages hold 120 ' +
      'users, as Graph\u2019s do when sign-in activity is selected), with the usage report and persons.',
    '- **Import.** `importSource` of the Microsoft 365 connector, as `seatkeeper import m365` runs it: vendor ' +
      'pages over HTTPS → validation → staging → switch → matching → findings (and the shadow IT scan). It runs ' +
      'in a child process of its own; its peak RSS is that process\u2019s `VmHWM`. Each run starts from an empty ' +
      'migrated database.',
    '- **COPY floor.** Right after each import, in the same database, the same rows (persons, their addresses, ' +
      'the accounts) are loaded by `psql \\copy` into tables of the same shape and indexes, in one transaction. ' +
      'The CSV files are written before the clock starts.',
    '- **Queries.** On the largest organisation, aged by six months after its import (its accounts first seen ' +
      'half a year ago, findings recomputed, so idle seats are findings as they would be in use): each question is asked as a chat surface asks it (the ' +
      'registry\u2019s command with an admin Actor; the App Home as Slack composes it; the dashboard summary), ' +
      'alternating with a hand-written indexed SQL answer to the same question (`bench/queries.ts`). The ' +
      'product takes totals from the running tallies its triggers keep (docs/architecture.md); the hand-written ' +
      'SQL counts the rows.',
    '- **Chat endpoints.** The service runs as its own process on the same organisation; autocannon, in a ' +
      'process of its own, sends correctly signed slash commands to `/slack/events` and message activities to ' +
      '`/api/messages` (authentication off) on loopback at a fixed rate; the Slack and Bot Connector fakes count the replies.',
    '',
    '## Import',
    '',
    '| Accounts | Import (s) | Accounts/s | COPY floor (s) | Import ÷ COPY | Peak RSS (MB) | Reading and staging vendor pages (share) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of rows) {
    lines.push(
      `| ${thousands(r.accounts)} | ${formatSpread(r.seconds, 1)} | ${formatSpread(r.rate, 0)} | ${formatSpread(r.copy, 2)} | ${formatSpread(r.ratio, 1, '×')} | ${formatSpread(r.rss, 0)} | ${formatSpread({ ...r.staged, median: r.staged.median * 100, min: r.staged.min * 100, max: r.staged.max * 100 }, 0, '%')} |`,
    );
  }
  lines.push(
    '',
    `Runs per size: ${rows.map((r) => `${thousands(r.accounts)}: ${r.seconds.runs}`).join(', ')}.`,
    '',
    `![Import cost per account against organisation size](${run.chartPath})`,
    '',
  );
  if (run.queries) {
    lines.push(
      '## Queries',
      '',
      `On ${thousands(run.queries.accounts)} accounts; milliseconds; ${run.queries.runs.length} runs of each question ` +
        `set, ${run.queries.runs[0]?.[0]?.handler.samples ?? 0}+ samples per question per run (fewer where a ` +
        'question\u2019s time budget ran out).',
      '',
      '| Question | Product p50 | Product p99 | SQL p50 | SQL p99 | p99 ÷ SQL p99 |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const name of run.queries.runs[0]?.map((q) => q.name) ?? []) {
      const of = (pick: (q: QueryMeasure) => number) =>
        spread(run.queries?.runs.map((set) => pick(set.find((q) => q.name === name) as QueryMeasure)) ?? []);
      lines.push(
        `| ${name} | ${formatSpread(of((q) => q.handler.p50))} | ${formatSpread(of((q) => q.handler.p99))} | ${formatSpread(of((q) => q.raw.p50))} | ${formatSpread(of((q) => q.raw.p99))} | ${formatSpread(
          of((q) => q.handler.p99 / q.raw.p99),
          1,
          '×',
        )} |`,
      );
    }
    lines.push('');
  }
  if (run.chat) {
    lines.push(
      '## Chat endpoints under load',
      '',
      `On ${thousands(run.chat.accounts)} accounts; ${run.chat.runs.length} runs per endpoint.`,
      '',
      '| Endpoint | Rate (req/s) × s | Sent | Acknowledged (2xx) | Errors | Ack p50 (ms) | Ack p99 (ms) | Replies delivered |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const endpoint of run.chat.runs[0]?.map((r) => r.endpoint) ?? []) {
      const of = (pick: (r: LoadMeasure) => number) =>
        spread(
          run.chat?.runs.map((set) => pick(set.find((r) => r.endpoint === endpoint) as LoadMeasure)) ?? [],
        );
      const first = run.chat.runs[0]?.find((r) => r.endpoint === endpoint) as LoadMeasure;
      lines.push(
        `| \`${endpoint}\` | ${first.rate} × ${first.seconds} | ${formatSpread(
          of((r) => r.sent),
          0,
        )} | ${formatSpread(
          of((r) => r.ok),
          0,
        )} | ${formatSpread(
          of((r) => r.errors),
          0,
        )} | ${formatSpread(
          of((r) => r.ackP50),
          0,
        )} | ${formatSpread(
          of((r) => r.ackP99),
          0,
        )} | ${formatSpread(
          of((r) => r.delivered),
          0,
        )} |`,
      );
    }
    lines.push(
      '',
      '"Sent" counts requests started in the window, including the last ones still in flight when it closed.',
      '',
    );
  }

  lines.push('## Goals', '');
  if (largest && smallest) {
    const ratio = largest.ratio.median;
    lines.push(
      `- **Import within ${GOALS.importRatio}× COPY at ${thousands(largest.accounts)} accounts:** ${verdict(
        ratio <= GOALS.importRatio,
        `${formatSpread(largest.ratio, 1, '×')}` +
          (ratio > GOALS.importRatio
            ? `, ${((ratio / GOALS.importRatio - 1) * 100).toFixed(0)}% over the goal. ${notes.importRatio ?? ''}`
            : '.'),
      )}`,
    );
    const rss = Math.max(...rows.map((r) => r.rss.max));
    lines.push(
      `- **Peak RSS under ${GOALS.rssMb} MB:** ${verdict(
        rss < GOALS.rssMb,
        `the largest peak of any run was ${rss.toFixed(0)} MB. ${notes.rss ?? ''}`,
      )}`,
    );
    const growth = largest.usPerAccount.median / smallest.usPerAccount.median;
    const copyGrowth = largest.copyUsPerAccount.median / smallest.copyUsPerAccount.median;
    lines.push(
      `- **Cost linear from ${thousands(smallest.accounts)} to ${thousands(largest.accounts)}:** ${verdict(
        growth <= 1.25,
        `cost per account went from ${smallest.usPerAccount.median.toFixed(0)} µs to ${largest.usPerAccount.median.toFixed(0)} µs ` +
          `(×${growth.toFixed(2)}; COPY\u2019s own went ×${copyGrowth.toFixed(2)}). ${notes.scaling ?? ''}`,
      )}`,
    );
  }
  if (run.queries) {
    const all = run.queries.runs[0]?.map((q) => q.name) ?? [];
    const p99 = (name: string) =>
      spread(
        run.queries?.runs.map((set) => set.find((q) => q.name === name)?.handler.p99 ?? Number.NaN) ?? [],
      ).median;
    const ratio = (name: string) =>
      spread(
        run.queries?.runs.map((set) => {
          const q = set.find((x) => x.name === name);
          return q ? q.handler.p99 / q.raw.p99 : Number.NaN;
        }) ?? [],
      ).median;
    const slow = all.filter((n) => p99(n) >= GOALS.queryP99Ms);
    const far = all.filter((n) => ratio(n) > GOALS.queryRatio);
    lines.push(
      `- **Query p99 under ${GOALS.queryP99Ms} ms:** ${verdict(
        slow.length === 0,
        slow.length === 0
          ? 'every question.'
          : `not for ${slow.map((n) => `${n} (${p99(n).toFixed(0)} ms)`).join(', ')}. ${notes.queryP99 ?? ''}`,
      )}`,
      `- **Query within ${GOALS.queryRatio}× the hand-written SQL:** ${verdict(
        far.length === 0,
        far.length === 0
          ? 'every question.'
          : `not for ${far.map((n) => `${n} (${ratio(n).toFixed(1)}×)`).join(', ')}. ${notes.queryRatio ?? ''}`,
      )}`,
    );
  }
  if (run.chat) {
    for (const endpoint of run.chat.runs[0]?.map((r) => r.endpoint) ?? []) {
      const runs = run.chat.runs.map((set) => set.find((r) => r.endpoint === endpoint) as LoadMeasure);
      const errors = Math.max(...runs.map((r) => r.errors));
      const p99 = spread(runs.map((r) => r.ackP99)).median;
      const achieved = spread(runs.map((r) => r.ok / r.seconds)).median;
      const undelivered = Math.max(...runs.map((r) => Math.max(0, r.ok - r.delivered)));
      const met =
        errors === 0 && p99 < GOALS.ackP99Ms && undelivered === 0 && achieved >= GOALS.chatRate * 0.95;
      lines.push(
        `- **\`${endpoint}\` at ${GOALS.chatRate} req/s for ${GOALS.chatSeconds} s, no errors, ack p99 under ${GOALS.ackP99Ms} ms, every reply delivered:** ${verdict(
          met,
          `${achieved.toFixed(0)} req/s acknowledged, ${errors} errors at most, ack p99 ${p99.toFixed(0)} ms, ` +
            `${undelivered} replies missing at most. ${met ? '' : (notes[`chat:${endpoint}`] ?? '')}`,
        )}`,
      );
    }
  }
  if (notes.indexes) lines.push('', '## Proposed indexes', '', notes.indexes);
  lines.push('');
  return lines.join('\n');
}
