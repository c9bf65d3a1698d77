import { rootlessUser } from './rootless';

describe(rootlessUser.name, () => {
  const saved = process.env.MCP_E2E_USER;

  afterEach(() => {
    if (saved === undefined) delete process.env.MCP_E2E_USER;
    else process.env.MCP_E2E_USER = saved;
  });

  it('should tell how to prepare the environment when the user does not exist', () => {
    process.env.MCP_E2E_USER = 'mcp-e2e-no-such-user-x';

    expect(() => rootlessUser()).toThrow('rootless e2e environment is not prepared (no user mcp-e2e-no-such-user-x): run scripts/setup-rootless-test-env.sh as root');
  });
});
