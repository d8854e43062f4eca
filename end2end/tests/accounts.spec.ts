import { test, expect, type Page } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";
import { password, signUp as signUpAs, signedInAs } from "../support/people";

const sori = useSori();
async function signUp(page: Page, username: string, displayName: string, pass = password) {
  await signUpAs(sori, page, username, displayName, pass);
}

test("sign up, reload, and stay signed in", async ({ page }) => {
  await signUp(page, "haneul", "Haneul");
  await expect(page).toHaveURL(sori.url("/"));
  await expect(signedInAs(page, "Haneul")).toBeVisible();
  await page.reload();
  await expect(signedInAs(page, "Haneul")).toBeVisible();
  await expect(page.getByRole("button", { name: "Sign out", exact: true })).toBeVisible();
});

test("sign out, then sign in again", async ({ page }) => {
  await signUp(page, "dasom", "Dasom");
  await expect(signedInAs(page, "Dasom")).toBeVisible();
  await waitForHydration(page);
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page.getByRole("link", { name: "Sign in", exact: true })).toBeVisible();
  await expect(signedInAs(page, "Dasom")).toHaveCount(0);

  await page.getByRole("link", { name: "Sign in", exact: true }).click();
  await waitForHydration(page);
  await page.getByLabel("Username", { exact: true }).fill("DASOM");
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(signedInAs(page, "Dasom")).toBeVisible();
});

test("a wrong password shows the error and signs nobody in", async ({ page }) => {
  await signUp(page, "bora", "Bora");
  await waitForHydration(page);
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page.getByRole("link", { name: "Sign in", exact: true })).toBeVisible();

  await page.goto(sori.url("/login"));
  await waitForHydration(page);
  await page.getByLabel("Username", { exact: true }).fill("bora");
  await page.getByLabel("Password", { exact: true }).fill("not the password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong username or password.");
  await expect(page).toHaveURL(/\/login/);
});

test("a duplicate username shows the error next to the field", async ({ page, browser }) => {
  await signUp(page, "Minji", "Minji");
  await expect(signedInAs(page, "Minji")).toBeVisible();

  const other = await browser.newContext();
  const second = await other.newPage();
  await signUp(second, "minji", "Another Minji");
  const username = second.getByLabel("Username", { exact: true });
  await expect(username).toHaveAttribute("aria-invalid", "true");
  await expect(username).toHaveAccessibleDescription("That username is already taken.");
  await other.close();
});

test("a too-short password is explained next to the field", async ({ page }) => {
  await signUp(page, "short_pw", "Short", "1234567");
  await expect(page.getByLabel("Password", { exact: true })).toHaveAccessibleDescription(
    "Password must be at least 8 characters.",
  );
});

test("a guessable password is explained next to the field with the estimator's advice", async ({ page }) => {
  await signUp(page, "weak_pw", "Weak", "password123");
  const field = page.getByLabel("Password", { exact: true });
  await expect(field).toHaveAttribute("aria-invalid", "true");
  // The reason and the advice are zxcvbn's own words, after our sentence.
  await expect(field).toHaveAccessibleDescription(/^Password is too easy to guess\. \S.+/);
  await expect(signedInAs(page, "Weak")).toHaveCount(0);
});

test("a Korean display name round-trips through settings", async ({ page }) => {
  await signUp(page, "jiwoo", "김지우");
  await expect(signedInAs(page, "김지우")).toBeVisible();
  await page.getByRole("link", { name: "Settings", exact: true }).click();
  await waitForHydration(page);
  const name = page.getByLabel("Display name", { exact: true });
  await expect(name).toHaveValue("김지우");
  await name.fill("  박지우  ");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  await expect(signedInAs(page, "박지우")).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("Display name", { exact: true })).toHaveValue("박지우");
});

test("settings send an anonymous visitor to sign in and back", async ({ page }) => {
  await page.goto(sori.url("/settings"));
  await expect(page).toHaveURL(sori.url("/login?next=/settings"));
  await page.goto(sori.url("/register?next=/settings"));
  await waitForHydration(page);
  await page.getByLabel("Username", { exact: true }).fill("yuna");
  await page.getByLabel("Display name", { exact: true }).fill("Yuna");
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Create account", exact: true }).click();
  await expect(page).toHaveURL(sori.url("/settings"));
  await expect(page.getByRole("heading", { name: "Settings", level: 1 })).toBeVisible();
});

test("changing the password needs the current one", async ({ page }) => {
  await signUp(page, "sora", "Sora");
  await expect(signedInAs(page, "Sora")).toBeVisible();
  await page.goto(sori.url("/settings"));
  await waitForHydration(page);
  await page.getByLabel("Current password", { exact: true }).fill("wrong one!");
  await page.getByLabel("New password", { exact: true }).fill("a brand new password");
  await page.getByRole("button", { name: "Change password", exact: true }).click();
  await expect(page.getByLabel("Current password", { exact: true })).toHaveAccessibleDescription(
    "Current password is incorrect.",
  );
  await page.getByLabel("Current password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Change password", exact: true }).click();
  await expect(page.getByText("Password changed.", { exact: false })).toBeVisible();
});

test("sign out everywhere ends the other devices' sessions", async ({ page, browser }) => {
  await signUp(page, "eunji", "Eunji");
  await expect(signedInAs(page, "Eunji")).toBeVisible();
  const phoneContext = await browser.newContext();
  const phone = await phoneContext.newPage();
  await phone.goto(sori.url("/login"));
  await waitForHydration(phone);
  await phone.getByLabel("Username", { exact: true }).fill("eunji");
  await phone.getByLabel("Password", { exact: true }).fill(password);
  await phone.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(signedInAs(phone, "Eunji")).toBeVisible();

  await page.goto(sori.url("/settings"));
  await waitForHydration(page);
  await page.getByRole("button", { name: "Sign out everywhere", exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
  await phone.reload();
  await expect(phone.getByRole("link", { name: "Sign in", exact: true })).toBeVisible();
  await phoneContext.close();
});

test("deleting the account takes a confirmation step", async ({ page }) => {
  await signUp(page, "temp_user", "Temporary");
  await expect(signedInAs(page, "Temporary")).toBeVisible();
  await page.goto(sori.url("/settings"));
  await waitForHydration(page);
  await page.getByRole("button", { name: "Delete account", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Delete your account?" })).toBeVisible();
  await waitForHydration(page);
  await page.getByLabel("Current password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Delete my account", exact: true }).click();
  await expect(page.getByRole("link", { name: "Sign in", exact: true })).toBeVisible();

  await page.goto(sori.url("/login"));
  await waitForHydration(page);
  await page.getByLabel("Username", { exact: true }).fill("temp_user");
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong username or password.");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("sign up, sign out and sign in work as plain forms", async ({ page }) => {
    await page.goto(sori.url("/register"));
    await page.getByLabel("Username", { exact: true }).fill("nojs");
    await page.getByLabel("Display name", { exact: true }).fill("No Script");
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Create account", exact: true }).click();
    await expect(signedInAs(page, "No Script")).toBeVisible();

    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await expect(page.getByRole("link", { name: "Sign in", exact: true })).toBeVisible();

    await page.goto(sori.url("/login"));
    await page.getByLabel("Username", { exact: true }).fill("nojs");
    await page.getByLabel("Password", { exact: true }).fill("wrong password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("alert")).toHaveText("Wrong username or password.");

    await page.getByLabel("Username", { exact: true }).fill("nojs");
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(signedInAs(page, "No Script")).toBeVisible();
  });
});
