/** Terminal renderers for the findings commands' views (view name → rows → text). */
export const FINDINGS_VIEWS: Record<string, (rows: never[]) => string> = {};
