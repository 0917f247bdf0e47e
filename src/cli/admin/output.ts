// List output: a JSON array for scripts (--json), else an aligned table for people.

export interface Column<R> {
  header: string;
  value: (row: R) => string | number | boolean | null;
}

export const jsonOption = { type: 'boolean', default: false, describe: 'Print a JSON array' } as const;

function cell(v: string | number | boolean | null): string {
  if (v === null) return '-';
  return String(v);
}

/** Pads every column to its widest cell; numbers are right-aligned. */
export function formatTable<R>(columns: Column<R>[], rows: R[]): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => cell(row[i]!).length)));
  const numeric = columns.map((_, i) => cells.some((row) => typeof row[i] === 'number') && cells.every((row) => typeof row[i] === 'number' || row[i] === null));
  const line = (values: string[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map((row) => line(row.map(cell)))].join('\n') + '\n';
}

/** Writes `records` as JSON, or `rows` through `columns` as a table. */
export function printList<R>(json: boolean, records: R[], columns: Column<R>[]): void {
  process.stdout.write(json ? JSON.stringify(records, null, 2) + '\n' : formatTable(columns, records));
}

/** Milliseconds since the epoch as a short UTC time, for tables. */
export function formatTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

export function say(line: string): void {
  process.stdout.write(line + '\n');
}
