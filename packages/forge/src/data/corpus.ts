import { Rng } from '../rng';

/**
 * The shipped text: short lines written for this project (no third-party text), about a village
 * forge. `generatedLines` adds sentences from a small grammar, seeded, so the `scale` knob can grow
 * the corpus without shipping more text.
 */
export const SHIPPED_LINES: readonly string[] = [
  'the smith lit the forge before dawn and the coals began to glow.',
  'iron must be heated until it is orange before it can be shaped.',
  'she struck the hot metal with a heavy hammer, again and again.',
  'the bellows pushed air into the fire and the flames grew tall.',
  'a good blade is folded, hammered, quenched and then tempered.',
  'water hissed when the glowing bar was plunged into the barrel.',
  'the apprentice swept the floor and sorted the scraps of steel.',
  'every tool on the wall had been made in this very workshop.',
  'the anvil rang like a bell each time the hammer came down.',
  'sparks flew across the room and died on the stone floor.',
  'the farmer brought a broken plough and asked for a quick repair.',
  'horseshoes hung in a neat row above the door of the smithy.',
  'by noon the air was thick with smoke and the smell of coal.',
  'the smith wiped her brow and checked the colour of the steel.',
  'a chisel, a punch and a pair of tongs lay beside the anvil.',
  'the village relied on the forge for nails, hinges and hooks.',
  'when the metal cooled too much it had to return to the fire.',
  'patience matters more than strength when you shape iron.',
  'the apprentice learned to read the heat from the glow alone.',
  'rain drummed on the roof while the fire roared inside.',
  'a traveller stopped to watch the work and asked many questions.',
  'the smith explained that harder steel is also more brittle.',
  'tempering trades a little hardness for a lot of toughness.',
  'the finished knife was sharp enough to slice a falling leaf.',
  'at dusk the coals were banked so they would last the night.',
  'the next morning the fire was woken with fresh charcoal.',
  'a cracked bar is worthless, so every heat is watched closely.',
  'the old smith said that the hammer teaches the hand.',
  'children gathered at the window to see the sparks fly.',
  'the merchant paid in silver for a dozen iron brackets.',
  'a wheel rim was heated, fitted and cooled so it shrank tight.',
  'the forge was the warmest place in the village in winter.',
  'good tools are kept clean, oiled and hung in their place.',
  'the apprentice made his first hook and carried it home proudly.',
  'the smith measured twice and struck once, as she always said.',
  'slag was skimmed from the surface of the molten metal.',
  'a spring was coiled around a rod while the steel was still red.',
  'the quench oil smoked and flickered as the blade went in.',
  'nothing was wasted: even the scale was swept up and sold.',
  'when the work was done the smith sat down and drank cold water.',
];

const SUBJECTS = ['the smith', 'the apprentice', 'a traveller', 'the farmer', 'the merchant', 'an old woman', 'the child', 'her brother'];
const VERBS = ['heated', 'shaped', 'carried', 'sharpened', 'polished', 'repaired', 'sold', 'weighed', 'cooled', 'hammered'];
const OBJECTS = ['the blade', 'a horseshoe', 'the iron bar', 'a hinge', 'the plough', 'a bucket of nails', 'the tongs', 'a chain', 'the hook', 'a kettle'];
const PLACES = ['in the forge', 'by the river', 'at the market', 'near the anvil', 'in the yard', 'before dawn', 'after supper', 'in the rain'];
const ENDINGS = ['.', ' with great care.', ' and smiled.', ' twice.', ' without a word.', ' as the sun rose.'];

export function generatedLines(count: number, rng: Rng): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    out.push(`${rng.pick(SUBJECTS)} ${rng.pick(VERBS)} ${rng.pick(OBJECTS)} ${rng.pick(PLACES)}${rng.pick(ENDINGS)}`);
  }
  return out;
}
