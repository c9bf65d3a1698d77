/** For tests and benches only: the real adapter, to drive restic without Nest. */
export { ResticRepository, localPath } from '../restic-repository';
