import { defineConfig } from "@playwright/test";

// Each spec file starts its own Sori (see support/sori.ts), so no `webServer` here.
// One worker: on a 2-core machine a second browser and server only add noise to timings.
export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: "list",
  outputDir: "./test-results",
  use: {
    headless: true,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.SORI_CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--disable-gpu",
        "--disable-quic",
        "--disable-sync",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
      ],
    },
  },
});
