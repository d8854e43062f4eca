// People using Sori in a test: each signs up in their own browser context.

import { expect, type Browser, type BrowserContextOptions, type Page } from "@playwright/test";
import { type Sori, waitForHydration } from "./sori";

/** Where people go: one server, or a deployment behind a proxy (anything that makes URLs). */
type Site = Pick<Sori, "url">;

export const password = "correct horse battery";

/** Fills in and submits the sign-up form on the current page's server. */
export async function signUp(sori: Site, page: Page, username: string, displayName: string, pass = password) {
  await page.goto(sori.url("/register"));
  await waitForHydration(page);
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Display name", { exact: true }).fill(displayName);
  await page.getByLabel("Password", { exact: true }).fill(pass);
  await page.getByRole("button", { name: "Create account", exact: true }).click();
}

/** A new person in a fresh browser context, signed up and on the home page. */
export async function newPerson(
  sori: Site,
  browser: Browser,
  username: string,
  displayName: string,
  options: BrowserContextOptions = {},
) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await signUp(sori, page, username, displayName);
  await expect(signedInAs(page, displayName)).toBeVisible();
  return { context, page };
}

export function signedInAs(page: Page, displayName: string) {
  return page.getByRole("navigation", { name: "Account" }).getByText(`Signed in as ${displayName}`);
}
