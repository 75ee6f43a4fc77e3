// The engine's methods at run time: `lora-studio train --method`'s choices, which mirror the MethodName union of
// native/protocol.ts. compare-methods and the extension's Compare Methods… list them from here, so a method the
// engine gains is offered without an edit. Engine-free (commander and the train flags only): the extension host reads it.
import { Command } from 'commander';
import { addTrainOptions } from './train-options';

export function engineMethods(): string[] {
  const option = addTrainOptions(new Command('train')).options.find((o) => o.long === '--method');
  return option?.argChoices ? [...option.argChoices] : ['lora'];
}
