import { EVENT_CHANNELS, type EventType } from '@agent-forge/contracts';

/** Ids of the stream entries the `pipeline` WebSocket channel carries. */
export function pipelineEventIds(stream: Array<[string, string[]]>): string[] {
  return stream
    .filter(([, fields]) => {
      const type = (JSON.parse(fields[fields.indexOf('e') + 1] ?? '{}') as { event_type?: string }).event_type as EventType;
      return EVENT_CHANNELS[type]?.includes('pipeline') ?? false;
    })
    .map(([entryId]) => entryId);
}
