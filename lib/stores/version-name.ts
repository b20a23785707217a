/**
 * Model version names travel into Redis keys, Qdrant collection names and directory names, so
 * every adapter accepts the same conservative alphabet and rejects anything else up front.
 */
import { ValidationError } from '../errors.ts';

const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function assertVersionName(version: string): string {
  if (!VERSION_NAME.test(version)) {
    throw new ValidationError(
      `model version name ${JSON.stringify(version)} must be 1-128 letters, digits, '.', '_' or '-' and start with a letter or digit`,
    );
  }
  return version;
}

/** A new version name from a time, e.g. `v20261126-051500`; names sort by creation time. */
export function versionNameAt(date: Date = new Date()): string {
  const iso = date.toISOString(); // 2026-11-26T05:15:00.000Z
  return `v${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
}
