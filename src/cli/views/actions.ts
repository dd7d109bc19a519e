/** Terminal renderers for the actions commands' views (view name → rows → text). */
export const ACTIONS_VIEWS: Record<string, (rows: never[]) => string> = {};
