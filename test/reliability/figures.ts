/**
 * Figures the reliability tests gather for RELIABILITY.md: each test appends JSON lines to one file named by the
 * environment (set by the suite's global setup), and the report step reads them once the run ends.
 */
import { appendFileSync } from 'node:fs';

export const FIGURES_ENV = 'SEATKEEPER_RELIABILITY_FIGURES';

/** A fault a test injected, and what the measured damage was (both must be 0). */
export interface FaultFigure {
  kind: 'fault';
  area: 'vendor' | 'crash' | 'replicas' | 'security';
  name: string;
  /** What the system did: completed, or failed with this recorded reason. */
  outcome: string;
  lost: number;
  duplicated: number;
}

/** An input family fuzzed, how many cases ran, and how many got an unclear answer or broke the service (must be 0). */
export interface FuzzFigure {
  kind: 'fuzz';
  target: string;
  runs: number;
  unclear: number;
  escalations: number;
}

/** A check with a yes/no answer and what it found. */
export interface CheckFigure {
  kind: 'check';
  name: string;
  result: 'passed' | 'failed' | 'not verifiable here';
  detail: string;
}

export type Figure = FaultFigure | FuzzFigure | CheckFigure;

/** Appends a figure; a no-op when the suite runs without its report step (a single file run by hand). */
export function record(figure: Figure): void {
  const file = process.env[FIGURES_ENV];
  if (!file) return;
  appendFileSync(file, `${JSON.stringify(figure)}\n`);
}
