/** Real Seatkeeper processes for end-to-end tests: the service and the CLI, as an operator would run them. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/seatkeeper.js', import.meta.url));

export interface RunningService {
  child: ChildProcess;
  port: number;
  url: string;
  /** Every line the service logged so far. */
  lines: string[];
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `seatkeeper start` and resolves once it listens (port 0: it picks a free port). */
export function startServiceProcess(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<RunningService> {
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`service did not start within ${timeoutMs} ms:\n${lines.join('\n')}`));
    }, timeoutMs);
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        const match = /"port":(\d+)/.exec(line);
        if (match && line.includes('http: listening')) {
          clearTimeout(timer);
          const port = Number(match[1]);
          resolve({
            child,
            port,
            url: `http://127.0.0.1:${port}`,
            lines,
            stop: async (signal = 'SIGTERM') => {
              child.kill(signal);
              return exited;
            },
          });
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening:\n${lines.join('\n')}${buffer}`));
    });
  });
}

/** Runs one CLI command to completion. */
export function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}
