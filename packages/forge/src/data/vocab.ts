/**
 * The fixed character vocabulary every forge model shares (so models can be merged and compared).
 * Index 0 is padding (the left edge of a context window); text is lower-cased and any character
 * outside the vocabulary maps to a space.
 */
export const VOCAB = "\u0000\n abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'-+=<>*/()";
export const VOCAB_SIZE = VOCAB.length;
export const PAD = 0;
export const NEWLINE = 1;
const SPACE = VOCAB.indexOf(' ');

const INDEX = new Map<string, number>([...VOCAB].map((ch, i) => [ch, i]));

export function encode(text: string): Int32Array {
  const lower = text.toLowerCase();
  const out = new Int32Array(lower.length);
  for (let i = 0; i < lower.length; i++) out[i] = INDEX.get(lower[i]!) ?? SPACE;
  return out;
}

export function decode(ids: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) s += VOCAB[ids[i]!] ?? '?';
  return s;
}
