// Dates and times shown in the organisation's time zone (never the
// browser's): every instant goes through Intl.DateTimeFormat with timeZone.
const cache = new Map();
function fmt(tz, opts) {
  const key = tz + JSON.stringify(opts);
  if (!cache.has(key)) cache.set(key, new Intl.DateTimeFormat('en-GB', { timeZone: tz || 'UTC', ...opts }));
  return cache.get(key);
}

export function time(iso, tz) {
  if (!iso) return '';
  return fmt(tz, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

export function dateTime(iso, tz) {
  if (!iso) return '';
  return fmt(tz, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

// A calendar date (YYYY-MM-DD) is already in the org's zone: format it as UTC.
export function date(d, opts = { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }) {
  if (!d) return '';
  const [y, m, dd] = d.split('-').map(Number);
  return fmt('UTC', opts).format(new Date(Date.UTC(y, m - 1, dd)));
}

export function monthName(ym) {
  const [y, m] = ym.split('-').map(Number);
  return fmt('UTC', { month: 'long', year: 'numeric' }).format(new Date(Date.UTC(y, m - 1, 1)));
}

// Today's date in the zone, YYYY-MM-DD (en-CA formats dates that way).
export function today(tz) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz || 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

export function thisMonth(tz) { return today(tz).slice(0, 7); }

export function shiftMonth(ym, n) {
  const [y, m] = ym.split('-').map(Number);
  const d = new Date(Date.UTC(y, m - 1 + n, 1));
  return d.toISOString().slice(0, 7);
}

export function monthRange(ym) {
  const [y, m] = ym.split('-').map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { from: ym + '-01', to: ym + '-' + String(last).padStart(2, '0'), days: last };
}

export function hours(min) {
  if (min === null || min === undefined) return '';
  return Math.floor(min / 60) + ':' + String(min % 60).padStart(2, '0');
}

export const STATUS_LABEL = {
  present: 'present', late: 'late', absent: 'absent', on_leave: 'on leave',
  half_day: 'half day', holiday: 'holiday', weekend: 'weekend',
};

// One letter per status where a word does not fit (a phone's calendar, the sheet).
export const STATUS_ABBR = { present: 'P', late: 'L', absent: 'A', on_leave: 'V', half_day: '½', holiday: 'H', weekend: 'W' };

export function tzNote(tz) { return 'Times in ' + (tz || 'UTC'); }
