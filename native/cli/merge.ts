// lora-studio merge — placeholder until its issue lands: it says so instead of pretending to work.
import type { Command } from 'commander';
import { UserError } from '../util/errors';

export function register(program: Command): void {
  program
    .command('merge')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new UserError('"lora-studio merge" is not yet available in this build', { fix: 'update LoRA Studio' });
    });
}
