/**
 * Worker thread of a replay: builds one partition of the log into a scratch file (see
 * buildPartitionBeside), reporting its position now and then.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PartitionBuild, buildPartition } from './partition-build';

const { build, progressEveryMs } = workerData as { build: PartitionBuild; progressEveryMs: number };
let reported = 0;
buildPartition(build, (position) => {
  const now = Date.now();
  if (now - reported < progressEveryMs) return;
  reported = now;
  parentPort!.postMessage({ position });
});
parentPort!.postMessage({ position: build.until, done: true });
