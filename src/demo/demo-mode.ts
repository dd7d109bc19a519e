/**
 * Whether the service starts as the demo. Kept apart from the demo itself, which loads the vendor fakes and the
 * certificate generator: a production start never loads them.
 */
import { type Config, ConfigError, configuredConnectors } from '../config/config.ts';

/**
 * Whether `seatkeeper start` runs the demo: `SEATKEEPER_DEMO=1` always, `0` never, and when unset only if no
 * connector and no chat platform (Slack bot token, Microsoft app id) is configured.
 */
export function demoWanted(config: Config): boolean {
  if (config.SEATKEEPER_DEMO !== undefined) return config.SEATKEEPER_DEMO === '1';
  return (
    configuredConnectors(config).length === 0 &&
    config.SLACK_BOT_TOKEN === undefined &&
    config.MICROSOFT_APP_ID === undefined
  );
}

/** The notice pages show in demo mode (HTML), or an empty string outside it. */
export function demoNoticeHtml(config: Pick<Config, 'SEATKEEPER_DEMO'>): string {
  if (config.SEATKEEPER_DEMO !== '1') return '';
  return '<p class="demo-notice" role="note"><strong>Demo.</strong> A made-up company on local vendor fakes: nothing here is real and nothing leaves this machine. Turn the demo off with <code>SEATKEEPER_DEMO=0</code>.</p>';
}

/**
 * Loads the demo. It runs on the vendor fakes of `test/fakes`, so an installation that left them out gets a clear
 * error rather than a stack trace.
 * @throws ConfigError naming SEATKEEPER_DEMO when the demo cannot be loaded
 */
export async function loadDemo(): Promise<typeof import('./demo.ts')> {
  try {
    return await import('./demo.ts');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigError(
      'SEATKEEPER_DEMO',
      `The demo cannot start: ${(error as Error).message.split('\n')[0]}. It needs the vendor fakes in test/fakes; set SEATKEEPER_DEMO=0 to start without the demo.`,
    );
  }
}
