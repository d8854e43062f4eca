import { test, expect } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";

const sori = useSori();

test("the home page names the product and is served with the stylesheet", async ({ page }) => {
  const response = await page.goto(sori.url("/"));
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("heading", { level: 1, name: "Sori", exact: true })).toBeVisible();
  await expect(page).toHaveTitle("Sori");
  const css = await page.request.get(sori.url("/pkg/sori.css"));
  expect(css.status()).toBe(200);
});

test("after hydration, a button calls a server function and shows its answer", async ({ page }) => {
  await page.goto(sori.url("/"));
  await waitForHydration(page);
  const answer = page.getByRole("status", { name: "Server check", exact: true });
  await expect(answer).toHaveText("");
  await page.getByRole("button", { name: "Check server", exact: true }).click();
  await expect(answer).toHaveText(/^Sori \d+\.\d+\.\d+ is up; its database answered in \d+ ms\.$/);
});

test("an unknown address shows the not-found page with status 404", async ({ page }) => {
  const response = await page.goto(sori.url("/nowhere"));
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1, name: "Page not found", exact: true })).toBeVisible();
  await page.getByRole("link", { name: "Go to the home page", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Sori", exact: true })).toBeVisible();
});
