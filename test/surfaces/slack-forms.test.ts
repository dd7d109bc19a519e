/**
 * The generic action plumbing against the real registry: which buttons a command gets, which argument carries a
 * click's idempotency key, what a modal asks for each kind of argument, and that a forged or stale button value is
 * refused.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ArgSpec } from '../../handlers/registry.ts';
import { findCommand } from '../../handlers/registry.ts';
import {
  commandForButton,
  decodeValue,
  idempotencyArg,
  toButton,
  withActionId,
} from '../../src/surfaces/slack/command-buttons.ts';
import { inputFor, PERSON_SELECT } from '../../src/surfaces/slack/forms.ts';
import { SLASH_COMMAND } from '../../src/surfaces/slack/listeners.ts';
import { SLACK_EVENTS_PATH } from '../../src/surfaces/slack/slack-surface.ts';
import {
  bindSlashArgs,
  parseSlash,
  tokenize,
  unescapeToken,
} from '../../src/surfaces/slack/slash-command.ts';

const spec = (name: string) => {
  const found = findCommand(name);
  if (!found) throw new Error(`no command ${name}`);
  return found;
};

describe('Slack buttons and forms on the registry', () => {
  it('offers a button only for a command Slack may run with exactly those arguments', () => {
    expect(commandForButton('findings', ['--recompute'])?.name).toBe('findings');
    expect(
      commandForButton('keep', ['--email', 'a@example.com', '--sku', 'X'], ['reason', 'until'])?.name,
    ).toBe('keep');
    // An argument the command does not have, or a command kept off Slack: no button.
    expect(commandForButton('keep', ['--email', 'a@example.com', '--colour', 'red'])).toBeUndefined();
    expect(commandForButton('keep', ['--email', 'a@example.com'], ['mood'])).toBeUndefined();
    expect(commandForButton('contract set', ['--sku', 'X'])).toBeUndefined();
    expect(commandForButton('no such command', [])).toBeUndefined();
    expect(toButton({ label: 'x', command: 'contract set', tokens: ['--sku', 'X'] })).toBeUndefined();
  });

  it('carries the click id in the value of buttons that change something, and only there', () => {
    const act = toButton({
      label: 'Recompute',
      command: 'findings',
      tokens: ['--recompute'],
      mutating: true,
    });
    const query = toButton({ label: 'Findings', command: 'findings', tokens: [] });
    expect(decodeValue(act?.value)?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(decodeValue(query?.value)?.id).toBeUndefined();
    const reused = toButton({
      label: 'Keep',
      command: 'findings',
      tokens: [],
      mutating: true,
      actionId: '0b7d5c1e-3f5a-4c1d-9a51-7f0e2d3c4b5a',
    });
    expect(decodeValue(reused?.value)?.id).toBe('0b7d5c1e-3f5a-4c1d-9a51-7f0e2d3c4b5a');
  });

  it("passes the click id as the command's own idempotency key where it has one, never as another id", () => {
    expect(idempotencyArg(spec('renewal decide'))?.name).toBe('id');
    expect(idempotencyArg(spec('reclaim'))?.name).toBe('id');
    // `renewal confirm --id` names the decision to confirm: it is required, and not an idempotency key.
    expect(idempotencyArg(spec('renewal confirm'))).toBeUndefined();
    expect(idempotencyArg(spec('keep'))).toBeUndefined();
    const id = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
    expect(withActionId(spec('renewal decide'), ['--sku', 'X', '--decision', 'approve'], id)).toEqual([
      '--sku',
      'X',
      '--decision',
      'approve',
      '--id',
      id,
    ]);
    expect(withActionId(spec('renewal confirm'), ['--id', 'other'], id)).toEqual(['--id', 'other']);
  });

  it('refuses button values that are not ours or are malformed', () => {
    expect(decodeValue(undefined)).toBeUndefined();
    expect(decodeValue('not json')).toBeUndefined();
    expect(decodeValue('{"c":"findings"}')).toBeUndefined();
    expect(decodeValue('{"c":"findings","t":[1]}')).toBeUndefined();
    expect(decodeValue('{"c":"findings","t":[],"id":"DROP TABLE"}')).toBeUndefined();
    expect(decodeValue('{"c":"findings","t":["--kind","idle"]}')).toEqual({
      c: 'findings',
      t: ['--kind', 'idle'],
    });
  });

  it('asks for each argument with the input that fits it', () => {
    const input = (arg: ArgSpec) => inputFor(arg).element as unknown as Record<string, unknown>;
    expect(
      input({ name: 'person', kind: 'option', required: true, description: 'any e-mail of the person' }),
    ).toMatchObject({
      type: 'external_select',
      action_id: PERSON_SELECT,
      min_query_length: 1,
    });
    expect(
      input({ name: 'quantity', kind: 'option', type: 'int', min: 1, description: 'seats' }),
    ).toMatchObject({
      type: 'number_input',
      is_decimal_allowed: false,
      min_value: '1',
    });
    expect(input({ name: 'until', kind: 'option', description: 'end date, YYYY-MM-DD' })).toMatchObject({
      type: 'datepicker',
    });
    expect(input({ name: 'reason', kind: 'option', description: 'why' })).toMatchObject({
      type: 'plain_text_input',
      multiline: true,
    });
    expect(input({ name: 'all-idle', kind: 'flag', description: 'every idle seat' })).toMatchObject({
      type: 'checkboxes',
    });
    expect(inputFor({ name: 'note', kind: 'option', description: 'why' }).optional).toBe(true);
    expect(inputFor({ name: 'reason', kind: 'option', required: true, description: 'why' }).optional).toBe(
      false,
    );
  });

  it('reads /license text as Slack sends it: quotes, escaped mentions, addresses and channels', () => {
    expect(tokenize('keep --reason "on parental leave" --until 2027-01-01')).toEqual([
      'keep',
      '--reason',
      'on parental leave',
      '--until',
      '2027-01-01',
    ]);
    expect(tokenize('keep --reason “smart quotes”')).toEqual(['keep', '--reason', 'smart quotes']);
    expect(unescapeToken('<@U123ABC|ana>')).toEqual({ userId: 'U123ABC' });
    expect(unescapeToken('<mailto:ana@example.com|ana@example.com>')).toBe('ana@example.com');
    expect(unescapeToken('<#C0123|licenses>')).toBe('#licenses');
    expect(unescapeToken('R&amp;D')).toBe('R&D');
    const parsed = parseSlash('share who-has <mailto:ana@example.com|ana@example.com>');
    expect(parsed).toMatchObject({ kind: 'command', share: true, tokens: ['ana@example.com'] });
    expect(parseSlash('findings snooze 42 --until 2027-01-31')).toMatchObject({
      kind: 'command',
      spec: { name: 'findings snooze' },
    });
    expect(parseSlash('   ')).toEqual({ kind: 'help' });
  });

  it('keeps Slack pages small whatever --limit asks for, and remembers the arguments for the next page', () => {
    const bound = bindSlashArgs(spec('who-has'), ['figma', '--limit', '5000', '--offset', '40']);
    expect(bound).toMatchObject({ ok: true, value: { tokens: ['figma'], offset: 40, limit: 20 } });
    const findings = bindSlashArgs(spec('findings'), ['--kind', 'idle']);
    expect(findings).toMatchObject({ ok: true, value: { limit: 10, tokens: ['--kind', 'idle'] } });
  });
});

describe('the Slack app manifest', () => {
  const manifest = readFileSync(new URL('../../manifest/slack/manifest.yaml', import.meta.url), 'utf8');

  it('declares the command, URLs, events and scopes the surface uses', () => {
    expect(manifest).toContain(`command: ${SLASH_COMMAND}\n`);
    // Slash command, events, interactivity and options load: all at the one endpoint.
    expect(
      manifest.match(new RegExp(`https://seatkeeper\\.example\\.com${SLACK_EVENTS_PATH}\\n`, 'g')),
    ).toHaveLength(4);
    expect(manifest).toMatch(/bot_events:\n\s+- app_home_opened\n/);
    expect(manifest).toMatch(/home_tab_enabled: true/);
    for (const scope of [
      'commands',
      'chat:write',
      'chat:write.public',
      'users:read',
      'users:read.email',
      'im:write',
    ]) {
      expect(manifest).toMatch(new RegExp(`\\n\\s+- ${scope.replace('.', '\\.')}\\n`));
    }
    expect(manifest).toMatch(/socket_mode_enabled: false/);
  });
});
