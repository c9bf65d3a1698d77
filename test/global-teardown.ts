import { removeRecordedTempDirs } from './support/made-dirs';

/** Runs once after every suite: removes the temp dirs the tests' configs were made in. */
export default function globalTeardown(): void {
  removeRecordedTempDirs();
}
