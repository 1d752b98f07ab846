import { runExpiryReminders, type ReminderDeps, type ReminderRun } from './expiry-reminders.js';

export interface ReminderJob {
  /** One pass now (also what the timer runs); passes never overlap within a process. */
  run(): Promise<ReminderRun>;
  /** Stops the timer and waits for a pass under way, so the database is not closed beneath it. */
  stop(): Promise<void>;
}

/** Every `reminderCheckSeconds`, one pass of the expiry reminders; a failing pass is logged, the next runs. */
export function startReminderJob(deps: ReminderDeps): ReminderJob {
  const { config, logger } = deps;
  if (!deps.mailer) logger.info('smtp_url is not set: expiry reminders are recorded, no mail is sent');
  let running: Promise<ReminderRun> | undefined;
  const run = () => {
    running ??= runExpiryReminders(deps)
      .then((done) => {
        logger.debug({ ...done }, 'expiry reminder pass done');
        return done;
      })
      .finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => {
    run().catch((err: Error) => logger.error({ err: { message: err.message } }, 'the expiry reminder pass failed'));
  }, config.reminderCheckSeconds * 1000);
  timer.unref();
  return {
    run,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
      deps.mailer?.close();
    },
  };
}
