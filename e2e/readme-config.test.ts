import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GatewayEnv } from '../services/gateway/src/config';
import { WorkerEnv } from '../services/pipeline-worker/src/config';
import { RealtimeEnv } from '../services/realtime/src/config';

/** Every setting a service reads is documented in the README, with the default it really has. */
const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

describe.each([
  ['gateway', GatewayEnv],
  ['realtime', RealtimeEnv],
  ['pipeline-worker', WorkerEnv],
])('%s env', (_name, schema) => {
  const defaults = schema.parse({}) as Record<string, unknown>;
  it.each(Object.keys(schema.shape))('documents %s', (variable) => {
    expect(readme).toContain(`\`${variable}\``);
    const value = defaults[variable];
    if (typeof value === 'number' || (typeof value === 'string' && value !== '' && !value.includes(String(process.pid)))) {
      expect(readme).toContain(`\`${String(value)}\``);
    }
  });
});
