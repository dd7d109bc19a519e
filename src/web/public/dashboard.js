// The dashboard's interactive parts: the trend chart (Chart.js) and the server-side sorted, filtered and paged
// tables. Every number comes from /dashboard/api/…; nothing is computed here.
(() => {
  const PAGE_SIZE = 25;
  const fmt = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US'));

  async function getJson(url) {
    const answer = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    const body = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(body.error?.message ?? `${answer.status} ${answer.statusText}`);
    return body;
  }

  // ─── trend chart ───────────────────────────────────────────────────────────────────────────────────────────
  let chart;
  async function drawTrend() {
    const canvas = document.getElementById('trend-chart');
    if (!canvas || !window.Chart) return;
    const app = document.getElementById('trend-app').value;
    const days = document.getElementById('trend-days').value;
    const params = new URLSearchParams({ days });
    if (app) params.set('app', app);
    const { points } = await getJson(`/dashboard/api/trend?${params}`);
    document.getElementById('trend-empty').hidden = points.length > 0;
    const data = {
      labels: points.map((p) => p.date),
      datasets: [
        {
          label: 'Purchased',
          data: points.map((p) => p.purchased),
          borderColor: '#2e6b5e',
          backgroundColor: '#2e6b5e',
        },
        {
          label: 'Consumed',
          data: points.map((p) => p.consumed),
          borderColor: '#c77700',
          backgroundColor: '#c77700',
        },
        {
          label: 'Active',
          data: points.map((p) => p.active),
          borderColor: '#3a5fcd',
          backgroundColor: '#3a5fcd',
        },
      ],
    };
    if (chart) {
      chart.data = data;
      chart.update();
    } else {
      chart = new window.Chart(canvas, {
        type: 'line',
        data,
        options: {
          animation: false,
          maintainAspectRatio: false,
          interaction: { mode: 'index', intersect: false },
          scales: { y: { beginAtZero: true, title: { display: true, text: 'Seats' } } },
        },
      });
    }
    canvas.dataset.points = String(points.length);
    canvas.dataset.drawn = 'true';
  }

  // ─── tables ────────────────────────────────────────────────────────────────────────────────────────────────
  function cell(value, type) {
    const td = document.createElement('td');
    if (type === 'number') td.className = 'num';
    if (value === null || value === undefined) td.textContent = '—';
    else if (type === 'boolean') td.textContent = value ? 'yes' : 'no';
    else if (type === 'datetime') td.textContent = `${String(value).slice(0, 16).replace('T', ' ')} UTC`;
    else if (type === 'number') td.textContent = fmt(value);
    else td.textContent = String(value);
    return td;
  }

  function pager(table, state, page, reload) {
    const nav = document.querySelector(`nav.pager[data-for="${table.id}"]`);
    if (!nav) return;
    nav.replaceChildren();
    const from = page.total === 0 ? 0 : page.offset + 1;
    const to = page.offset + page.rows.length;
    const info = document.createElement('span');
    info.textContent = `${fmt(from)}–${fmt(to)} of ${fmt(page.total)}${page.totalCapped ? '+' : ''}`;
    const button = (label, offset, disabled) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = label;
      b.disabled = disabled;
      b.addEventListener('click', () => {
        state.offset = offset;
        reload();
      });
      return b;
    };
    nav.append(
      button('Previous', Math.max(page.offset - page.limit, 0), page.offset === 0),
      info,
      button('Next', page.offset + page.limit, to >= page.total),
    );
  }

  function setStatus(table, text) {
    const status = table.querySelector('caption .status');
    if (status) status.textContent = text;
  }

  function inventory(section) {
    const name = section.dataset.table;
    const table = section.querySelector('table');
    const form = section.querySelector('form');
    const csv = section.querySelector('a.csv');
    const heads = [...table.querySelectorAll('thead th')];
    const state = { sort: undefined, dir: 'asc', offset: 0, filter: {} };

    async function load() {
      const params = new URLSearchParams({
        limit: String(PAGE_SIZE),
        offset: String(state.offset),
        dir: state.dir,
      });
      if (state.sort) params.set('sort', state.sort);
      const filter = new URLSearchParams();
      for (const [k, v] of Object.entries(state.filter)) if (v) filter.set(k, v);
      for (const [k, v] of filter) params.set(k, v);
      csv.href = `/dashboard/api/inventory/${name}.csv${filter.size ? `?${filter}` : ''}`;
      setStatus(table, 'loading…');
      table.setAttribute('aria-busy', 'true');
      try {
        const page = await getJson(`${table.dataset.endpoint}?${params}`);
        state.sort = page.sort;
        const body = table.tBodies[0];
        body.replaceChildren();
        for (const row of page.rows) {
          const tr = document.createElement('tr');
          for (const c of page.columns) tr.append(cell(row[c.key], c.type));
          body.append(tr);
        }
        if (page.rows.length === 0) {
          const tr = document.createElement('tr');
          const td = document.createElement('td');
          td.colSpan = page.columns.length;
          td.textContent = 'Nothing matches.';
          tr.append(td);
          body.append(tr);
        }
        for (const th of heads) {
          if (!th.hasAttribute('aria-sort')) continue;
          th.setAttribute(
            'aria-sort',
            th.dataset.key === page.sort ? (page.dir === 'asc' ? 'ascending' : 'descending') : 'none',
          );
        }
        table.dataset.total = String(page.total);
        setStatus(table, `(${fmt(page.total)}${page.totalCapped ? '+' : ''} rows)`);
        pager(table, state, page, load);
      } catch (error) {
        setStatus(table, `could not load: ${error.message}`);
      } finally {
        table.removeAttribute('aria-busy');
      }
    }

    for (const th of heads) {
      const button = th.querySelector('button.sort');
      if (!button) continue;
      button.addEventListener('click', () => {
        const key = th.dataset.key;
        state.dir = state.sort === key && state.dir === 'asc' ? 'desc' : 'asc';
        state.sort = key;
        state.offset = 0;
        load();
      });
    }
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      state.filter = Object.fromEntries(new FormData(form));
      state.offset = 0;
      load();
    });
    for (const select of form.querySelectorAll('select')) {
      select.addEventListener('change', () => form.requestSubmit());
    }
    load();
  }

  function findingsList() {
    const table = document.getElementById('findings-list');
    const form = document.getElementById('findings-filter');
    if (!table || !form) return;
    const state = { offset: 0 };
    const labels = {};
    for (const option of document.getElementById('findings-kind').options)
      labels[option.value] = option.textContent;
    async function load() {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(state.offset) });
      for (const [k, v] of new FormData(form)) if (v) params.set(k, String(v));
      setStatus(table, 'loading…');
      try {
        const page = await getJson(`${table.dataset.endpoint}?${params}`);
        const body = table.tBodies[0];
        body.replaceChildren();
        for (const f of page.rows) {
          const tr = document.createElement('tr');
          tr.dataset.kind = f.kind;
          tr.append(
            cell(labels[f.kind] ?? f.kind),
            cell(f.app),
            cell(f.account),
            cell(f.person),
            cell(f.seats, 'number'),
            cell(f.savings === null ? null : `${fmt(Math.round(f.savings))} ${f.currency}`),
            cell(f.firstSeenAt?.slice(0, 10)),
          );
          body.append(tr);
        }
        if (page.rows.length === 0) {
          const tr = document.createElement('tr');
          const td = document.createElement('td');
          td.colSpan = 7;
          td.textContent = 'No open findings match.';
          tr.append(td);
          body.append(tr);
        }
        table.dataset.total = String(page.total);
        setStatus(table, `(${fmt(page.total)} open)`);
        pager(table, state, page, load);
      } catch (error) {
        setStatus(table, `could not load: ${error.message}`);
      }
    }
    for (const select of form.querySelectorAll('select')) {
      select.addEventListener('change', () => {
        state.offset = 0;
        load();
      });
    }
    form.addEventListener('submit', (event) => event.preventDefault());
    load();
  }

  for (const id of ['trend-app', 'trend-days']) {
    document.getElementById(id)?.addEventListener('change', () => drawTrend().catch(console.error));
  }
  drawTrend().catch((error) => {
    const empty = document.getElementById('trend-empty');
    empty.hidden = false;
    empty.textContent = `The trend could not be loaded: ${error.message}`;
  });
  findingsList();
  for (const section of document.querySelectorAll('section.inventory')) inventory(section);
})();
