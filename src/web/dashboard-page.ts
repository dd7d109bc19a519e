/**
 * The dashboard's HTML, rendered on the server: every number is in the page as text (readable without the script,
 * by screen readers and by tests), in sections with headings and tables with captions. The script only adds the
 * trend chart and the interactive inventory tables.
 */
import type {
  AppUtilization,
  DashboardSummary,
  FindingKindSummary,
  ImportHealth,
  InventoryColumn,
} from '../../handlers/dashboard.ts';
import type { RenewalRow } from '../../handlers/renewals.ts';
import type { SavingsRow } from '../../handlers/savings.ts';
import type { Actor } from '../../handlers/types.ts';

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}
const h = escapeHtml;

const count = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : n.toLocaleString('en-US');
const percent = (n: number | null) => (n === null ? '—' : `${Math.round(n * 100)}%`);
const money = (amount: number | null, currency: string | null) =>
  amount === null || currency === null
    ? '—'
    : `${amount.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: 0 })} ${currency}`;
const when = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '—');

const KIND_LABELS: Record<string, string> = {
  idle: 'Idle seats',
  unassigned: 'Unassigned seats',
  overage: 'Overage',
  grace: 'Lapsing (grace period)',
  departed: 'Departed holders',
  duplicate: 'Duplicate plans',
  shadow: 'Shadow IT',
  unmatched: 'Unmatched accounts',
};

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${h(title)}</title>
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
</head>
<body>
${body}
</body>
</html>
`;
}

function header(actor: Actor): string {
  return `<header class="top">
  <p class="brand">Seatkeeper</p>
  <p class="who">Signed in as <strong>${h(actor.displayName)}</strong> (${h(actor.roles.join(', ') || 'no role')})</p>
  <form method="post" action="/auth/sign-out"><button type="submit" class="link">Sign out</button></form>
</header>`;
}

/** The page for a signed-in actor without the right to see the dashboard. */
export function forbiddenPage(actor: Actor, message: string): string {
  return page(
    'Not allowed · Seatkeeper',
    `${header(actor)}
<main id="main">
<h1>Dashboard</h1>
<p class="message" role="alert">${h(message || 'The dashboard needs the helpdesk role.')}</p>
<p>The dashboard shows the whole license inventory. Ask an administrator for the helpdesk, it-manager or finance role.</p>
</main>`,
  );
}

function tiles(s: DashboardSummary): string {
  const t = s.totals;
  const total = s.savings.filter((r) => r.by === 'total');
  const potential = total.map((r) => money(r.potential, r.currency)).filter((x) => x !== '—');
  const realized = total.map((r) => money(r.realized, r.currency)).filter((x) => x !== '—');
  const tile = (id: string, label: string, value: string, note = '') =>
    `<div class="tile" data-metric="${id}"><dt>${h(label)}</dt><dd><span class="value">${h(value)}</span>${
      note ? `<span class="note">${h(note)}</span>` : ''
    }</dd></div>`;
  // Unlimited licenses have no purchased count: they stay out of the percentage.
  const utilization =
    t.purchased > 0 ? `${Math.round((t.consumedLimited / t.purchased) * 100)}% of purchased` : '';
  return `<section aria-labelledby="overview-h">
<h2 id="overview-h">Overview</h2>
<dl class="tiles">
${tile('purchased', 'Purchased seats', count(t.purchased), t.unlimitedLicenses ? `+ ${t.unlimitedLicenses} unlimited` : '')}
${tile('consumed', 'Consumed seats', count(t.consumed), utilization)}
${tile('active', 'Active seats', count(t.active))}
${tile('licenses', 'Licenses', count(t.licenses))}
${tile('subscribers', 'Subscribers', count(t.subscribers))}
${tile('open-findings', 'Open findings', count(t.openFindings))}
${tile('clearing', 'Clearing required', count(t.clearing))}
${tile('potential-savings', 'Potential savings / year', potential.join(' + ') || '—')}
${tile('realized-savings', 'Realized savings / year', realized.join(' + ') || '—')}
</dl>
</section>`;
}

function utilizationSection(apps: AppUtilization[]): string {
  const rows = apps
    .map(
      (a) => `<tr data-app="${h(a.app)}">
  <th scope="row">${h(a.app)}</th><td>${h(a.vendor)}</td>
  <td class="num" data-col="purchased">${a.purchased === null ? 'unlimited' : count(a.purchased)}</td>
  <td class="num" data-col="consumed">${count(a.consumed)}</td>
  <td class="num" data-col="active">${count(a.active)}</td>
  <td class="num">${percent(a.utilization)}${
    a.utilization !== null
      ? ` <meter min="0" max="1" value="${Math.min(a.utilization, 1)}" aria-label="${h(a.app)} utilization"></meter>`
      : ''
  }</td>
  <td class="num">${a.unused === null ? '—' : count(a.unused)}</td>
  <td class="num${a.overage > 0 ? ' warn' : ''}">${count(a.overage)}</td>
  <td class="num">${count(a.openFindings)}</td>
</tr>`,
    )
    .join('\n');
  const options = apps.map((a) => `<option value="${h(a.app)}">${h(a.app)}</option>`).join('');
  return `<section aria-labelledby="utilization-h">
<h2 id="utilization-h">Utilization per app</h2>
<div class="chart-box">
  <div class="chart-controls">
    <label for="trend-app">Trend for</label>
    <select id="trend-app"><option value="">All apps</option>${options}</select>
    <label for="trend-days">over</label>
    <select id="trend-days"><option value="30">30 days</option><option value="90" selected>90 days</option><option value="365">a year</option></select>
  </div>
  <canvas id="trend-chart" role="img" aria-label="Purchased, consumed and active seats per day, from each import"></canvas>
  <p id="trend-empty" class="muted" hidden>No import snapshots in this period yet.</p>
</div>
<div class="scroll">
<table id="utilization">
<caption>Purchased, consumed and active seats per app (active: at the last import, where the vendor reports usage)</caption>
<thead><tr><th scope="col">App</th><th scope="col">Vendor</th><th scope="col">Purchased</th><th scope="col">Consumed</th><th scope="col">Active</th><th scope="col">Utilization</th><th scope="col">Unused</th><th scope="col">Overage</th><th scope="col">Open findings</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="9">No licenses yet: configure a connector and run an import.</td></tr>'}
</tbody>
</table>
</div>
</section>`;
}

function findingsSection(kinds: FindingKindSummary[], apps: AppUtilization[]): string {
  const rows = kinds
    .map(
      (k) => `<tr data-kind="${h(k.kind)}">
  <th scope="row">${h(KIND_LABELS[k.kind] ?? k.kind)}</th>
  <td class="num" data-col="open">${count(k.open)}</td>
  <td class="num">${count(k.seats)}</td>
  <td class="num">${k.savings.map((s) => money(s.amount, s.currency)).join(' + ') || '—'}${
    k.unpriced ? ` <span class="muted">(${k.unpriced} without a price)</span>` : ''
  }</td>
</tr>`,
    )
    .join('\n');
  const kindOptions = Object.entries(KIND_LABELS)
    .map(([k, label]) => `<option value="${h(k)}">${h(label)}</option>`)
    .join('');
  const appOptions = apps.map((a) => `<option value="${h(a.app)}">${h(a.app)}</option>`).join('');
  return `<section aria-labelledby="findings-h">
<h2 id="findings-h">Open findings</h2>
<table id="findings-by-kind">
<caption>Open findings by kind, with annualized savings</caption>
<thead><tr><th scope="col">Kind</th><th scope="col">Open</th><th scope="col">Seats</th><th scope="col">Savings / year</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="4">No open findings.</td></tr>'}
</tbody>
</table>
<form class="filters" id="findings-filter" aria-label="Filter findings">
  <label for="findings-kind">Kind</label>
  <select id="findings-kind" name="kind"><option value="">All kinds</option>${kindOptions}</select>
  <label for="findings-app">App</label>
  <select id="findings-app" name="app"><option value="">All apps</option>${appOptions}</select>
</form>
<div class="scroll">
<table id="findings-list" data-endpoint="/dashboard/api/findings">
<caption>Open findings, largest savings first <span class="status" aria-live="polite"></span></caption>
<thead><tr><th scope="col">Kind</th><th scope="col">App</th><th scope="col">Account</th><th scope="col">Person</th><th scope="col">Seats</th><th scope="col">Savings / year</th><th scope="col">Since</th></tr></thead>
<tbody><tr><td colspan="7" class="muted">Loading…</td></tr></tbody>
</table>
</div>
<nav class="pager" aria-label="Findings pages" data-for="findings-list"></nav>
</section>`;
}

function savingsSection(savings: SavingsRow[]): string {
  const rows = savings
    .filter((r) => r.by === 'app')
    .map(
      (r) => `<tr><th scope="row">${h(r.app)}</th>
  <td class="num">${money(r.potential, r.currency)}</td><td class="num">${count(r.openFindings)}</td>
  <td class="num">${money(r.realized, r.currency)}</td><td class="num">${count(r.reclaimedFindings)}</td></tr>`,
    )
    .join('\n');
  const totals = savings
    .filter((r) => r.by === 'total')
    .map(
      (r) => `<tr class="total"><th scope="row">All apps${r.currency ? ` (${h(r.currency)})` : ''}</th>
  <td class="num" data-col="potential">${money(r.potential, r.currency)}</td><td class="num">${count(r.openFindings)}</td>
  <td class="num" data-col="realized">${money(r.realized, r.currency)}</td><td class="num">${count(r.reclaimedFindings)}</td></tr>`,
    )
    .join('\n');
  return `<section aria-labelledby="savings-h">
<h2 id="savings-h">Savings: realized and potential</h2>
<table id="savings">
<caption>Potential savings (open findings) and realized savings (reclaimed seats), per year</caption>
<thead><tr><th scope="col">App</th><th scope="col">Potential</th><th scope="col">Open findings</th><th scope="col">Realized</th><th scope="col">Reclaimed seats</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="5">No savings yet.</td></tr>'}
</tbody>
${totals ? `<tfoot>${totals}</tfoot>` : ''}
</table>
</section>`;
}

function renewalsSection(renewals: RenewalRow[]): string {
  const rows = renewals
    .map(
      (r) => `<tr data-license="${r.licenseId}"${r.status === 'cancel-by passed' ? ' class="warn"' : ''}>
  <th scope="row">${h(r.product)} <span class="muted">${h(r.sku)}</span></th>
  <td><time datetime="${h(r.cancelBy)}">${h(r.cancelBy)}</time></td>
  <td><time datetime="${h(r.renewalDate)}">${h(r.renewalDate)}</time></td>
  <td class="num">${count(r.quantity)}</td><td class="num">${count(r.consumed)}</td>
  <td class="num">${count(r.recommendedQuantity)}</td>
  <td class="num">${money(r.annualCost, r.currency)}</td><td class="num">${money(r.savings, r.currency)}</td>
  <td>${h(r.status)}${r.autoRenew ? ' · auto-renews' : ''}</td>
</tr>`,
    )
    .join('\n');
  return `<section aria-labelledby="renewals-h">
<h2 id="renewals-h">Renewals calendar</h2>
<div class="scroll">
<table id="renewals">
<caption>Renewals in the next 12 months, by cancel-by date (the last day to cancel or resize)</caption>
<thead><tr><th scope="col">License</th><th scope="col">Cancel by</th><th scope="col">Renews</th><th scope="col">Seats</th><th scope="col">Consumed</th><th scope="col">Recommended</th><th scope="col">Cost / year</th><th scope="col">Saves</th><th scope="col">Status</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="9">No renewals in the next 12 months (renewal dates come from contracts or the vendor).</td></tr>'}
</tbody>
</table>
</div>
</section>`;
}

function importsSection(imports: ImportHealth[]): string {
  const rows = imports
    .map((i) => {
      const healthy = i.lastOutcome === 'succeeded' || i.lastOutcome === 'running';
      const state = i.lastOutcome === 'never' ? 'not imported yet' : i.lastOutcome;
      return `<tr data-source="${h(i.source)}" class="${healthy ? '' : 'warn'}">
  <th scope="row">${h(i.source)}${i.configured ? '' : ' <span class="muted">(not configured)</span>'}</th>
  <td data-col="outcome">${h(state)}</td><td>${when(i.lastFinishedAt ?? i.lastStartedAt)}</td>
  <td>${when(i.lastSuccessAt)}</td><td class="num">${count(i.failuresSinceSuccess)}</td>
  <td class="num">${count(i.licenses)}</td><td>${h(i.lastError ?? '')}</td>
</tr>`;
    })
    .join('\n');
  return `<section aria-labelledby="imports-h">
<h2 id="imports-h">Import health</h2>
<div class="scroll">
<table id="imports">
<caption>Last import per connector</caption>
<thead><tr><th scope="col">Connector</th><th scope="col">Last run</th><th scope="col">At</th><th scope="col">Last success</th><th scope="col">Failures since</th><th scope="col">Licenses</th><th scope="col">Error</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="7">No connector has imported yet.</td></tr>'}
</tbody>
</table>
</div>
</section>`;
}

function inventoryTable(
  id: string,
  title: string,
  caption: string,
  columns: InventoryColumn[],
  filters: string,
): string {
  const head = columns
    .map(
      (c) =>
        `<th scope="col" data-key="${h(c.key)}" data-type="${c.type}"${c.sortable ? ' aria-sort="none"' : ''}>${
          c.sortable ? `<button type="button" class="sort">${h(c.label)}</button>` : h(c.label)
        }</th>`,
    )
    .join('');
  return `<section aria-labelledby="${id}-h" class="inventory" data-table="${id}">
<h3 id="${id}-h">${h(title)}</h3>
<form class="filters" aria-label="Filter ${h(title)}">
  <label for="${id}-q">Search</label>
  <input id="${id}-q" name="q" type="search" autocomplete="off">
  ${filters}
  <button type="submit">Filter</button>
  <a class="csv" href="/dashboard/api/inventory/${id}.csv" download>Export CSV</a>
</form>
<div class="scroll">
<table id="inventory-${id}" data-endpoint="/dashboard/api/inventory/${id}">
<caption>${h(caption)} <span class="status" aria-live="polite"></span></caption>
<thead><tr>${head}</tr></thead>
<tbody><tr><td colspan="${columns.length}" class="muted">Loading…</td></tr></tbody>
</table>
</div>
<nav class="pager" aria-label="${h(title)} pages" data-for="inventory-${id}"></nav>
</section>`;
}

/** The dashboard for an actor allowed to read it. */
export function dashboardPage(
  actor: Actor,
  summary: DashboardSummary,
  columns: Record<string, InventoryColumn[]>,
  /** HTML shown above the page's content (the demo notice), or ''. */
  notice = '',
): string {
  const statusFilter = (id: string) => `<label for="${id}-status">Status</label>
  <select id="${id}-status" name="status"><option value="">Any</option><option value="used">used</option><option value="unused">unused</option><option value="invalid">invalid</option></select>`;
  const yesNo = (id: string, name: string, label: string) => `<label for="${id}-${name}">${label}</label>
  <select id="${id}-${name}" name="${name}"><option value="">Any</option><option value="yes">yes</option><option value="no">no</option></select>`;
  return page(
    'Dashboard · Seatkeeper',
    `<a class="skip" href="#main">Skip to content</a>
${header(actor)}
${notice}
<main id="main" data-generated="${h(summary.generatedAt)}">
<h1>License dashboard</h1>
<p class="muted">As of ${when(summary.generatedAt)}. Read-only: act on seats from Slack, Teams or the console.</p>
${tiles(summary)}
${utilizationSection(summary.apps)}
${findingsSection(summary.findings, summary.apps)}
${savingsSection(summary.savings)}
${renewalsSection(summary.renewals)}
${importsSection(summary.imports)}
<section aria-labelledby="inventory-h">
<h2 id="inventory-h">Inventory</h2>
${inventoryTable('licenses', 'Purchased Licenses / SaaS', 'Every subscription imported from the vendors', columns.licenses ?? [], statusFilter('licenses'))}
${inventoryTable('subscribers', 'Subscribers', 'Every account assigned to a subscription, matched to a person by e-mail', columns.subscribers ?? [], `${yesNo('subscribers', 'active', 'Is active')}${yesNo('subscribers', 'matched', 'Matched')}`)}
${inventoryTable('clearing', 'Clearing Required', 'Accounts whose e-mail matches no person', columns.clearing ?? [], '')}
</section>
</main>
<script src="/dashboard/assets/chart.umd.min.js"></script>
<script src="/dashboard/assets/dashboard.js"></script>`,
  );
}
