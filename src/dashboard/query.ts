// Sorting, filtering and paging the experiment table. Pure, so the server (live) and the
// browser (static report) page through 10,000+ rows with the same rules.
import { isFailed } from "../core/experiment.ts";
import { placeOf } from "../views/ran-on.ts";
import { SORT_KEYS, STATUS_FILTERS } from "./api.ts";
import type { ExperimentRow, RowPage, RowQuery, SortKey, StatusFilter } from "./api.ts";

export const DEFAULT_QUERY: RowQuery = { sort: "id", order: "desc", status: "all", text: "", offset: 0, limit: 100 };
export const MAX_PAGE = 1000;

export function queryRows(rows: readonly ExperimentRow[], query: RowQuery): RowPage {
  const text = query.text.trim().toLowerCase();
  const matching = rows.filter((row) => matchesStatus(row, query.status) && (text === "" || matchesText(row, text)));
  const value = sortValue(query.sort);
  const sign = query.order === "asc" ? 1 : -1;
  matching.sort((a, b) => {
    const byKey = compare(value(a), value(b));
    // Missing values (no metric yet, still running) sink to the end in either order.
    if (byKey.missing !== 0) return byKey.missing;
    return byKey.order * sign || (a.id - b.id) * sign;
  });
  return { total: matching.length, offset: query.offset, rows: matching.slice(query.offset, query.offset + query.limit) };
}

/** Reads a query from URL parameters; throws a RangeError naming the bad parameter. */
export function parseRowQuery(params: URLSearchParams): RowQuery {
  const sort = params.get("sort") ?? DEFAULT_QUERY.sort;
  if (!SORT_KEYS.includes(sort as SortKey)) throw new RangeError(`sort must be one of ${SORT_KEYS.join(", ")}, got "${sort}"`);
  const order = params.get("order") ?? DEFAULT_QUERY.order;
  if (order !== "asc" && order !== "desc") throw new RangeError(`order must be asc or desc, got "${order}"`);
  const status = params.get("status") ?? DEFAULT_QUERY.status;
  if (!STATUS_FILTERS.includes(status as StatusFilter)) throw new RangeError(`status must be one of ${STATUS_FILTERS.join(", ")}, got "${status}"`);
  return {
    sort: sort as SortKey,
    order,
    status: status as StatusFilter,
    text: params.get("text") ?? "",
    offset: integerParam(params, "offset", DEFAULT_QUERY.offset, 0, Number.MAX_SAFE_INTEGER),
    limit: integerParam(params, "limit", DEFAULT_QUERY.limit, 1, MAX_PAGE),
  };
}

export function queryToParams(query: RowQuery): URLSearchParams {
  return new URLSearchParams({ sort: query.sort, order: query.order, status: query.status, text: query.text, offset: String(query.offset), limit: String(query.limit) });
}

function integerParam(params: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = params.get(name);
  if (raw === null || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return value;
}

function matchesStatus(row: ExperimentRow, filter: StatusFilter): boolean {
  if (filter === "all") return true;
  if (filter === "keep" || filter === "discard") return row.decision === filter;
  if (filter === "failed") return isFailed(row.status);
  return row.status === filter;
}

function matchesText(row: ExperimentRow, text: string): boolean {
  return [row.description, row.hypothesis, row.proposer, row.reason ?? "", placeOf(row)].some((field) => field.toLowerCase().includes(text));
}

type Value = number | string | null;

function sortValue(key: SortKey): (row: ExperimentRow) => Value {
  switch (key) {
    case "status": return (row) => statusLabel(row);
    case "duration": return (row) => row.durationMs;
    case "device": return (row) => placeOf(row);
    default: return (row) => row[key];
  }
}

/** What the table shows in the status column: the decision for decided runs, else the status. */
export function statusLabel(row: Pick<ExperimentRow, "status" | "decision">): string {
  return row.status === "ok" && row.decision !== null ? row.decision : row.status;
}

function compare(a: Value, b: Value): { missing: number; order: number } {
  if (a === null || b === null) return { missing: a === b ? 0 : a === null ? 1 : -1, order: 0 };
  if (typeof a === "number" && typeof b === "number") return { missing: 0, order: a - b };
  const left = String(a).toLowerCase();
  const right = String(b).toLowerCase();
  return { missing: 0, order: left < right ? -1 : left > right ? 1 : 0 };
}
