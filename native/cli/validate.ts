// lora-studio validate — placeholder until its issue lands: it says so instead of pretending to work.
import type { Command } from 'commander';
import { UserError } from '../util/errors';

export function register(program: Command): void {
  program
    .command('validate')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new UserError('"lora-studio validate" is not yet available in this build', { fix: 'update LoRA Studio' });
    });
}
