// `npm run prepare`: builds dist/ unless it is newer than every source file.
// npm runs `prepare` on `npm install` and also on every `npx --no-install keyport …`
// inside the project (npm exec links the project's own package first); a full
// rebuild there would cost seconds per command and remove dist/ under anyone
// using it at that moment (a running server, a test run).
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const built = 'dist/src/cli/main.js';

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const sources = ['src', 'migrations', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].filter((path) =>
  existsSync(path),
);
const fresh = existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest));
if (!fresh) execSync('npm run build', { stdio: 'inherit' });
