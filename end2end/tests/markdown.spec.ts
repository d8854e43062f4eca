import { test, expect } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";
import { messages } from "../support/room";
import { roomOf, say } from "../support/conversation";

const sori = useSori();

test("Markdown is shown formatted, and a javascript: link is not a link", async ({ browser }) => {
  const { first, others } = await roomOf(sori, browser, "Formatting", "Minji", ["Jisoo"]);
  const second = others[0];
  let alerted = false;
  second.page.on("dialog", async (dialog) => {
    alerted = true;
    await dialog.dismiss();
  });
  await say(
    first.page,
    "**굵게** *italic* ~~gone~~ `code` [site](https://example.com/) [x](javascript:alert(1)) see https://example.org/a.",
  );
  for (const page of [second.page, first.page]) {
    // The sender's own copy is formatted too, once the server's form arrives.
    const log = messages(page);
    await expect(log.locator("strong", { hasText: "굵게" })).toBeVisible();
    await expect(log.locator("em", { hasText: "italic" })).toBeVisible();
    await expect(log.locator("del", { hasText: "gone" })).toBeVisible();
    await expect(log.locator("code", { hasText: "code" })).toBeVisible();
    const site = log.getByRole("link", { name: "site", exact: true });
    await expect(site).toHaveAttribute("href", "https://example.com/");
    await expect(site).toHaveAttribute("rel", "noopener noreferrer nofollow");
    await expect(site).toHaveAttribute("target", "_blank");
    await expect(log.getByRole("link", { name: "https://example.org/a", exact: true })).toBeVisible();
    await expect(log.getByRole("link", { name: "x", exact: true })).toHaveCount(0);
    await expect(log.locator('a[href^="javascript"]')).toHaveCount(0);
  }
  // Served by the server the same way.
  await second.page.reload();
  await waitForHydration(second.page);
  await expect(messages(second.page).locator("strong", { hasText: "굵게" })).toBeVisible();
  await expect(messages(second.page).getByRole("link", { name: "x", exact: true })).toHaveCount(0);
  await expect(messages(second.page).locator("p", { hasText: "italic" })).toContainText("site x see");
  expect(alerted).toBe(false);

  // Editing shows the source; the formatting follows the edit.
  await messages(first.page).getByRole("button", { name: "Edit message", exact: true }).click();
  const edit = first.page.getByRole("textbox", { name: "Edit message text", exact: true });
  await expect(edit).toHaveValue(/^\*\*굵게\*\* \*italic\*/);
  await edit.fill("> quoted **again**\n\n1. one\n2. two");
  await first.page.getByRole("button", { name: "Save", exact: true }).click();
  const quote = messages(second.page).locator("blockquote");
  await expect(quote).toContainText("quoted again");
  await expect(quote.locator("strong")).toHaveText("again");
  await expect(messages(second.page).locator("ol > li")).toHaveText(["one", "two"]);
  await expect(messages(second.page).locator("strong", { hasText: "굵게" })).toHaveCount(0);
  await first.context.close();
  await second.context.close();
});
