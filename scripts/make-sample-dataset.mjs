// Writes the bundled sample dataset, media/sample-data/instructions.jsonl: a few hundred alpaca records written by
// this project (not copied from any published set). Every output is computed by code from the instruction, so each
// record is correct; a seeded generator makes the file byte-identical on every run.
// Usage: node scripts/make-sample-dataset.mjs [--count N] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const count = Number(flag('--count', '400'));
const out = resolve(flag('--out', resolve(import.meta.dirname, '..', 'media', 'sample-data', 'instructions.jsonl')));

// mulberry32: a tiny, well-known seeded PRNG; enough for picking templates and operands.
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
const random = rng(20261124);
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (list) => list[Math.floor(random() * list.length)];

const WORDS = ['river', 'lantern', 'orbit', 'pepper', 'violin', 'canyon', 'meadow', 'harbor', 'pixel', 'quartz', 'saddle',
  'timber', 'velvet', 'walnut', 'zephyr', 'anchor', 'bramble', 'cobalt', 'dune', 'ember', 'falcon', 'glacier', 'hazel', 'island'];
const NAMES = ['Ada', 'Bo', 'Chen', 'Dara', 'Emil', 'Farah', 'Goran', 'Hana', 'Ivo', 'June'];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const words = (n) => Array.from({ length: n }, () => pick(WORDS));
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Each template returns { instruction, input?, output }. */
const templates = [
  () => { const a = int(2, 99), b = int(2, 99); return { instruction: 'Add the two numbers.', input: `${a} and ${b}`, output: String(a + b) }; },
  () => { const a = int(20, 99), b = int(1, 19); return { instruction: 'Subtract the second number from the first.', input: `${a}, ${b}`, output: String(a - b) }; },
  () => { const a = int(2, 12), b = int(2, 12); return { instruction: `What is ${a} times ${b}?`, output: `${a} times ${b} is ${a * b}.` }; },
  () => { const c = int(-20, 40); return { instruction: `Convert ${c} degrees Celsius to Fahrenheit.`, output: `${c} °C is ${Math.round((c * 9) / 5 + 32)} °F.` }; },
  () => { const km = int(1, 50); return { instruction: `How many meters are in ${plural(km, 'kilometer')}?`, output: `${km} km = ${(km * 1000).toLocaleString('en-US')} m.` }; },
  () => { const m = int(61, 600); return { instruction: `Write ${m} minutes as hours and minutes.`, output: `${plural(Math.floor(m / 60), 'hour')} and ${plural(m % 60, 'minute')}` }; },
  () => { const w = pick(WORDS); return { instruction: 'Reverse the letters of the word.', input: w, output: [...w].reverse().join('') }; },
  () => { const w = words(int(3, 5)); return { instruction: 'Write these words in upper case.', input: w.join(' '), output: w.join(' ').toUpperCase() }; },
  () => { const w = words(int(3, 6)); return { instruction: 'Sort the words alphabetically.', input: w.join(', '), output: [...w].sort().join(', ') }; },
  () => { const w = pick(WORDS); const n = [...w].filter((c) => 'aeiou'.includes(c)).length; return { instruction: `How many vowels are in "${w}"?`, output: `"${w}" has ${plural(n, 'vowel')}.` }; },
  () => { const list = Array.from({ length: int(3, 7) }, () => int(1, 99)); return { instruction: 'Find the largest number in the list.', input: list.join(', '), output: String(Math.max(...list)) }; },
  () => { const list = Array.from({ length: int(3, 6) }, () => int(1, 50)); return { instruction: 'Sum the numbers in the list.', input: list.join(' + '), output: String(list.reduce((s, x) => s + x, 0)) }; },
  () => { const n = int(2, 60); return { instruction: `Is ${n} even or odd?`, output: `${n} is ${n % 2 === 0 ? 'even' : 'odd'}.` }; },
  () => { const n = int(2, 97); const prime = n > 1 && Array.from({ length: n - 2 }, (_, i) => i + 2).every((d) => n % d !== 0); return { instruction: `Is ${n} a prime number?`, output: prime ? `Yes, ${n} is prime.` : `No, ${n} is not prime.` }; },
  () => { const d = int(0, 6), k = int(1, 20); return { instruction: `If today is ${WEEKDAYS[d]}, what day is it in ${plural(k, 'day')}?`, output: WEEKDAYS[(d + k) % 7] }; },
  () => { const name = pick(NAMES), age = int(18, 70); return { instruction: 'Turn the details into a JSON object with keys "name" and "age".', input: `${name}, ${age} years old`, output: JSON.stringify({ name, age }) }; },
  () => { const w = words(int(2, 4)); return { instruction: 'Join the words into a snake_case identifier.', input: w.join(' '), output: w.join('_') }; },
  () => { const w = words(int(2, 4)); return { instruction: 'Join the words into a camelCase identifier.', input: w.join(' '), output: w.map((x, i) => (i === 0 ? x : x[0].toUpperCase() + x.slice(1))).join('') }; },
  () => { const a = int(1, 9), b = int(1, 9); return { instruction: 'What does this JavaScript expression evaluate to?', input: `[${a}, ${b}].map(x => x * 2).join('-')`, output: `'${a * 2}-${b * 2}'` }; },
  () => { const n = int(1, 8); return { instruction: 'What does this Python expression return?', input: `len("${'ab'.repeat(n)}")`, output: String(2 * n) }; },
  () => { const n = int(1, 255); return { instruction: `Write ${n} in binary.`, output: n.toString(2) }; },
  () => { const n = int(16, 255); return { instruction: `Write ${n} in hexadecimal.`, output: `0x${n.toString(16)}` }; },
  () => { const w = words(int(3, 5)); return { instruction: 'Make an acronym from the first letters.', input: w.join(' '), output: w.map((x) => x[0].toUpperCase()).join('') }; },
  () => { const p = int(1, 9) * 10, t = int(2, 9) * 10; return { instruction: `What is ${p}% of ${t}?`, output: String((p * t) / 100) }; },
];

mkdirSync(dirname(out), { recursive: true });
const seen = new Set();
const lines = [];
for (let attempts = 0; lines.length < count && attempts < count * 50; attempts += 1) {
  const record = templates[attempts % templates.length]();
  const line = JSON.stringify(record.input === undefined ? { instruction: record.instruction, output: record.output } : record);
  if (seen.has(line)) continue;
  seen.add(line);
  lines.push(line);
}
writeFileSync(out, lines.join('\n') + '\n');
console.log(`wrote ${lines.length} records to ${out}`);
