// Writes the bundled sample dataset: media/sample-data/instructions.jsonl (training) and held-out.jsonl (prompts kept
// out of training, which `npm run demo` evaluates on and asks). The task is a tiny English → Spanish phrase translator:
// "the red cat" → "el gato rojo", "a fat sheep" → "una oveja gorda" — the article and the adjective follow the noun's
// gender and the adjective moves after the noun. It is systematic (each output word depends on one or two input words),
// so an adapter that learns the rule answers phrases it never saw; every held-out phrase combines words that training
// shows in other combinations. Written by this project, computed by code; a seeded generator makes both files
// byte-identical on every run.
// Why these words: the demo model's tokenizer is trimmed to 1,024 ids, so words are split into 2–3 pieces. Adjectives
// (and nouns) that begin with the same piece ("black"/"blue": " b" "l" …) were the ones confused, so each adjective
// and each noun begins with its own first piece; Spanish words without accents avoid multi-byte pieces.
// Usage: node scripts/make-sample-dataset.mjs [--out FILE] [--held-out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const sampleDir = resolve(import.meta.dirname, '..', 'media', 'sample-data');
const out = resolve(flag('--out', resolve(sampleDir, 'instructions.jsonl')));
const heldOutFile = resolve(flag('--held-out', resolve(sampleDir, 'held-out.jsonl')));
/** Phrases kept out of training. */
const HELD_OUT = 12;

// mulberry32: a tiny, well-known seeded PRNG; enough for shuffling.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(20261129);
const shuffle = (list) => {
  for (let i = list.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
};

/** English adjective → Spanish [masculine, feminine]. */
const ADJECTIVES = {
  red: ['rojo', 'roja'], white: ['blanco', 'blanca'], yellow: ['amarillo', 'amarilla'], green: ['verde', 'verde'],
  blue: ['azul', 'azul'], pink: ['rosa', 'rosa'], old: ['viejo', 'vieja'], happy: ['feliz', 'feliz'], tall: ['alto', 'alta'],
  fat: ['gordo', 'gorda'], dark: ['oscuro', 'oscura'], wild: ['salvaje', 'salvaje'], new: ['nuevo', 'nueva'], young: ['joven', 'joven'],
};
/** English noun → [Spanish, feminine]. */
const NOUNS = {
  cat: ['gato', false], dog: ['perro', false], horse: ['caballo', false], toad: ['sapo', false], bull: ['toro', false],
  wolf: ['lobo', false], pig: ['cerdo', false], bear: ['oso', false], ox: ['buey', false], lamb: ['cordero', false],
  sheep: ['oveja', true], goat: ['cabra', true], rat: ['rata', true], ant: ['hormiga', true], moth: ['polilla', true],
  turtle: ['tortuga', true], eel: ['anguila', true], seal: ['foca', true],
};
/** English article → Spanish [masculine, feminine]. */
const ARTICLES = { the: ['el', 'la'], a: ['un', 'una'] };

const records = [];
for (const [article, articleEs] of Object.entries(ARTICLES)) {
  for (const [adjective, adjectiveEs] of Object.entries(ADJECTIVES)) {
    for (const [noun, [nounEs, feminine]] of Object.entries(NOUNS)) {
      const g = feminine ? 1 : 0;
      records.push({ instruction: `Translate into Spanish: ${article} ${adjective} ${noun}`, output: `${articleEs[g]} ${nounEs} ${adjectiveEs[g]}` });
    }
  }
}
shuffle(records);

// Held out: a spread of both articles and both genders, no adjective or noun twice, so the demo's questions differ.
const held = [];
const used = new Set();
for (const record of records) {
  if (held.length === HELD_OUT) break;
  const [, article, adjective, noun] = record.instruction.match(/: (\w+) (\w+) (\w+)$/);
  const feminine = NOUNS[noun][1];
  const sameKind = held.filter((h) => h.article === article && h.feminine === feminine).length;
  if (used.has(adjective) || used.has(noun) || sameKind >= HELD_OUT / 4) continue;
  used.add(adjective).add(noun);
  held.push({ record, article, feminine });
}
const heldOut = held.map((h) => h.record);
const training = records.filter((record) => !heldOut.includes(record));

const write = (file, rows) => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
};
write(out, training);
write(heldOutFile, heldOut);
console.log(`wrote ${training.length} training records to ${out} and ${heldOut.length} held-out records to ${heldOutFile}`);
