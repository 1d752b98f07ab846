/**
 * Whether this process was started through npm: `npm start` (npm_lifecycle_event
 * "start") or `npx keyport` / `npm exec` (npm_command "exec"). These are the
 * launches that exit on SIGTERM without passing it on.
 */
export function startedThroughNpm(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.npm_lifecycle_event === 'start' || env.npm_command === 'exec';
}

/**
 * `stop_with_parent` when set; else only when started through npm. A plain
 * `node … serve` under nohup, setsid, a shell script or a process manager
 * keeps running when whatever started it exits.
 */
export function shouldWatchParent(setting: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return setting ?? startedThroughNpm(env);
}

/**
 * Calls `onGone` once when the process that started this one is gone: this
 * process was handed to init (its parent id changed). `npm start` and `npx`
 * exit on SIGTERM without passing it on; a keyport left behind would hold
 * its port, so it stops as if told to. A process started by init or as a
 * container's first process never sees its parent change.
 */
export function watchParent(onGone: () => void, everyMs = 500): NodeJS.Timeout {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, everyMs);
  timer.unref();
  return timer;
}
