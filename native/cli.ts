// lora-studio: the command-line face of the training library (validate, inspect, train, merge, generate,
// compose, compare-methods, export, doctor).
// Each subcommand lives in native/cli/<name>.ts and registers itself on the commander program.
import { Command, CommanderError, type Option } from 'commander';
import { describeFailure, EXIT_USAGE } from './cli/exit';
import { register as registerValidate } from './cli/validate';
import { register as registerInspect } from './cli/inspect';
import { register as registerTrain } from './cli/train';
import { register as registerMerge } from './cli/merge';
import { register as registerGenerate } from './cli/generate';
import { register as registerDoctor } from './cli/doctor';
import { register as registerExport } from './cli/export';
import { register as registerCompose } from './cli/compose';
import { register as registerCompareMethods } from './cli/compare-methods';
import { reportPeakRssOnExit } from './util/peak-rss';
import { version } from '../package.json';

export function buildProgram(): Command {
  const program = new Command('lora-studio')
    .description('Fine-tune LLMs locally with LoRA: validate data, train, merge and generate.')
    .version(version, '--version', 'print the version')
    .showHelpAfterError()
    .configureHelp({ optionDescription: describeOption })
    .exitOverride();
  for (const register of [registerValidate, registerInspect, registerTrain, registerMerge, registerGenerate, registerCompose, registerCompareMethods, registerExport, registerDoctor]) {
    register(program);
  }
  return program;
}

/** An option's help line: required options marked, defaults printed as typed (0.0003, not "0.0003"). */
export function describeOption(option: Option): string {
  const extras: string[] = [];
  if (option.argChoices) extras.push(`choices: ${option.argChoices.join(', ')}`);
  if (option.mandatory) extras.push('required');
  const shown = option.defaultValueDescription ?? (option.defaultValue === undefined || typeof option.defaultValue === 'boolean' ? undefined : String(option.defaultValue));
  if (shown !== undefined && shown !== '') extras.push(`default: ${shown}`);
  return extras.length > 0 ? `${option.description} (${extras.join('; ')})` : option.description;
}

/** Runs the program (started by cli-launch.ts, the executable). */
export async function main(argv: string[]): Promise<void> {
  // compare-methods starts each method as `lora-studio train` and asks for its peak memory this way.
  reportPeakRssOnExit();
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    const { code, message } = describeFailure(error);
    process.stderr.write(`lora-studio: ${message}\n`);
    process.exitCode = code;
  }
}

