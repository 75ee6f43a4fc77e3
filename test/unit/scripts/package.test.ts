// Tests scripts/package.mjs through the folder it stages for vsce (`--stage-only`, the .vsix's files without the
// zipping): CHANGELOG.md ships, README and CHANGELOG links work in VS Code's details page and on the Marketplace, and
// no media/ file ships that nothing uses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join, posix, relative } from 'node:path';

const root = join(import.meta.dirname, '..', '..', '..');
let stage = '';
let shipped: string[] = [];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

before(() => {
  stage = join(mkdtempSync(join(tmpdir(), 'lora-studio-package-test-')), 'stage');
  const run = spawnSync(process.execPath, ['scripts/package.mjs', '--no-build', '--stage-only', stage], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `scripts/package.mjs --stage-only failed (build first: node esbuild.mjs):\n${run.stdout}${run.stderr}`);
  // vsce never ships .vscodeignore itself; everything else staged outside node_modules/ ships as is.
  shipped = filesUnder(stage).map((path) => relative(stage, path).split('\\').join('/')).filter((path) => path !== '.vscodeignore');
});

after(() => {
  if (stage) rmSync(join(stage, '..'), { recursive: true, force: true });
});

/** Link and image targets of Markdown (inline, reference definitions, HTML src/href), code spans and blocks left out. */
function linksOf(markdown: string): string[] {
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
  const patterns = [
    /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+["'][^"']*["'])?\s*\)/g,
    /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/gm,
    /<(?:img|a|video|source)\b[^>]*?\s(?:src|href)=["']([^"']+)["']/g,
  ];
  return patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1]));
}

test('linksOf finds inline links, images, reference definitions and HTML, not code', () => {
  const found = linksOf([
    'See [the docs](docs/a.md) and ![shot](media/b.png "title"), [c][c].',
    '',
    '[c]: https://example.com/c',
    '<img src="media/d.png" width="10"> `[not](code.md)`',
    '```sh',
    '[no](block.md)',
    '```',
  ].join('\n'));
  assert.deepEqual(found.sort(), ['docs/a.md', 'https://example.com/c', 'media/b.png', 'media/d.png'].sort());
});

test('the staged manifest names the repository (vsce rewrites relative links to it) and nothing about developing', () => {
  const manifest = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8')) as Record<string, unknown> & { repository?: { url?: string } };
  assert.match(manifest.repository?.url ?? '', /^https:\/\/github\.com\/[^/]+\/[^/]+?(\.git)?$/);
  for (const key of ['scripts', 'devDependencies', 'devEngines', 'overrides']) assert.ok(!(key in manifest), `the staged manifest keeps "${key}"`);
});

test('README.md, CHANGELOG.md and LICENSE ship', () => {
  for (const file of ['README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']) assert.ok(shipped.includes(file), `${file} is not staged`);
});

test('every media/ file that ships is referenced by the manifest or a bundle, and every one they reference ships', () => {
  const manifest = readFileSync(join(stage, 'package.json'), 'utf8');
  const bundles = shipped.filter((path) => path.startsWith('dist/') && path.endsWith('.js')).map((path) => readFileSync(join(stage, path), 'utf8')).join('\n');
  assert.ok(bundles.length > 0, 'no bundle staged');
  const referenced = (path: string) => manifest.includes(path) || bundles.includes(basename(path));
  const unused = shipped.filter((path) => path.startsWith('media/') && !referenced(path));
  assert.deepEqual(unused, [], `shipped but used by nothing: ${unused.join(', ')} — leave it out of SHIPPED in scripts/package.mjs`);
  const inRepository = filesUnder(join(root, 'media')).map((path) => relative(root, path).split('\\').join('/'));
  const missing = inRepository.filter((path) => referenced(path) && !shipped.includes(path));
  assert.deepEqual(missing, [], `used but not shipped: ${missing.join(', ')} — add it to SHIPPED in scripts/package.mjs`);
});

test("scripts/package.mjs leaves vsce's link rewriting at its defaults, which the checks below reproduce", () => {
  const script = readFileSync(join(root, 'scripts', 'package.mjs'), 'utf8');
  for (const flag of ['--no-rewrite-relative-links', '--baseContentUrl', '--baseImagesUrl', '--githubBranch', '--allow-missing-repository']) {
    assert.ok(!script.includes(flag), `scripts/package.mjs passes ${flag} to vsce; update this test's processor options with it`);
  }
});

type Processor = { processFile(file: { path: string; localPath: string }): Promise<{ contents: Buffer }> };
type ProcessorClass = new (manifest: unknown, options: object) => Processor;

for (const [file, processorName] of [['README.md', 'ReadmeProcessor'], ['CHANGELOG.md', 'ChangelogProcessor']] as const) {
  test(`every link and image in ${file} as vsce ships it is absolute, or a shipped file; repository links name committed files`, async () => {
    // vsce's own Markdown pass with the options scripts/package.mjs leaves at their defaults (relative links rewritten
    // to the repository's blob/HEAD and raw/HEAD; it also refuses non-HTTPS and SVG images).
    const vsce = createRequire(join(root, 'package.json'))('@vscode/vsce/out/package.js') as Record<string, ProcessorClass>;
    const manifest = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8')) as { repository: { url: string } };
    const processed = await new vsce[processorName](manifest, {}).processFile({ path: `extension/${file}`, localPath: join(stage, file) });
    const links = linksOf(processed.contents.toString('utf8'));
    assert.ok(links.length > 0, `no links found in ${file}`);

    const repository = manifest.repository.url.replace(/\.git$/, '');
    const committed = new Set(spawnSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).stdout.split('\n'));
    assert.ok(committed.has('package.json'), 'git ls-files listed nothing: the test needs a git checkout');
    const broken: string[] = [];
    for (const link of links) {
      const target = decodeURI(link.replace(/[#?].*$/, ''));
      if (link.startsWith('#') || /^mailto:/i.test(link)) continue;
      if (target.startsWith(`${repository}/`)) {
        const path = target.slice(repository.length + 1).replace(/^(blob|raw|tree)\/[^/]+\//, '');
        if (!committed.has(path) && ![...committed].some((f) => f.startsWith(`${path.replace(/\/$/, '')}/`))) broken.push(`${link} (not in the repository)`);
      } else if (!/^https?:\/\//i.test(link) && !shipped.includes(posix.normalize(target))) {
        broken.push(`${link} (relative, not shipped)`);
      }
    }
    assert.deepEqual(broken, [], `${file} as shipped has broken links`);
  });
}
