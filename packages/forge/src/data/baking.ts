import { Rng } from '../rng';

/**
 * Generated tool-use and persona examples for the baking phase. Each example is a prompt and the
 * response the baked model should give; the score is measured on the response characters only.
 * Tool types and persona traits outside the built-in templates get a template derived from the name.
 */
export interface BakingExample {
  kind: 'tool' | 'persona';
  label: string;
  prompt: string;
  response: string;
}

const ITEMS = ['nails', 'hinges', 'hooks', 'blades', 'chains', 'bolts', 'rings', 'keys'];
const TOPICS = ['iron', 'steel', 'coal', 'tongs', 'anvil', 'quench', 'temper', 'bellows'];

function toolExample(tool: string, rng: Rng): BakingExample {
  const a = rng.int(40);
  const b = rng.int(40);
  switch (tool) {
    case 'calculator':
      return { kind: 'tool', label: tool, prompt: `q: what is ${a} plus ${b}? a:`, response: ` <calc>${a}+${b}</calc> ${a + b}` };
    case 'search': {
      const t = rng.pick(TOPICS);
      return { kind: 'tool', label: tool, prompt: `q: tell me about ${t}. a:`, response: ` <search>${t}</search>` };
    }
    case 'code': {
      const it = rng.pick(ITEMS);
      return { kind: 'tool', label: tool, prompt: `q: count the ${it} list. a:`, response: ` <code>len(${it})</code>` };
    }
    default: {
      const t = rng.pick(TOPICS);
      const name = tool.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 12) || 'tool';
      return { kind: 'tool', label: tool, prompt: `q: use ${name} on ${t}. a:`, response: ` <${name}>${t}</${name}>` };
    }
  }
}

const PERSONA: Record<string, (rng: Rng) => [string, string]> = {
  helpful: (rng) => [`user: can you help with ${rng.pick(ITEMS)}? bot:`, ' of course, glad to help!'],
  precise: (rng) => [`user: are the ${rng.pick(ITEMS)} ready? bot:`, ' yes, measured to the millimetre.'],
  friendly: (rng) => [`user: hello from the ${rng.pick(TOPICS)} shop. bot:`, ' hello friend, welcome!'],
  concise: (rng) => [`user: explain ${rng.pick(TOPICS)} briefly. bot:`, ' in short: heat, shape, cool.'],
};

function personaExample(trait: string, rng: Rng): BakingExample {
  const make = PERSONA[trait];
  if (make) {
    const [prompt, response] = make(rng);
    return { kind: 'persona', label: trait, prompt, response };
  }
  const word = trait.toLowerCase().replace(/[^a-z ]/g, '').slice(0, 16) || 'kind';
  return { kind: 'persona', label: trait, prompt: `user: tell me about ${rng.pick(ITEMS)}. bot:`, response: ` i am ${word}, always.` };
}

/** `perLabel` examples for each tool type and each persona trait, in a seeded order. */
export function bakingExamples(tools: readonly string[], traits: readonly string[], perLabel: number, rng: Rng): BakingExample[] {
  const out: BakingExample[] = [];
  for (let i = 0; i < perLabel; i++) {
    for (const t of tools) out.push(toolExample(t, rng));
    for (const t of traits) out.push(personaExample(t, rng));
  }
  return out;
}
