// Reactions between two people: the "Reactions" dialog (keyboard: focus inside, Tab kept in,
// Escape closes and gives focus back), a reaction toggled by one and seen by both with its
// count, pressed state and who reacted, the recently used emoji offered first, and the
// reactions still there after a reload (rendered by the server).

import { test, expect } from "@playwright/test";
import { useSori } from "../support/sori";
import { post, say, twoPeople } from "../support/conversation";

const sori = useSori();

test("a reaction toggled by one person is seen by both, with who reacted", async ({ browser }) => {
  const { first, second } = await twoPeople(sori, browser, "Lunch", "Minji", "Jisoo");
  await say(first.page, "점심 먹을까요?");
  const minjis = post(first.page, "점심 먹을까요?");
  const jisoos = post(second.page, "점심 먹을까요?");
  await expect(jisoos).toBeVisible();

  // The dialog: focus moves in, stays in, and Escape gives it back to the button.
  const add = jisoos.getByRole("button", { name: "Add reaction", exact: true });
  await add.click();
  const dialog = second.page.getByRole("dialog", { name: "Reactions", exact: true });
  await expect(dialog).toBeVisible();
  const thumbs = dialog.getByRole("button", { name: "👍", exact: true });
  await expect(thumbs).toBeFocused();
  await second.page.keyboard.press("Shift+Tab");
  await expect(dialog.getByRole("button", { name: "Close", exact: true })).toBeFocused();
  await second.page.keyboard.press("Tab");
  await expect(thumbs).toBeFocused();
  await second.page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(add).toBeFocused();

  await add.click();
  await dialog.getByRole("button", { name: "👍", exact: true }).click();
  await expect(dialog).toHaveCount(0);
  const jisoosThumbs = jisoos.getByRole("button", { name: "👍 1", exact: true });
  await expect(jisoosThumbs).toHaveAttribute("aria-pressed", "true");
  const minjisThumbs = minjis.getByRole("button", { name: "👍 1", exact: true });
  await expect(minjisThumbs).toHaveAttribute("aria-pressed", "false");
  await expect(minjisThumbs).toHaveAttribute("title", "Jisoo");

  // Minji joins in by pressing the reaction itself; both see two.
  await minjisThumbs.click();
  for (const [message, pressed] of [[minjis, "true"], [jisoos, "true"]] as const) {
    const both = message.getByRole("button", { name: "👍 2", exact: true });
    await expect(both).toHaveAttribute("aria-pressed", pressed);
    await expect(both).toHaveAttribute("title", "Jisoo and Minji");
  }

  // Pressing again takes Jisoo's back, for both.
  await jisoos.getByRole("button", { name: "👍 2", exact: true }).click();
  await expect(jisoos.getByRole("button", { name: "👍 1", exact: true })).toHaveAttribute("aria-pressed", "false");
  await expect(minjis.getByRole("button", { name: "👍 1", exact: true })).toHaveAttribute("title", "Minji");

  // The emoji Jisoo used comes first next time.
  await add.click();
  await expect(dialog.getByRole("group", { name: "Recently used", exact: true }).getByRole("button")).toHaveText(["👍"]);
  await second.page.keyboard.press("Escape");

  // The server renders them too.
  await second.page.reload();
  await expect(post(second.page, "점심 먹을까요?").getByRole("button", { name: "👍 1", exact: true })).toHaveAttribute(
    "title",
    "Minji",
  );
  await first.context.close();
  await second.context.close();
});
