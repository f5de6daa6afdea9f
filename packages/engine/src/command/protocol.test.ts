import { parseOutputLine } from './protocol';

describe('parseOutputLine', () => {
  it('accepts each message type of the protocol', () => {
    const lines = [
      { type: 'progress', percent: 12.5, message: 'epoch 1', metrics: { loss: 2.1 } },
      { type: 'metric', name: 'sparsity', value: 0.5 },
      { type: 'checkpoint', state: { step: 3, rng: [1, 2] } },
      { type: 'artifact', name: 'model', path: 'model.bin' },
      { type: 'result', metrics: { final_loss: 1.2 } },
      { type: 'log', level: 'warn', message: 'slow' },
    ];
    for (const l of lines) expect(parseOutputLine(JSON.stringify(l))).toEqual({ ok: true, line: l });
  });

  it('explains what is wrong with a line that is not protocol', () => {
    expect(parseOutputLine('Epoch 1/10 ...')).toEqual({ ok: false, error: 'not JSON' });
    const r = parseOutputLine(JSON.stringify({ type: 'progress', percent: 101 }));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain('percent');
    expect(parseOutputLine(JSON.stringify({ type: 'telemetry' })).ok).toBe(false);
    expect(parseOutputLine(JSON.stringify({ type: 'artifact', name: '../../etc', path: 'x' })).ok).toBe(false);
    expect(parseOutputLine(JSON.stringify({ type: 'checkpoint' })).ok).toBe(false);
    expect(parseOutputLine('[1,2]').ok).toBe(false);
  });
});
