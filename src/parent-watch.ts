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
