/** A terminal's size in character cells. */
export interface TerminalSize {
  rows: number;
  cols: number;
}

/** What `mcp exec` runs, and where: the first message of an Exec call, as the CLI sends it and the agent reads it. */
export interface ExecStart {
  service: string;
  /** '' for the service's only component. */
  component: string;
  cmd: string[];
  interactive: boolean;
  tty: boolean;
  /** '' for the container's user / workdir. */
  user: string;
  workdir: string;
  /** The terminal's size when tty. */
  size: TerminalSize | undefined;
}
