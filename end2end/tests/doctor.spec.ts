import { test, expect } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";

const sori = useSori();

test("signed out, the doctor page runs its checks from the browser and lists each result", async ({ page }) => {
  // Two seconds of idling instead of 75: the page takes the time from the address.
  await page.goto(sori.url("/doctor?idle=2"));
  await waitForHydration(page);
  await expect(page.getByRole("heading", { level: 1, name: "Connection doctor", exact: true })).toBeVisible();
  const results = page.getByRole("list", { name: "Results", exact: true }).getByRole("listitem");
  await expect(results).toHaveCount(0);

  await page.getByRole("button", { name: "Run checks", exact: true }).click();
  const status = page.getByRole("status", { name: "Doctor status", exact: true });
  await expect(status).toHaveText("0 failed, 1 with a warning.", { timeout: 20_000 });
  await expect(results).toHaveText([
    /^ok WebSocket upgrade: this browser reached Sori's socket \(instance [0-9a-f]{16}\)$/,
    // The test serves plain http on loopback: the page says what that means, and the fix.
    /^warn Secure connection: this page is served over plain http.*Fix: serve Sori over https/,
    /^ok Round trip: \d+ ms \(median of 5\)$/,
    /^ok Several instances: \d+ probes, all answered by one instance$/,
    /^ok Idle connections: a silent socket stayed open for 2 s, and one with the heartbeat too$/,
  ]);
  await expect(page.getByRole("button", { name: "Run checks", exact: true })).toBeEnabled();
});
