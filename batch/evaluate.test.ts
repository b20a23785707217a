import { describe, expect, it } from 'vitest';
import { ValidationError } from '../lib/errors.ts';
import { evaluationWindows, protocolsFor } from './evaluate.ts';

const split = { trainEnd: '2020-09-15', lastDay: '2020-09-22', holdoutDays: 7 };

describe('evaluation windows', () => {
  it('tests the hold-out on every day after training', () => {
    const { windows, skipped } = evaluationWindows(split, ['holdout'], 2);
    expect(windows).toEqual([{ protocol: 'holdout', test: { from: '2020-09-16', to: '2020-09-22' } }]);
    expect(skipped).toEqual([]);
  });

  it('replays the first EVAL_STREAM_DAYS and tests the rest in the prequential protocol', () => {
    const { windows } = evaluationWindows(split, ['prequential'], 2);
    expect(windows).toEqual([
      {
        protocol: 'prequential',
        stream: { from: '2020-09-16', to: '2020-09-17' },
        test: { from: '2020-09-18', to: '2020-09-22' },
      },
    ]);
  });

  it('skips the prequential protocol, saying why, when the stream window leaves no test day', () => {
    const { windows, skipped } = evaluationWindows(split, ['holdout', 'prequential'], 7);
    expect(windows.map((w) => w.protocol)).toEqual(['holdout']);
    expect(skipped[0]).toMatch(/EVAL_STREAM_DAYS \(7\) < HOLDOUT_DAYS \(7\)/);
  });
});

describe('protocolsFor', () => {
  it('reads holdout, prequential and both', () => {
    expect(protocolsFor('holdout')).toEqual(['holdout']);
    expect(protocolsFor('prequential')).toEqual(['prequential']);
    expect(protocolsFor('both')).toEqual(['holdout', 'prequential']);
  });

  it('refuses anything else, naming the flag', () => {
    expect(() => protocolsFor('online')).toThrow(ValidationError);
    expect(() => protocolsFor('online')).toThrow(/--protocol must be holdout, prequential or both/);
  });
});
