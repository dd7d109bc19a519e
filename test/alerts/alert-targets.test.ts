/** Which IT channels alerts go to, from the configuration alone (an import from the command line raises them too). */
import { describe, expect, it } from 'vitest';
import { alertTargets } from '../../src/alerts/alert-targets.ts';
import { loadConfig } from '../../src/config/config.ts';

const SLACK = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'secret', SLACK_ALERT_CHANNEL: 'C0ALERTS' };
const APP = {
  MICROSOFT_APP_ID: '2f9b6e3a-1c4d-4e5f-8a7b-9c0d1e2f3a4b',
  MICROSOFT_APP_PASSWORD: 'x',
  MICROSOFT_APP_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
};

describe('alert targets', () => {
  it('names the Slack alert channel and the Teams channels called alerts or it, each once', () => {
    const config = loadConfig({
      ...SLACK,
      ...APP,
      NODE_ENV: 'production',
      TEAMS_CHANNELS:
        'it=19:a@thread.tacv2,alerts=19:a@thread.tacv2,procurement=19:p@thread.tacv2,digest=19:d@thread.tacv2',
    });
    expect(alertTargets(config)).toEqual([
      { platform: 'slack', channel: 'C0ALERTS' },
      { platform: 'teams', channel: '19:a@thread.tacv2' },
    ]);
  });

  it('names no Slack channel while Slack itself is not configured, and no Teams channel Teams would refuse', () => {
    expect(alertTargets(loadConfig({ SLACK_ALERT_CHANNEL: 'C0ALERTS', NODE_ENV: 'production' }))).toEqual([]);
    // Production without an app id never runs Teams (start-up refuses it): the alerts are not queued for it.
    expect(
      alertTargets(loadConfig({ ...SLACK, NODE_ENV: 'production', TEAMS_CHANNELS: 'it=19:a@thread.tacv2' })),
    ).toEqual([{ platform: 'slack', channel: 'C0ALERTS' }]);
  });

  it('takes the savings threshold from SEATKEEPER_ALERT_MIN_SAVINGS, 500 by default, and refuses a negative one', () => {
    expect(loadConfig({}).SEATKEEPER_ALERT_MIN_SAVINGS).toBe(500);
    expect(loadConfig({ SEATKEEPER_ALERT_MIN_SAVINGS: '1200' }).SEATKEEPER_ALERT_MIN_SAVINGS).toBe(1200);
    expect(() => loadConfig({ SEATKEEPER_ALERT_MIN_SAVINGS: '-1' })).toThrow(/SEATKEEPER_ALERT_MIN_SAVINGS/);
  });
});
