/**
 * `/dashboard`: the compliance dashboard, also the Teams personal tab. The page is rendered on the server from the
 * same aggregates the other surfaces use (`handlers/dashboard.ts`); a small script adds the trend chart and the
 * sortable, filterable inventory tables, which it reads from the JSON endpoints under `/dashboard/api/`. Read-only:
 * nothing here changes the inventory.
 */
import { fileURLToPath } from 'node:url';
import type { Express, Request, Response } from 'express';
import {
  dashboardSummary,
  INVENTORY_TABLES,
  type InventoryFilter,
  type InventoryQuery,
  inventoryColumns,
  inventoryExport,
  inventoryPage,
  openFindings,
  utilizationTrend,
} from '../../handlers/dashboard.ts';
import { csvField } from '../../handlers/export.ts';
import { type Actor, type Failure, type HandlerContext, hasRole } from '../../handlers/types.ts';
import { demoNoticeHtml } from '../demo/demo-mode.ts';
import { dashboardPage, forbiddenPage } from './dashboard-page.ts';
import { PAGE_CSP, requireWebActor, type WebAuthDeps } from './web-auth.ts';

const PUBLIC = fileURLToPath(new URL('./public/', import.meta.url));
const CHART_JS = fileURLToPath(new URL('../../node_modules/chart.js/dist/chart.umd.min.js', import.meta.url));

const STATUS: Record<Failure['code'], number> = {
  NOT_AUTHORIZED: 403,
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAVAILABLE: 503,
  VENDOR_FAILED: 502,
};

function context(deps: WebAuthDeps, res: Response): HandlerContext {
  return {
    store: deps.store,
    config: deps.config,
    actor: res.locals.actor as Actor,
    now: deps.now ?? (() => new Date()),
  };
}

function sendFailure(res: Response, error: Failure): void {
  res.status(STATUS[error.code]).json({ error });
}

const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
function int(v: unknown): number | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  // Not a number stays NaN, and the handler refuses it with a clear message.
  return /^-?\d+$/.test(v) ? Number(v) : Number.NaN;
}

function filterOf(req: Request): InventoryFilter {
  const q = req.query;
  return {
    q: text(q.q),
    app: text(q.app),
    status: text(q.status),
    vendor: text(q.vendor),
    active: text(q.active),
    matched: text(q.matched),
    licenseId: int(q.licenseId),
  };
}

/** Mounts the dashboard page, its assets and its JSON endpoints; every one requires a signed-in actor. */
export function mountDashboard(app: Express, deps: WebAuthDeps): void {
  const auth = requireWebActor(deps);
  const asset = (file: string, type: string) => (_req: Request, res: Response) => {
    res.type(type);
    res.sendFile(file, { maxAge: '1h' });
  };
  // Assets are not secret: the sign-in page may load them before anyone has signed in.
  app.get('/dashboard/assets/chart.umd.min.js', asset(CHART_JS, 'application/javascript'));
  app.get('/dashboard/assets/dashboard.js', asset(`${PUBLIC}dashboard.js`, 'application/javascript'));
  app.get('/dashboard/assets/dashboard.css', asset(`${PUBLIC}dashboard.css`, 'text/css'));

  app.get('/dashboard', auth, async (_req, res, next) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Content-Security-Policy', PAGE_CSP);
      const ctx = context(deps, res);
      if (!hasRole(ctx.actor, 'helpdesk')) {
        // Audited by the handler; the page says what is missing.
        const denied = await dashboardSummary(ctx);
        res
          .status(403)
          .type('html')
          .send(forbiddenPage(ctx.actor, denied.ok ? '' : denied.error.message));
        return;
      }
      const summary = await dashboardSummary(ctx);
      if (!summary.ok) {
        res
          .status(STATUS[summary.error.code])
          .type('html')
          .send(forbiddenPage(ctx.actor, summary.error.message));
        return;
      }
      const columns = Object.fromEntries(INVENTORY_TABLES.map((t) => [t, inventoryColumns(t)]));
      res.type('html').send(dashboardPage(ctx.actor, summary.value, columns, demoNoticeHtml(deps.config)));
    } catch (error) {
      next(error);
    }
  });

  app.get('/dashboard/api/me', auth, (_req, res) => {
    const actor = res.locals.actor as Actor;
    res.json({ id: actor.id, displayName: actor.displayName, email: actor.email, roles: actor.roles });
  });

  app.get('/dashboard/api/summary', auth, async (req, res, next) => {
    try {
      const result = await dashboardSummary(context(deps, res), { renewalDays: int(req.query.days) });
      if (!result.ok) return sendFailure(res, result.error);
      res.json(result.value);
    } catch (error) {
      next(error);
    }
  });

  app.get('/dashboard/api/trend', auth, async (req, res, next) => {
    try {
      const result = await utilizationTrend(context(deps, res), {
        app: text(req.query.app),
        days: int(req.query.days),
      });
      if (!result.ok) return sendFailure(res, result.error);
      res.json({ points: result.value });
    } catch (error) {
      next(error);
    }
  });

  app.get('/dashboard/api/findings', auth, async (req, res, next) => {
    try {
      const result = await openFindings(context(deps, res), {
        kind: text(req.query.kind),
        app: text(req.query.app),
        limit: int(req.query.limit),
        offset: int(req.query.offset),
      });
      if (!result.ok) return sendFailure(res, result.error);
      res.json(result.value);
    } catch (error) {
      next(error);
    }
  });

  app.get('/dashboard/api/inventory/:table.csv', auth, async (req, res, next) => {
    try {
      const table = String(req.params.table);
      const result = await inventoryExport(context(deps, res), table, filterOf(req));
      if (!result.ok) return sendFailure(res, result.error);
      const { columns, batches } = result.value;
      res.type('text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="seatkeeper-${table}.csv"`);
      res.setHeader('Cache-Control', 'no-store');
      res.write(`${columns.map((c) => csvField(c)).join(',')}\r\n`);
      for await (const batch of batches) {
        const chunk = batch
          .map((row) => `${columns.map((c) => csvField(row[c] ?? null)).join(',')}\r\n`)
          .join('');
        // Respect the client's pace: a slow download must not pile a million rows up in memory.
        if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
        if (res.destroyed) return;
      }
      res.end();
    } catch (error) {
      if (res.headersSent) res.destroy(error as Error);
      else next(error);
    }
  });

  app.get('/dashboard/api/inventory/:table', auth, async (req, res, next) => {
    try {
      const dir = text(req.query.dir);
      const query: InventoryQuery = {
        ...filterOf(req),
        sort: text(req.query.sort),
        dir: dir as InventoryQuery['dir'],
        limit: int(req.query.limit),
        offset: int(req.query.offset),
      };
      const result = await inventoryPage(context(deps, res), String(req.params.table), query);
      if (!result.ok) return sendFailure(res, result.error);
      res.json(result.value);
    } catch (error) {
      next(error);
    }
  });
}
