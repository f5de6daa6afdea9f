import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a byte stream into lines without ever holding more than `maxLineBytes` of one line: a
 * program that writes a huge line (or never a newline) cannot grow the worker's memory. The part
 * of an over-long line is dropped and reported once through `onOverflow`.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  private overflowing = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: (prefix: string) => void,
  ) {}

  push(chunk: Buffer): void {
    this.consume(this.decoder.write(chunk));
  }

  /** End of stream: a last line without a newline still counts. */
  end(): void {
    this.consume(this.decoder.end());
    if (this.buffer.length > 0 && !this.overflowing) this.emit(this.buffer);
    this.buffer = '';
    this.overflowing = false;
  }

  private consume(text: string): void {
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      const piece = text.slice(start, nl);
      if (this.overflowing) this.overflowing = false;
      else this.emit(this.buffer + piece);
      this.buffer = '';
      start = nl + 1;
    }
    if (this.overflowing) return;
    this.buffer += text.slice(start);
    if (Buffer.byteLength(this.buffer) > this.maxLineBytes) {
      this.onOverflow(this.buffer.slice(0, 200));
      this.buffer = '';
      this.overflowing = true;
    }
  }

  private emit(line: string): void {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (Buffer.byteLength(l) > this.maxLineBytes) this.onOverflow(l.slice(0, 200));
    else this.onLine(l);
  }
}
