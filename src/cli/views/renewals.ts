/** Terminal renderers for the renewals commands' views (view name → rows → text). */
export const RENEWALS_VIEWS: Record<string, (rows: never[]) => string> = {};
