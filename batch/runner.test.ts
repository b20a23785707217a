import { describe, expect, it } from 'vitest';
import { STEP_NAMES } from './context.ts';
import { summaryTable } from './progress.ts';
import { selectSteps } from './runner.ts';

describe('selectSteps', () => {
  it('runs every step in pipeline order by default', () => {
    expect(selectSteps({})).toEqual([...STEP_NAMES]);
    expect(STEP_NAMES.indexOf('trending')).toBeLessThan(STEP_NAMES.indexOf('load'));
  });

  it('runs one step, or resumes from one', () => {
    expect(selectSteps({ step: 'evaluate' })).toEqual(['evaluate']);
    expect(selectSteps({ from: 'evaluate' })).toEqual(['evaluate', 'refit', 'trending', 'load']);
  });

  it('rejects unknown names and both flags at once, naming the flag', () => {
    expect(() => selectSteps({ step: 'train' })).toThrow(/--step must be one of csv-to-delta/);
    expect(() => selectSteps({ from: 'x' })).toThrow(/--from/);
    expect(() => selectSteps({ step: 'load', from: 'load' })).toThrow(/either --step or --from/);
  });
});

describe('summaryTable', () => {
  it('has one aligned row per step', () => {
    const table = summaryTable([
      {
        step: 'preprocess',
        status: 'done',
        rows: 21254,
        elapsedMs: 54_200,
        stages: 3,
        tasks: 55,
        summary: 'ok',
      },
      { step: 'load', status: 'skipped', rows: 0, elapsedMs: 0, stages: 0, tasks: 0, summary: '' },
    ]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^preprocess\s+done\s+21,254\s+54\.2 s\s+55\s+ok$/);
    expect(lines[3]).toMatch(/^load\s+skipped$/);
  });
});
