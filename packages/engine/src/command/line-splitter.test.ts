import { LineSplitter } from './line-splitter';

describe('LineSplitter', () => {
  it('splits chunks at newlines, joins split lines and multi-byte characters, keeps a last unterminated line', () => {
    const lines: string[] = [];
    const s = new LineSplitter(1024, (l) => lines.push(l), () => lines.push('!overflow'));
    const euro = Buffer.from('€');
    s.push(Buffer.from('{"a":1}\r\n{"b"'));
    s.push(Buffer.concat([Buffer.from(':"'), euro.subarray(0, 1)]));
    s.push(Buffer.concat([euro.subarray(1), Buffer.from('"}\nlast')]));
    s.end();
    expect(lines).toEqual(['{"a":1}', '{"b":"€"}', 'last']);
  });

  it('drops an over-long line, reports it once, and goes on with the next', () => {
    const lines: string[] = [];
    const over: string[] = [];
    const s = new LineSplitter(16, (l) => lines.push(l), (p) => over.push(p));
    s.push(Buffer.from('x'.repeat(10)));
    s.push(Buffer.from('x'.repeat(10)));
    s.push(Buffer.from('x'.repeat(10) + '\nok\n'));
    s.end();
    expect(lines).toEqual(['ok']);
    expect(over).toHaveLength(1);
  });
});
