import * as fs from 'node:fs';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SERIAL_E2E, SERIAL_PATHS, pathPattern } = require('./suite-groups') as {
  SERIAL_E2E: Record<string, string>;
  SERIAL_PATHS: string[];
  pathPattern: (file: string) => string;
};

const ROOT = path.resolve(__dirname, '..');

function e2eSuites(): string[] {
  return ['test/e2e', 'test/bench'].flatMap((dir) =>
    fs
      .readdirSync(path.join(ROOT, dir))
      .filter((name) => name.endsWith('.e2e-spec.ts'))
      .map((name) => `${dir}/${name}`),
  );
}

/** What makes a suite share machine state that no name prefix makes its own. */
const SHARED_STATE = [
  /\bstartRootlessAgent\b|\brootlessUser\(|\bpodmanAs\(/, // the rootless users' podman
  /\bcreateTestLan\(|ip', \['netns'/, // the netns fleet
  /\buseradd\b|\buserdel\b|\/etc\/sub[ug]id/, // the user database every rootless podman reads
];

describe('test/suite-groups.js (which e2e suites scripts/test-all.sh runs one at a time)', () => {
  it('should name only e2e suites that exist, each with what it shares', () => {
    const suites = e2eSuites();
    for (const file of SERIAL_PATHS) {
      expect({ file, exists: suites.includes(file) }).toEqual({ file, exists: true });
      expect(SERIAL_E2E[file].length).toBeGreaterThan(0);
    }
  });

  it('should hold every e2e suite that uses the rootless users, the netns fleet or the user database', () => {
    const sharing = e2eSuites().filter((file) => {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      return SHARED_STATE.some((pattern) => pattern.test(text));
    });
    expect(sharing.length).toBeGreaterThan(0);
    expect(sharing.filter((file) => !SERIAL_PATHS.includes(file))).toEqual([]);
  });

  it('should make a Jest path pattern that matches the one file only', () => {
    const pattern = new RegExp(pathPattern('test/e2e/fleet.e2e-spec.ts'));
    expect(pattern.test(`${ROOT}/test/e2e/fleet.e2e-spec.ts`)).toBe(true);
    expect(pattern.test(`${ROOT}/test/e2e/fleet.e2e-spec.tsx`)).toBe(false);
    expect(pattern.test(`${ROOT}/test/e2e/xfleet.e2e-spec.ts`)).toBe(false);
    expect(pattern.test(`${ROOT}/test/e2e/fleet-e2e-spec.ts`)).toBe(false);
  });
});
