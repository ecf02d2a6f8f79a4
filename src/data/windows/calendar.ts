/**
 * Calendar dates of partitioned logs. A partition is named by its local date in the window's
 * time zone; day arithmetic is done on the date itself (as UTC midnight), so a daylight-saving
 * change never skips or repeats a date.
 */

/** `yyyy-MM-dd` of the instant `ms` in `timeZone`. */
export function localDate(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(new Date(ms));
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** The date `days` after `date` (negative: before). */
export function addDays(date: string, days: number): string {
  const t = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/** Fills the date tokens `{yyyy-MM-dd}`, `{yyyy}`, `{MM}`, `{dd}` of a path template. */
export function expandDate(template: string, date: string): string {
  const [yyyy, mm, dd] = date.split('-') as [string, string, string];
  return template
    .replaceAll('{yyyy-MM-dd}', date)
    .replaceAll('{yyyy}', yyyy)
    .replaceAll('{MM}', mm)
    .replaceAll('{dd}', dd);
}

/**
 * The window's dates, oldest first: the `days` complete days before the nominal time's local
 * date (the nominal day itself is still being written).
 */
export function windowDates(nominalMs: number, days: number, timeZone: string): string[] {
  const today = localDate(nominalMs, timeZone);
  return Array.from({ length: days }, (_, i) => addDays(today, i - days));
}
