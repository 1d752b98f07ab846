import nodemailer from 'nodemailer';

export interface Mail {
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
}

export interface Mailer {
  /** Resolves once the SMTP server accepted the message; rejects when it did not. */
  send(mail: Mail): Promise<void>;
  close(): void;
}

/**
 * SMTP through nodemailer, to `smtpUrl` (`smtp://host:port`, `smtps://…`,
 * with `user:pass@` when the relay wants it). Bounded: a relay that does not
 * answer fails the send after `timeoutMs`, and the reminder is retried later.
 */
export function createSmtpMailer(smtpUrl: string, from: string, timeoutMs = 10_000): Mailer {
  const url = new URL(smtpUrl);
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587,
    secure: url.protocol === 'smtps:',
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return {
    async send(mail) {
      await transport.sendMail({ from, to: [...mail.to], subject: mail.subject, text: mail.text });
    },
    close: () => transport.close(),
  };
}
