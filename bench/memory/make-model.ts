// bench/memory: writes one cached bf16 model folder of a shape (its own process, so that the several GB of tensors it
// holds while writing never sit in the benchmark's parent). Written beside DIR and renamed into place, so that a
// half-written folder is never taken for a model. Usage: tsx bench/memory/make-model.ts SHAPE LAYERS DIR
import { renameSync, rmSync } from 'node:fs';
import { makeTinyModel } from '../../test/fixtures/tiny-model/index';
import { SHAPES, modelReady, type ShapeKey } from './shapes';

const [key, layers, dir] = process.argv.slice(2);
const shape = SHAPES[key as ShapeKey];
if (!shape || !(Number(layers) > 0) || !dir) {
  process.stderr.write(`usage: tsx bench/memory/make-model.ts ${Object.keys(SHAPES).join('|')} LAYERS DIR\n`);
  process.exit(2);
}
const started = performance.now();
const partial = `${dir}.partial-${process.pid}`;
const made = makeTinyModel(partial, { ...shape.model, layers: Number(layers), dtype: 'bfloat16', seed: 1 });
if (modelReady(dir)) {
  rmSync(partial, { recursive: true, force: true }); // another run made it meanwhile (same seed, same bytes)
} else {
  rmSync(dir, { recursive: true, force: true }); // what an interrupted maker left
  renameSync(partial, dir);
}
process.stderr.write(`made ${dir}: ${shape.label} shape, ${layers} layers, ${made.tensorNames.length} tensors, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
