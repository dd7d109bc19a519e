/**
 * Scheduled and background work on Agenda, stored in the same PostgreSQL database as the inventory. Jobs survive
 * restarts (they are rows) and run once across replicas (Agenda locks a job row before running it).
 *
 * Later features add jobs by registering a `JobDefinition`; nothing else needs to know Agenda.
 */
import { PostgresBackend } from '@agendajs/postgres-backend';
import { Agenda, type Job } from 'agenda';
import type { Metrics } from '../http/metrics.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';

const SCHEMA_LOCK = 7_310_214_002;

export interface JobDefinition<Data = Record<string, unknown>> {
  name: string;
  /** Repeat interval (`'6 hours'`, `'30 minutes'`, a cron expression); omitted for jobs enqueued on demand. */
  every?: string;
  /** How long a run may hold its lock before another replica may take it over. */
  lockLifetimeMs?: number;
  /** Concurrent runs of this job in one process. */
  concurrency?: number;
  run(data: Data, job: Job<Data>): Promise<void>;
}

export interface JobRunnerOptions {
  store: Store;
  log: Logger;
  metrics?: Metrics;
  /** How often to look for due jobs, in seconds. */
  pollSeconds: number;
  /** Identifies this process in the job table (`last_modified_by`). */
  name?: string;
}

export class JobRunner {
  private agenda?: Agenda;
  private readonly definitions = new Map<string, JobDefinition<never>>();
  private started = false;

  constructor(private readonly options: JobRunnerOptions) {}

  /** Registers a job. Call before `start()`. */
  define<Data>(definition: JobDefinition<Data>): void {
    if (this.agenda) throw new Error(`job '${definition.name}' defined after the runner started`);
    if (this.definitions.has(definition.name)) throw new Error(`job '${definition.name}' is defined twice`);
    this.definitions.set(definition.name, definition as JobDefinition<never>);
  }

  /** Starts processing and (re)schedules every repeating job; a repeating job exists once however many replicas. */
  async start(): Promise<void> {
    const { store, log, metrics } = this.options;
    await this.ensureSchema();
    // The embedded database does not carry NOTIFY between connections, so there the runner relies on polling.
    const backend = new PostgresBackend({
      pool: store.pool,
      ensureSchema: false,
      disableNotifications: store.kind === 'embedded',
    });
    // The LISTEN connection re-emits its errors (a server restart, a dropped connection) and reconnects by itself;
    // unheard, such an error would crash the process.
    const channel = backend.notificationChannel as unknown as
      | { on?: (event: 'error', listener: (error: Error) => void) => void }
      | undefined;
    channel?.on?.('error', (error) =>
      log.warn({ err: error }, 'job notifications: connection lost, reconnecting'),
    );
    const agenda = new Agenda({
      backend,
      name: this.options.name ?? `seatkeeper-${process.pid}`,
      processEvery: this.options.pollSeconds * 1000,
      defaultLockLifetime: 10 * 60_000,
    });
    agenda.on('error', (error: Error) => log.error({ err: error }, 'job runner error'));
    for (const definition of this.definitions.values()) {
      agenda.define<unknown>(
        definition.name,
        async (job) => {
          const started = process.hrtime.bigint();
          try {
            await definition.run(job.attrs.data as never, job as never);
            metrics?.jobRuns.inc({ job: definition.name, outcome: 'succeeded' });
          } catch (error) {
            metrics?.jobRuns.inc({ job: definition.name, outcome: 'failed' });
            log.error({ err: error, job: definition.name, jobId: String(job.attrs._id ?? '') }, 'job failed');
            throw error;
          } finally {
            metrics?.jobDuration.observe(
              { job: definition.name },
              Number(process.hrtime.bigint() - started) / 1e9,
            );
          }
        },
        { lockLifetime: definition.lockLifetimeMs, concurrency: definition.concurrency ?? 1 },
      );
    }
    this.agenda = agenda;
    await agenda.start();
    for (const definition of this.definitions.values()) {
      if (definition.every)
        await agenda.every(definition.every, definition.name, {}, { skipImmediate: true });
    }
    this.started = true;
  }

  /** Creates Agenda's tables once: replicas starting together would otherwise race to create them. */
  private async ensureSchema(): Promise<void> {
    const client = await this.options.store.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
      try {
        const exists = await client.query(`SELECT to_regclass('agenda_jobs') IS NOT NULL AS e`);
        if (!exists.rows[0]?.e) {
          const creator = new PostgresBackend({ pool: this.options.store.pool, disableNotifications: true });
          await creator.connect();
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]);
      }
    } finally {
      client.release();
    }
  }

  get isRunning(): boolean {
    return this.started;
  }

  /** Enqueues a run of `name` now; any replica may pick it up. */
  async enqueue(name: string, data: Record<string, unknown> = {}): Promise<string> {
    if (!this.agenda) throw new Error('the job runner is not started');
    if (!this.definitions.has(name)) throw new Error(`no job named '${name}'`);
    const job = await this.agenda.now(name, data);
    return String(job.attrs._id);
  }

  /** Stops taking jobs and unlocks the ones this process holds, so another replica can run them. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.agenda?.stop(false);
  }
}
