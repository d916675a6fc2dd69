import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REFERENCE, readReference } from '../../../tools/test-support/fixtures.js';
import { resnet } from './helpers.js';

// The `resnet` command as a user runs it: the built bin in a child process.

const torchinfo = readReference<{ cases: Record<string, { total_mult_adds: number; total_params: number }> }>(
  'torchinfo_summary_224.json',
).cases;

describe('resnet summary', () => {
  it('prints torchinfo’s table for resnet50 at 1×3×224×224 (NCHW by default), raw input bytes aside', async () => {
    const { code, stdout, stderr } = await resnet('summary', 'resnet50', '--input', '1,3,224,224');
    expect([code, stderr]).toEqual([0, '']);
    const theirs = readFileSync(join(REFERENCE, 'torchinfo_resnet50_224.txt'), 'utf8').trimEnd().split('\n');
    const ours = stdout.trimEnd().split('\n');
    const differs = theirs.map((l, i) => (l === ours[i] ? null : i)).filter((i) => i !== null);
    expect(differs.map((i) => [theirs[i as number], ours[i as number]])).toEqual([
      ['Input size (kB): 602.17', 'Input size (kB): 602.11'],
    ]);
    expect(ours).toHaveLength(theirs.length);
  });

  it('--columns and --depth select what is shown (torchinfo’s mult-adds table at depth 3)', async () => {
    const { stdout } = await resnet(
      'summary',
      'resnet18',
      '--columns',
      'input_size,output_size,num_params,mult_adds',
      '--depth',
      '3',
    );
    const theirs = readFileSync(join(REFERENCE, 'torchinfo_resnet18_224_mult_adds.txt'), 'utf8').split('\n');
    expect(stdout.split('\n').slice(0, 70)).toEqual(theirs.slice(0, 70));
  });

  it('--layout nhwc takes and shows NHWC shapes', async () => {
    const { code, stdout } = await resnet('summary', 'resnet18', '--input', '2,64,64,3', '--layout', 'nhwc');
    expect(code).toBe(0);
    expect(stdout).toMatch(/├─Conv2d: 1-1\s+\[2, 32, 32, 64\]\s+9,408/);
  });

  it('--format json follows schema resnet-summary/1 with torchinfo’s totals', async () => {
    const { stdout } = await resnet('summary', 'resnet152', '--format', 'json', '--depth', '1');
    const doc = JSON.parse(stdout);
    expect(doc.schema).toBe('resnet-summary/1');
    expect(doc.totals.totalParams).toBe(torchinfo.resnet152_224?.total_params);
    expect(doc.totals.totalMultAdds).toBe(torchinfo.resnet152_224?.total_mult_adds);
    expect(doc.rows.every((r: { depth: number }) => r.depth <= 1)).toBe(true);
  });

  it('--format markdown and html', async () => {
    const md = await resnet('summary', 'resnet20', '--format', 'markdown');
    expect(md.stdout).toContain('| Total params | 269,722 |');
    expect(md.stdout).toContain('[1, 3, 32, 32]');
    const html = await resnet('summary', 'resnet20', '--format', 'html', '--columns', 'all');
    expect(html.stdout.startsWith('<div')).toBe(true);
    expect(html.stdout).not.toMatch(/<script|<link/);
  });

  it.each([
    [['summary'], 2, /summary takes 1 argument, got 0/],
    [['summary', 'resnet51'], 1, /arch: expected one of resnet18/],
    [['summary', 'resnet50', '--input', '1,3,224'], 2, /--input expects 4 positive integers N,C,H,W/],
    [['summary', 'resnet50', '--input', '1,3,0,224'], 2, /--input expects 4 positive integers/],
    [['summary', 'resnet50', '--input', '1,3,-224,224'], 2, /--input expects 4 positive integers/],
    [['summary', 'resnet50', '--input', '1,224,224,3'], 1, /It looks like NHWC: pass .*--layout nhwc/],
    [['summary', 'resnet50', '--columns', 'output_size,flops'], 2, /--columns: unknown column "flops"/],
    [['summary', 'resnet50', '--format', 'yaml'], 2, /--format expects one of text, markdown, html, json/],
    [['summary', 'resnet50', '--layout', 'chw'], 2, /--layout expects one of nchw, nhwc/],
    [['summary', 'resnet50', '--depth=-1'], 2, /--depth expects an integer from 0/],
  ])('%j exits %i with a one-line error', async (args, exit, message) => {
    const { code, stdout, stderr } = await resnet(...args);
    expect(code).toBe(exit);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('resnet zoo mult-adds', () => {
  type Entry = {
    name: string;
    family: string;
    params: number;
    imageSize: number;
    multAdds: number;
    multAdds224: number;
  };
  let listed: Promise<Entry[]> | undefined;
  const zoo = () => (listed ??= resnet('zoo', '--json').then((r) => JSON.parse(r.stdout) as Entry[]));

  it('lists torchinfo’s mult-adds at 1×3×224×224 for every preset (multAdds224)', async () => {
    const entries = await zoo();
    for (const arch of ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152']) {
      const e = entries.find((x) => x.name === arch);
      expect(e?.multAdds224, arch).toBe(torchinfo[`${arch}_224`]?.total_mult_adds);
      expect([e?.imageSize, e?.multAdds], arch).toEqual([224, torchinfo[`${arch}_224`]?.total_mult_adds]);
    }
    const table = (await resnet('zoo')).stdout;
    expect(table).toMatch(/^preset\s+parameters\s+image\s+mult-adds\s/);
    expect(table).toMatch(/resnet50\s+25,557,032\s+224×224\s+4\.09 G\s+resnet50/);
  });

  // He et al. (2015), section 4.2 and Table 6: 0.27M, 0.46M, 0.66M, 0.85M and 1.7M parameters. The
  // paper gives no CIFAR FLOPs; the figures commonly quoted are ~41 M mult-adds for ResNet-20 and
  // ~125 M for ResNet-56 (exact counts are checked against torchinfo's definitions on a torch forward
  // pass in @resnet/summary's oracle test).
  it.each([
    ['resnet20', 0.27, 41],
    ['resnet32', 0.46, undefined],
    ['resnet44', 0.66, undefined],
    ['resnet56', 0.85, 125],
    ['resnet110', 1.7, undefined],
  ] as const)('lists %s at its own 32×32, with the paper’s parameter count (%sM)', async (arch, paperM, quoted) => {
    const e = (await zoo()).find((x) => x.name === arch) as Entry;
    expect(e.imageSize).toBe(32);
    expect(Number((e.params / 1e6).toPrecision(2))).toBe(paperM);
    if (quoted !== undefined) expect(Math.round(e.multAdds / 1e6)).toBe(quoted);
  });

  it('says which image size each preset is listed at', async () => {
    const entries = await zoo();
    for (const e of entries) expect(e.imageSize, e.name).toBe(['cifar', 'plain'].includes(e.family) ? 32 : 224);
    const table = (await resnet('zoo')).stdout;
    expect(table).toMatch(/resnet20\s+269,722\s+32×32\s+40\.55 M\s+-/);
  });
});
