import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NVIDIA_SMI_ARGS, meanUtilization, parseNvidiaSmiGpus, probeGpus } from './gpu';

/**
 * Output of `nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu
 * --format=csv,noheader,nounits`, written to the format nvidia-smi(1) documents for
 * `--format=csv,noheader,nounits`: one line per GPU, ", " between fields, no header, no units, and
 * `[N/A]` / `[Not Supported]` for a field the device or driver does not report (e.g. utilization
 * of a MIG-enabled A100). This machine has no GPU, so these are not captured here; the device
 * names are real NVIDIA product names and the memory totals are those products' MiB sizes.
 */
const TWO_RTX_3090 = '0, GPU-5d2c8e3f-9b1a-4c7e-8f60-2a1b3c4d5e6f, NVIDIA GeForce RTX 3090, 24576, 18021, 97\n1, GPU-0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d, NVIDIA GeForce RTX 3090, 24576, 3, 0\n';
const A100_MIG = '0, GPU-8f3e2d1c-0b9a-4876-a543-210fedcba987, NVIDIA A100-SXM4-80GB, 81920, 13, [N/A]\n';
const T4_NOT_SUPPORTED = '0, GPU-11111111-2222-4333-8444-555555555555, Tesla T4, 15360, [Not Supported], [Not Supported]\r\n';

describe('nvidia-smi parsing', () => {
  it('reads every GPU line with its figures', () => {
    expect(parseNvidiaSmiGpus(TWO_RTX_3090)).toEqual([
      { index: 0, uuid: 'GPU-5d2c8e3f-9b1a-4c7e-8f60-2a1b3c4d5e6f', name: 'NVIDIA GeForce RTX 3090', memoryTotalMb: 24576, memoryUsedMb: 18021, utilizationPercent: 97 },
      { index: 1, uuid: 'GPU-0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d', name: 'NVIDIA GeForce RTX 3090', memoryTotalMb: 24576, memoryUsedMb: 3, utilizationPercent: 0 },
    ]);
  });

  it('a figure the device does not report is null, not zero', () => {
    expect(parseNvidiaSmiGpus(A100_MIG)[0]).toMatchObject({ name: 'NVIDIA A100-SXM4-80GB', memoryUsedMb: 13, utilizationPercent: null });
    expect(parseNvidiaSmiGpus(T4_NOT_SUPPORTED)[0]).toMatchObject({ name: 'Tesla T4', memoryTotalMb: 15360, memoryUsedMb: null, utilizationPercent: null });
  });

  it('skips lines that are not GPU rows (warnings, blank lines, truncated output)', () => {
    const noisy = `WARNING: infoROM is corrupted at gpu 0000:65:00.0\n\n${A100_MIG}0, GPU-12\n`;
    expect(parseNvidiaSmiGpus(noisy).map((g) => g.index)).toEqual([0]);
    expect(parseNvidiaSmiGpus('No devices were found\n')).toEqual([]);
    expect(parseNvidiaSmiGpus('')).toEqual([]);
  });

  it('averages measured utilisation only', () => {
    expect(meanUtilization([97, null, 0])).toBe(48.5);
    expect(meanUtilization([null, null])).toBeNull();
    expect(meanUtilization([])).toBeNull();
  });
});

describe('probeGpus', () => {
  const onPath = (process.env.PATH ?? '').split(path.delimiter).some((d) => d !== '' && existsSync(path.join(d, 'nvidia-smi')));
  // The machines this suite runs on have no GPU; on one with nvidia-smi this case does not apply.
  (onPath ? it.skip : it)('on a machine without nvidia-smi finds no GPU', async () => {
    expect(await probeGpus()).toEqual([]);
  });

  const dir = mkdtempSync(path.join(os.tmpdir(), 'af-gpu-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const program = (name: string, body: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  };

  it('runs the program with the documented query and parses what it prints', async () => {
    const argsFile = path.join(dir, 'args');
    const smi = program('nvidia-smi', `printf '%s\\n' "$@" > '${argsFile}'\nprintf '${TWO_RTX_3090.replace(/\n/g, '\\n')}'`);
    const gpus = await probeGpus({ command: smi });
    expect(gpus.map((g) => [g.index, g.utilizationPercent])).toEqual([[0, 97], [1, 0]]);
    expect(readFileSync(argsFile, 'utf8').trim().split('\n')).toEqual([...NVIDIA_SMI_ARGS]);
  });

  it('a failing nvidia-smi (no driver loaded) means no GPU', async () => {
    const smi = program('broken-smi', `echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." ; exit 9`);
    expect(await probeGpus({ command: smi })).toEqual([]);
  });

  it('a hanging nvidia-smi is given up on', async () => {
    const smi = program('hung-smi', 'exec sleep 30');
    expect(await probeGpus({ command: smi, timeoutMs: 200 })).toEqual([]);
  });
});
