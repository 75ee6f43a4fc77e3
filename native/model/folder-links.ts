// Where the files of a model folder really are. A model folder comes from anywhere (a download, a colleague, a
// repository), so it is a trust boundary: its names are checked where they are read (safetensors.ts refuses `../` and
// absolute shard names), and here, where its symbolic links lead. Every file read from the folder must resolve inside
// it, or a folder of links would make LoRA Studio read (and merge copy into a new model) any file the user can read:
// `tokenizer_config.json -> ~/.ssh/id_rsa`, a shard linked to /dev/zero.
//
// The Hugging Face cache is the one layout made of links: `models--org--name/snapshots/<rev>/config.json` links to
// `../../blobs/<sha256>`. A link that stays inside that repository's cache folder (the one holding snapshots/ and
// blobs/) is fine. Anything else needs the user's word: `--allow-outside-links` on the commands that read models.
import { existsSync, lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, isAbsolute, sep } from 'node:path';
import { UserError } from '../util/errors';

let outsideLinksAllowed = false;

/** --allow-outside-links: the user vouches for the links of the model folders this process reads. */
export function allowOutsideLinks(allowed = true): void {
  outsideLinksAllowed = allowed;
}

/** The files a tokenizer is loaded from (native/model/tokenizer.ts), for their readers to check first. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'] as const;

/** The flag's help, the same on every command. */
export const ALLOW_OUTSIDE_LINKS_HELP = 'read model files whose symbolic links lead out of the model folder (only for a folder you trust)';

/**
 * The folder the links of `dir` may lead into: its real path, or for a snapshot of the Hugging Face cache
 * (…/models--org--name/snapshots/<rev>) the repository's cache folder …/models--org--name.
 */
export function linkRoot(dir: string): string {
  const real = realpathSync(dir);
  const snapshots = dirname(real);
  const repo = dirname(snapshots);
  const isHfSnapshot = basename(snapshots) === 'snapshots' && basename(repo).startsWith('models--') && isDirectory(join(repo, 'blobs'));
  return isHfSnapshot ? repo : real;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * Refuses, naming each link and where it leads, the files among `files` (paths in the model folder `dir`) whose real
 * path is outside linkRoot(dir) — unless outside links were allowed. Missing files are left to their readers.
 */
export function checkModelFileLinks(dir: string, files: readonly string[], allowed = outsideLinksAllowed): void {
  if (allowed) return;
  let root: string | undefined;
  const outside: string[] = [];
  let first: string | undefined;
  for (const file of files) {
    if (!existsSync(file)) continue;
    root ??= linkRoot(dir);
    const real = realpathSync(file);
    if (inside(root, real)) continue;
    first ??= file;
    // Name the link itself when the file is one; a file reached through a linked subfolder is named by where it leads.
    const link = lstatSync(file).isSymbolicLink() ? ` is a symbolic link to ${readlinkSync(file)}, which leads to ${real}` : ` leads to ${real}`;
    outside.push(`${relative(dir, file) || file}${link}`);
  }
  if (!first || !root) return;
  const where = root === realpathSync(dir) ? `the model folder ${root}` : `the Hugging Face cache folder ${root}`;
  throw new UserError(`${outside.join('; ')} — outside ${where}`, {
    where: { file: first },
    fix: 'copy the real file into the model folder in place of the link (cp --remove-destination "$(readlink -f FILE)" FILE), or, if you trust where the link leads, pass --allow-outside-links to the lora-studio command',
  });
}
