import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** One simulated host: a network namespace with one interface on the test LAN. */
export interface LanHost {
  /** The network namespace (`ip netns exec <ns> …`). */
  ns: string;
  address: string;
  /** Its link's end on the LAN bridge (inside the LAN namespace); down = cut off. */
  port: string;
}

export interface TestLan {
  /** The namespace that holds the bridge. */
  lan: string;
  hosts: LanHost[];
  /** Takes a host's link down (the cable pulled) or up again. */
  setLink(host: LanHost, up: boolean): void;
  /** Removes every namespace (and with them every link) this LAN made; kills what still runs there. */
  remove(): void;
}

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

/**
 * Several hosts on one machine (issue #12's fleet): a namespace `i12-<id>-lan` holding a
 * bridge, and per host a namespace `i12-<id>-<name>` joined to it by a veth pair, with an
 * address in 10.212.0.0/24. Every name and address lives inside namespaces this creates, so
 * runs never collide with each other or touch the host's network. Needs root.
 */
export function createTestLan(names: string[]): TestLan {
  const id = randomBytes(3).toString('hex');
  const lan = `i12-${id}-lan`;
  const made: string[] = [];
  const hosts: LanHost[] = [];
  const remove = (): void => {
    for (const ns of made.reverse()) {
      let pids: string[] = [];
      try {
        pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean);
      } catch {
        // already gone
      }
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
      try {
        ip('netns', 'delete', ns);
      } catch {
        // already gone
      }
    }
  };
  try {
    ip('netns', 'add', lan);
    made.push(lan);
    ip('-n', lan, 'link', 'set', 'lo', 'up');
    ip('-n', lan, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', lan, 'link', 'set', 'br0', 'up');
    names.forEach((name, index) => {
      const ns = `i12-${id}-${name}`;
      const port = `v${index}`;
      const address = `10.212.0.${10 + index}`;
      ip('netns', 'add', ns);
      made.push(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', lan, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', lan, 'link', 'set', port, 'master', 'br0');
      ip('-n', lan, 'link', 'set', port, 'up');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      hosts.push({ ns, address, port });
    });
  } catch (error) {
    remove();
    throw error;
  }
  return {
    lan,
    hosts,
    setLink: (host, up) => ip('-n', lan, 'link', 'set', host.port, up ? 'up' : 'down'),
    remove,
  };
}
