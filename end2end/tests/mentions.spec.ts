import { test, expect } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";
import { messages, posts } from "../support/room";
import { messageBox, roomOf, say } from "../support/conversation";

const sori = useSori();

test("@ suggestions are chosen with the keyboard; the mention is highlighted and counted for the other person", async ({
  browser,
}) => {
  const { first, others, roomUrl } = await roomOf(sori, browser, "수다방", "Minji", ["Jisoo", "Jinho"]);
  const [jisoo, jinho] = others;
  // Jisoo is elsewhere: the room counts for her in the navigation.
  await jisoo.page.goto(sori.url("/rooms"));
  await waitForHydration(jisoo.page);
  const nav = jisoo.page.getByRole("navigation", { name: "Rooms" });
  await expect(nav.getByRole("link", { name: "수다방", exact: true })).toBeVisible();

  const box = messageBox(first.page);
  await box.pressSequentially("thanks @ji");
  const list = first.page.getByRole("listbox", { name: "Mention suggestions", exact: true });
  await expect(list).toBeVisible();
  const options = list.getByRole("option");
  await expect(options).toHaveCount(2);
  // By display name, the first option active as the list opens.
  await expect(options.nth(0)).toContainText("Jinho");
  await expect(options.nth(0)).toHaveAttribute("aria-selected", "true");
  await expect(box).toHaveAttribute("aria-expanded", "true");
  await expect(box).toHaveAttribute("aria-activedescendant", (await options.nth(0).getAttribute("id")) ?? "");
  await box.press("ArrowDown");
  await expect(options.nth(1)).toContainText("Jisoo");
  await expect(options.nth(1)).toHaveAttribute("aria-selected", "true");
  await expect(options.nth(0)).toHaveAttribute("aria-selected", "false");
  // Enter picks while the list is open: it does not send.
  await box.press("Enter");
  await expect(box).toHaveValue("thanks @jisoo ");
  await expect(list).toBeHidden();
  await expect(box).toHaveAttribute("aria-expanded", "false");
  await expect(posts(first.page)).toHaveCount(0);

  // Filtered as one types; Escape closes without picking, and Enter then sends.
  await box.pressSequentially("and @jinh");
  await expect(options).toHaveCount(1);
  await expect(options.nth(0)).toContainText("Jinho");
  await box.press("Escape");
  await expect(list).toBeHidden();
  for (let typed = 0; typed < "@jinh".length; typed++) {
    await box.press("Backspace");
  }
  await box.pressSequentially("all");
  await expect(list).toBeHidden();
  await expect(box).toHaveValue("thanks @jisoo and all");
  await box.press("Enter");
  await expect(box).toHaveValue("");
  await expect(posts(first.page)).toHaveCount(1);

  // Counted for Jisoo, apart from the unread count.
  const roomLink = nav.getByRole("link", { name: /^수다방/ });
  await expect(roomLink).toContainText("1 unread");
  await expect(roomLink).toContainText("1 mention");
  await say(first.page, "@jisoo once more");
  await expect(roomLink).toContainText("2 mentions");

  // Highlighted for her, with words for screen readers; not for Jinho, whom it names not.
  await roomLink.click();
  await expect(jisoo.page).toHaveURL(roomUrl);
  const mentioning = posts(jisoo.page).filter({ hasText: "thanks @Jisoo" });
  await expect(mentioning).toContainText("mentions you");
  await expect(mentioning).toHaveClass(/mentions-me/);
  await expect(mentioning.locator(".mention.me")).toHaveText("@Jisoo");
  await expect(nav.locator(".mentions-count")).toHaveCount(0);
  const forJinho = posts(jinho.page).filter({ hasText: "thanks @Jisoo" });
  await expect(forJinho).toBeVisible();
  await expect(forJinho).not.toHaveClass(/mentions-me/);
  await expect(forJinho).not.toContainText("mentions you");

  // Her mentions, newest first, each a link to its message.
  await jisoo.page.goto(sori.url("/mentions"));
  await waitForHydration(jisoo.page);
  await expect(jisoo.page.getByRole("heading", { name: "Mentions", level: 1 })).toBeVisible();
  const listed = jisoo.page.getByRole("list", { name: "Mentions", exact: true }).getByRole("listitem");
  await expect(listed).toHaveCount(2);
  await expect(listed.nth(0)).toContainText("@Jisoo once more");
  await expect(listed.nth(1)).toContainText("thanks @Jisoo and all");
  await listed.nth(1).getByRole("link", { name: "Minji in 수다방", exact: true }).click();
  await expect(jisoo.page).toHaveURL(`${roomUrl}#message-1`);
  await expect(jisoo.page.locator("#message-1")).toContainText("thanks @Jisoo");

  for (const person of [first, jisoo, jinho]) {
    await person.context.close();
  }
});

test("a mention shows the person's new name after a rename", async ({ browser }) => {
  const { first, others, roomUrl } = await roomOf(sori, browser, "Names", "Ana", ["Bora"]);
  const bora = others[0];
  // Not ending in the name: Enter would pick the suggestion rather than send.
  await say(first.page, "hello @bora!");
  await expect(messages(bora.page).locator(".mention")).toHaveText("@Bora");
  await bora.page.goto(sori.url("/settings"));
  await waitForHydration(bora.page);
  await bora.page.getByLabel("Display name", { exact: true }).fill("보라");
  await bora.page.getByRole("button", { name: "Save", exact: true }).first().click();
  await expect(bora.page.getByText("Saved.")).toBeVisible();
  await first.page.goto(roomUrl);
  await waitForHydration(first.page);
  await expect(messages(first.page).locator(".mention")).toHaveText("@보라");
  await first.context.close();
  await bora.context.close();
});
