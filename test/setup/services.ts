import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/**
 * A run says what it did not test: the database-facing tests run on every
 * database named here, the Redis paths only with TEST_REDIS_URL. Printed at
 * the start and again at the end of the run, so the closing lines say it too.
 */
function servicesLine(): string {
  const ran: string[] = ['SQLite'];
  const skipped: string[] = [];
  (process.env.TEST_MYSQL_URL ? ran : skipped).push(
    process.env.TEST_MYSQL_URL ? 'MySQL' : 'MySQL (TEST_MYSQL_URL unset)',
  );
  (process.env.TEST_POSTGRES_URL ? ran : skipped).push(
    process.env.TEST_POSTGRES_URL ? 'PostgreSQL' : 'PostgreSQL (TEST_POSTGRES_URL unset)',
  );
  (process.env.TEST_REDIS_URL ? ran : skipped).push(
    process.env.TEST_REDIS_URL ? 'Redis' : 'Redis (TEST_REDIS_URL unset)',
  );
  if (!existsSync('/usr/bin/chromium')) skipped.push('Chromium (/usr/bin/chromium missing: the e2e tests fail)');
  if (!onPath('mariadb-install-db') || !onPath('mariadbd'))
    skipped.push('own MariaDB (mariadb-install-db or mariadbd missing: test/faults/database-stop fails)');
  if (!hasPythonAuthlib()) skipped.push('Python authlib (the client-library tests fail)');
  return `keyport tests ran against: ${ran.join(', ')}; skipped: ${skipped.length ? skipped.join(', ') : 'nothing'}`;
}

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function hasPythonAuthlib(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import authlib, requests'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export default function setup(): () => void {
  const line = servicesLine();
  console.log(line);
  return () => console.log(line);
}
