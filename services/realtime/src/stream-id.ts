/**
 * Redis stream ids (`<ms>-<seq>`), the events' `event_id`s. They must be compared numerically,
 * part by part: as strings "9-0" > "10-0". Both parts are parsed once into numbers; ids Redis
 * makes with `XADD *` are wall-clock milliseconds and small sequences, far inside 2^53, and a
 * client-supplied id outside that range is refused as invalid rather than compared imprecisely.
 */
export type StreamId = readonly [ms: number, seq: number];

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;

export function parseStreamId(value: string): StreamId | null {
  const match = STREAM_ID.exec(value);
  if (!match) return null;
  const ms = Number(match[1]);
  const seq = Number(match[2]);
  return Number.isSafeInteger(ms) && Number.isSafeInteger(seq) ? [ms, seq] : null;
}

/** Negative when a < b, 0 when equal, positive when a > b. */
export function compareStreamIds(a: StreamId, b: StreamId): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

export function formatStreamId(id: StreamId): string {
  return `${id[0]}-${id[1]}`;
}
