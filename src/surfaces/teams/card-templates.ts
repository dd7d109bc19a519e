/**
 * The Adaptive Card templates in `cards/` (schema 1.5, one per view) and their expansion with
 * `adaptivecards-templating`. Templates only place strings the view models (`card-views.ts`) have already
 * formatted, so the same files serve Teams replies, digests, alerts and the web console.
 */
import { readFileSync } from 'node:fs';
import * as ACData from 'adaptivecards-templating';

/** An Adaptive Card (or any part of one) as JSON. */
export type CardJson = Record<string, unknown>;

/** Every template in `cards/`, by view name. */
export const TEMPLATE_NAMES = [
  'subscribers',
  'seats',
  'persons',
  'clearing',
  'findings',
  'renewals',
  'help',
  'result',
  'confirm',
  'form',
  'error',
  'notice',
  'digest',
] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/** The directory holding the templates (`cards/` at the repository root). */
export const CARDS_DIR = new URL('../../../cards/', import.meta.url);

/** Loaded templates; read once at start-up so a broken file stops the service rather than a reply. */
export class CardTemplates {
  private readonly templates = new Map<TemplateName, ACData.Template>();

  constructor(dir: URL = CARDS_DIR) {
    for (const name of TEMPLATE_NAMES) {
      const file = new URL(`${name}.json`, dir);
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        throw new Error(`Card template ${file.pathname} cannot be read: ${(error as Error).message}`);
      }
      this.templates.set(name, new ACData.Template(json));
    }
  }

  /** Expands a template with a view model; the result is a complete Adaptive Card. */
  expand(name: TemplateName, data: object): CardJson {
    const template = this.templates.get(name);
    if (!template) throw new Error(`no card template '${name}'`);
    return template.expand({ $root: data }) as CardJson;
  }
}
