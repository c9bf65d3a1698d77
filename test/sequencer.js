// Test order for Jest (issue #20): e2e suites first, then unit suites, each part in the
// default order (failed last time first, then slowest last time, then largest file). The e2e
// suites are the long ones and mostly wait on podman; started first, they overlap the
// CPU-bound unit suites instead of trailing after them on a fresh clone (no timing cache).
const Sequencer = require('@jest/test-sequencer').default;

class E2eFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const isE2e = (test) => /\.e2e-spec\.ts$/.test(test.path);
    return [...sorted.filter(isE2e), ...sorted.filter((test) => !isE2e(test))];
  }
}

module.exports = E2eFirstSequencer;
