/**
 * Keyset pagination over time-ordered ids: a query asks for `limit + 1` rows after the cursor; this cuts the
 * page and says where the next one starts (null on the last page).
 */
export function pageOf<T extends { id: string }>(
  rows: T[],
  limit: number,
): { data: T[]; next_cursor: string | null } {
  const data = rows.slice(0, limit);
  return { data, next_cursor: rows.length > limit ? data[data.length - 1]!.id : null };
}
