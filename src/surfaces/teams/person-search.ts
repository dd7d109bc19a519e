/**
 * The typeahead over persons behind `Input.ChoiceSet` with `Data.Query` (invoke `application/search`, dataset
 * `persons`): name or e-mail, prefix matches first.
 */
import { likePattern } from '../../../handlers/inventory-queries.ts';
import type { Store } from '../../store/store.ts';

export interface PersonChoice {
  title: string;
  value: string;
}

/** Up to `limit` persons whose name or any e-mail contains `text`, prefix matches first; any persons for no text. */
export async function searchPersons(
  store: Store,
  text: string,
  options: { limit: number; skip: number },
): Promise<PersonChoice[]> {
  const query = text.trim().slice(0, 100);
  const found = await store.pool.query<{ primary_email: string; display_name: string | null }>(
    `SELECT p.primary_email, p.display_name
     FROM persons p
     WHERE $1 = '' OR p.display_name ILIKE $2
        OR EXISTS (SELECT 1 FROM person_emails e WHERE e.person_id = p.id AND e.email LIKE lower($2))
     ORDER BY (lower(p.display_name) LIKE lower($3) OR lower(p.primary_email) LIKE lower($3)) DESC,
       lower(COALESCE(p.display_name, p.primary_email)), p.id
     LIMIT $4 OFFSET $5`,
    [query, likePattern(query), `${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`, options.limit, options.skip],
  );
  return found.rows.map((r) => ({
    title: r.display_name ? `${r.display_name} (${r.primary_email})` : r.primary_email,
    value: r.primary_email,
  }));
}
