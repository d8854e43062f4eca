import { test, expect } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";
import { posts } from "../support/room";
import { say, twoPeople } from "../support/conversation";

// The test posts its history quickly; the per-person rate limit is tested elsewhere.
const sori = useSori({ SORI_MESSAGES_PER_WINDOW: "0" });

test("a Korean search by part of a word finds the other person's message and opens it in its room", async ({
  browser,
}) => {
  const { first, second, roomUrl } = await twoPeople(sori, browser, "기획팀", "Minji", "Jisoo");
  await say(first.page, "오늘회의는3시에 3층회의실에서 해요");
  await say(first.page, "점심은 각자");
  for (let n = 1; n <= 60; n++) {
    await say(first.page, `진행 상황 ${n}`);
  }
  await expect(posts(second.page)).toHaveCount(62);

  // Jisoo searches from the header, with two syllables of a word glued to a particle.
  const page = second.page;
  await page.getByRole("link", { name: "Search", exact: true }).click();
  await waitForHydration(page);
  const box = page.getByRole("searchbox", { name: "Search messages", exact: true });
  await box.fill("회의");
  await box.press("Enter");
  await expect(page).toHaveURL(/\/search\?q=/);
  const results = page.getByRole("list", { name: "Search results", exact: true });
  const items = results.getByRole("listitem");
  await expect(items).toHaveCount(1);
  await expect(items.first()).toContainText("기획팀");
  await expect(items.first()).toContainText("Minji");
  await expect(items.first().locator("mark")).toHaveText(["회의", "회의"]);

  // A word that is not in it finds nothing, and says so.
  await box.fill("회의를");
  await box.press("Enter");
  await expect(page.getByRole("status").filter({ hasText: "No messages found." })).toBeVisible();

  // Back to the result; the snippet is the link that opens the message, highlighted, with
  // the history around it (it is older than the room's newest page).
  await page.goBack();
  await expect(items).toHaveCount(1);
  await items.first().getByRole("link", { name: /오늘회의는3시/ }).click();
  await expect(page).toHaveURL(new RegExp(`^${roomUrl}\\?at=1`));
  const found = posts(page).filter({ hasText: "오늘회의는3시" });
  await expect(found).toHaveClass(/highlighted/);
  await expect(found).toBeInViewport();
  await expect(posts(page).filter({ hasText: "점심은 각자" })).toBeVisible();

  // The room goes on live from there: a new message arrives below.
  await say(first.page, "회의 끝났어요");
  await expect(posts(page).filter({ hasText: "회의 끝났어요" })).toBeVisible();
  await expect(posts(page).filter({ hasText: "진행 상황 60" })).toHaveCount(1);
});
