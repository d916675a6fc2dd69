// How the tests start Debian's Chromium with playwright-core (docs/test/browser.mjs and
// packages/zoo/test/browser.test.ts): headless, no sandbox (root in CI), no background traffic,
// WebGL through SwiftShader.
import { existsSync } from 'node:fs';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** playwright-core's `chromium.launch` options; throws with the fix when Chromium is missing. */
export function chromiumLaunchOptions() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install Debian's chromium (\`node scripts/bootstrap.mjs --test\` does) or set CHROMIUM_PATH`,
    );
  }
  return { executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS] };
}
