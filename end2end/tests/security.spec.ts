// Issue #15, item 10: every main page runs under the Content-Security-Policy (nonce-bound
// inline scripts, no 'unsafe-inline') without a single violation, and still hydrates and
// works. Item 14: signing out leaves nothing of the user in the browser's storage.

import { test, expect, type BrowserContext, type Page } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";
import { newPerson } from "../support/people";
import { connection, messages } from "../support/room";

const sori = useSori();

/** Collects CSP violations (the DOM event and the console's report), panics and uncaught errors. */
async function watchForViolations(context: BrowserContext, page: Page) {
  // Init scripts are injected by the browser itself, not subject to the page's policy.
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener("securitypolicyviolation", (event) => {
      seen.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} (${event.sourceFile}:${event.lineNumber})`);
    });
  });
  // Chromium also logs every 4xx answer as a console error (the wrong password below is a
  // 401): only reports of the policy and panics of the app count here.
  const errors: string[] = [];
  page.on("console", (message) => {
    const text = message.text();
    if (/Content Security Policy|Refused to|panicked/i.test(text)) errors.push(text);
  });
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  return {
    async assertNone(where: string) {
      const violations = await page.evaluate(
        () => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? [],
      );
      expect(violations, `CSP violations on ${where}`).toEqual([]);
      expect(errors, `console errors on ${where}`).toEqual([]);
    },
  };
}

test("the main pages load under the security policy with no violation and still work", async ({ browser }) => {
  const { context, page } = await newPerson(sori, browser, "csp", "Csp");
  const watch = await watchForViolations(context, page);

  const response = await page.goto(sori.url("/"));
  const policy = response!.headers()["content-security-policy"];
  expect(policy).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}' 'wasm-unsafe-eval'/);
  expect(policy).not.toContain("unsafe-inline");
  await waitForHydration(page);
  await watch.assertNone("/");

  // A room: created through the form (hydrated), then a message over the socket.
  await page.getByRole("navigation", { name: "Rooms" }).getByRole("button", { name: "New room", exact: true }).click();
  await waitForHydration(page);
  await page.getByLabel("Room name", { exact: true }).fill("Policy");
  await page.getByRole("button", { name: "Create room", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Policy", level: 1 })).toBeVisible();
  await waitForHydration(page);
  await expect(connection(page)).toHaveText("Connected");
  await page.getByRole("textbox", { name: "Message", exact: true }).fill("under the policy");
  await page.getByRole("textbox", { name: "Message", exact: true }).press("Enter");
  await expect(messages(page).getByText("under the policy")).toBeVisible();
  await watch.assertNone("a new room");
  await page.reload();
  await waitForHydration(page);
  await expect(messages(page).getByText("under the policy")).toBeVisible();
  await watch.assertNone("a room");

  await page.goto(sori.url("/settings"));
  await waitForHydration(page);
  await page.getByLabel("Display name", { exact: true }).fill("Csp Renamed");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status").getByText("Saved.")).toBeVisible();
  await watch.assertNone("/settings");

  await page.goto(sori.url("/doctor?idle=1"));
  await waitForHydration(page);
  await page.getByRole("button", { name: "Run checks", exact: true }).click();
  const status = page.getByRole("status", { name: "Doctor status", exact: true });
  await expect(status).toHaveText(/^0 failed/, { timeout: 20_000 });
  await watch.assertNone("/doctor");

  // Signed out: the sign-in page (a form that posts, hydrated).
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await page.waitForURL(sori.url("/"));
  await page.goto(sori.url("/login"));
  await waitForHydration(page);
  await page.getByLabel("Username", { exact: true }).fill("csp");
  await page.getByLabel("Password", { exact: true }).fill("not the password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByText("Wrong username or password.")).toBeVisible();
  await watch.assertNone("/login");
  await context.close();
});

/** Every key and value in the page's localStorage and sessionStorage. */
async function storedEverything(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const all: Record<string, string> = {};
    for (const [name, store] of [["local", localStorage], ["session", sessionStorage]] as const) {
      for (let index = 0; index < store.length; index++) {
        const key = store.key(index)!;
        all[`${name}:${key}`] = store.getItem(key) ?? "";
      }
    }
    return all;
  });
}

test("signing out removes the user's unsent outbox from the browser's storage", async ({ browser }) => {
  const { context, page } = await newPerson(sori, browser, "leaver", "Leaver");
  await page.getByRole("navigation", { name: "Rooms" }).getByRole("button", { name: "New room", exact: true }).click();
  await waitForHydration(page);
  await page.getByLabel("Room name", { exact: true }).fill("Outbox");
  await page.getByRole("button", { name: "Create room", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Outbox", level: 1 })).toBeVisible();
  await waitForHydration(page);
  await expect(connection(page)).toHaveText("Connected");

  // The post cannot reach the server, so it waits in the outbox, which is kept in storage.
  await page.route("**/api/messages/send", (route) => route.abort("connectionrefused"));
  await page.getByRole("textbox", { name: "Message", exact: true }).fill("a secret not yet sent");
  await page.getByRole("textbox", { name: "Message", exact: true }).press("Enter");
  await expect
    .poll(async () => JSON.stringify(await storedEverything(page)))
    .toContain("a secret not yet sent");
  const before = await storedEverything(page);
  const userKeys = Object.keys(before).filter((key) => key.startsWith("local:sori.outbox."));
  expect(userKeys).toHaveLength(1);

  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await page.waitForURL(sori.url("/"));
  await waitForHydration(page);
  const after = await storedEverything(page);
  expect(Object.keys(after).filter((key) => key.includes("sori."))).toEqual([]);
  expect(JSON.stringify(after)).not.toContain("a secret not yet sent");
  await context.close();
});
