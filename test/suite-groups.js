// Which e2e suites `./scripts/test-all.sh` runs one at a time (issue #20, item 5).
//
// The run has two groups that go at once: the concurrent group (every unit suite and every
// e2e suite not listed here, in parallel Jest workers) and the serial group (the suites
// below, in band, one after another). A suite is serial when it uses state of the machine
// that no name prefix makes its own; every other e2e suite must keep to its own names
// (random service/container/image-tag/volume/network prefixes), dynamic ports and its own
// temp dirs, so that it can run beside any other. test/suite-groups.spec.ts checks the list.
//
// Set MCP_TEST_GROUP=serial or =concurrent to make jest.config.js select one group; unset,
// Jest sees every suite (plain `npm test`, or one suite by path).

/** Repository-relative paths, each with what it shares. */
const SERIAL_E2E = {
  // The rootless users (mcp-e2e, mcpfleet1..3) and their podman stores, and the netns fleet.
  'test/e2e/fleet.e2e-spec.ts': 'netns fleet and the mcpfleet1..3 users',
  'test/e2e/rootless-agent.e2e-spec.ts': 'the mcp-e2e user and its podman',
  'test/e2e/rootless-restart.e2e-spec.ts': 'the mcp-e2e user and its podman',
  // useradd/userdel and rewrites /etc/subuid and /etc/subgid, which every rootless podman reads.
  'test/e2e/install.e2e-spec.ts': '/etc/passwd, /etc/subuid, /etc/subgid',
  // The quick start's fixed service name `hello` (container hello-web) in root podman.
  'test/e2e/quickstart.e2e-spec.ts': 'the fixed service name hello in root podman',
  // Counts every host port still bound by conmon/podman as a leak: another suite's container
  // on a port the soak used earlier would read as one.
  'test/bench/soak.e2e-spec.ts': 'host-wide count of ports bound by podman',
};

const SERIAL_PATHS = Object.keys(SERIAL_E2E);

/** A Jest path pattern (regex source) for one repository-relative path. */
function pathPattern(file) {
  return `/${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
}

module.exports = { SERIAL_E2E, SERIAL_PATHS, pathPattern };
