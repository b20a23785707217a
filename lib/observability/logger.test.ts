import { describe, expect, it } from 'vitest';
import { LogThrottle } from './logger.ts';

describe('LogThrottle', () => {
  it('lets one line through per interval and tells the next how many it held back', () => {
    let t = 1_000;
    const throttle = new LogThrottle(10_000, () => t);
    const lines: number[] = [];
    const log = () => throttle.pass((held) => lines.push(held));
    log();
    t += 1; // held
    log();
    t += 5_000; // held
    log();
    expect(lines).toEqual([0]);
    t += 5_000; // 10 s after the first line
    log();
    expect(lines).toEqual([0, 2]);
    t += 20_000;
    log();
    expect(lines).toEqual([0, 2, 0]);
  });
});
