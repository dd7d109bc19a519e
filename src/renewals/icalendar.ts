/**
 * A small iCalendar (RFC 5545) writer for all-day events: CRLF line ends, TEXT escaping (§3.3.11) and content lines
 * folded at 75 octets (§3.1) without splitting a UTF-8 character.
 */

export interface CalendarEvent {
  /** Globally unique and stable across exports, so a subscribed calendar updates the event instead of adding one. */
  uid: string;
  /** First day, `YYYY-MM-DD` (an all-day event). */
  date: string;
  summary: string;
  description?: string;
  categories?: readonly string[];
  /** Adds a display alarm this many days before the event. */
  alarmDaysBefore?: number;
  /** `CONFIRMED` (default) or `CANCELLED`. */
  status?: 'CONFIRMED' | 'CANCELLED';
}

export interface Calendar {
  /** PRODID: who made the calendar. */
  prodId: string;
  /** Shown by calendar apps as the subscription's name. */
  name: string;
  /** DTSTAMP of every event: when this calendar was generated. */
  generatedAt: Date;
  events: readonly CalendarEvent[];
}

/** Escapes a TEXT value: backslash, semicolon, comma and line breaks. */
export function escapeText(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\r\n|\r|\n/g, '\\n');
}

/**
 * Folds one content line into lines of at most 75 octets; each continuation starts with a space (which counts).
 * Splits only between characters, never inside a UTF-8 sequence.
 */
export function foldLine(line: string): string {
  const out: string[] = [];
  let current = '';
  let octets = 0;
  for (const char of line) {
    const size = Buffer.byteLength(char, 'utf8');
    if (octets + size > 75) {
      out.push(current);
      current = ` ${char}`;
      octets = 1 + size;
    } else {
      current += char;
      octets += size;
    }
  }
  out.push(current);
  return out.join('\r\n');
}

const basicDate = (day: string) => day.replaceAll('-', '');

const nextDay = (day: string) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/** `20270630T081500Z`: a UTC DATE-TIME. */
export function utcStamp(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/** Writes a VCALENDAR with one VEVENT per event. */
export function writeCalendar(calendar: Calendar): string {
  const lines: string[] = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    `PRODID:${escapeText(calendar.prodId)}`,
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    `X-WR-CALNAME:${escapeText(calendar.name)}`,
  ];
  const stamp = utcStamp(calendar.generatedAt);
  for (const event of calendar.events) {
    lines.push(
      'BEGIN:VEVENT',
      `UID:${escapeText(event.uid)}`,
      `DTSTAMP:${stamp}`,
      `DTSTART;VALUE=DATE:${basicDate(event.date)}`,
      // DTEND is exclusive: an all-day event ends the next day.
      `DTEND;VALUE=DATE:${basicDate(nextDay(event.date))}`,
      `SUMMARY:${escapeText(event.summary)}`,
    );
    if (event.description) lines.push(`DESCRIPTION:${escapeText(event.description)}`);
    if (event.categories?.length) lines.push(`CATEGORIES:${event.categories.map(escapeText).join(',')}`);
    lines.push(`STATUS:${event.status ?? 'CONFIRMED'}`, 'TRANSP:TRANSPARENT');
    if (event.alarmDaysBefore !== undefined) {
      lines.push(
        'BEGIN:VALARM',
        'ACTION:DISPLAY',
        `DESCRIPTION:${escapeText(event.summary)}`,
        `TRIGGER:-P${event.alarmDaysBefore}D`,
        'END:VALARM',
      );
    }
    lines.push('END:VEVENT');
  }
  lines.push('END:VCALENDAR');
  return `${lines.map(foldLine).join('\r\n')}\r\n`;
}
