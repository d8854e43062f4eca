// Replies between two people: "Reply" makes the composer say "Replying to X" (with "Cancel
// reply"), the sent reply quotes the original for both, activating the quote goes to the
// original (loading earlier history when it is not on the page) and highlights it, and a
// deleted original shows "message deleted" in the quote. Posting is unlimited here so that
// the room can hold more than a page of history without waiting out the rate limit.

import { test, expect } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";
import { messages } from "../support/room";
import { post, say, twoPeople } from "../support/conversation";

const sori = useSori({ SORI_MESSAGES_PER_WINDOW: "0" });

test("a reply quotes the original, and its quote jumps to it through earlier history", async ({ browser }) => {
  const { first, second, roomUrl } = await twoPeople(sori, browser, "Plans", "Minji", "Jisoo");
  await say(first.page, "Where shall we eat tonight?");
  const original = post(second.page, "Where shall we eat tonight?");
  await expect(original).toBeVisible();

  // Reply, cancel, reply again.
  const composer = second.page.getByRole("textbox", { name: "Message", exact: true });
  await original.getByRole("button", { name: "Reply", exact: true }).click();
  await expect(second.page.getByText("Replying to Minji", { exact: true })).toBeVisible();
  await expect(composer).toBeFocused();
  await second.page.getByRole("button", { name: "Cancel reply", exact: true }).click();
  await expect(second.page.getByText("Replying to Minji", { exact: true })).toHaveCount(0);
  await original.getByRole("button", { name: "Reply", exact: true }).click();

  // A page of other messages comes in before the answer, so after a reload the original is
  // older than the newest page.
  const room = /\/rooms\/(\d+)/.exec(roomUrl)![1];
  for (let n = 1; n <= 50; n++) {
    const clientId = `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
    const response = await first.page.request.post(sori.url("/api/messages/send"), {
      form: { room, client_id: clientId, body: `Filler number ${n}` },
    });
    expect(response.status(), await response.text()).toBe(200);
  }
  await expect(post(second.page, "Filler number 50")).toBeVisible();
  await expect(second.page.getByText("Replying to Minji", { exact: true })).toBeVisible();
  await composer.fill("The noodle place!");
  await composer.press("Enter");
  await expect(second.page.getByText("Replying to Minji", { exact: true })).toHaveCount(0);

  for (const page of [first.page, second.page]) {
    const quote = post(page, "The noodle place!").getByRole("button", { name: /Minji: Where shall we eat tonight\?/ });
    await expect(quote).toBeVisible();
  }

  // After a reload the newest page starts after the original; the quote brings it in.
  const found = messages(second.page).getByRole("listitem").filter({ hasText: /^Minji.*Where shall we eat tonight\?/ });
  await second.page.reload();
  await waitForHydration(second.page);
  await expect(post(second.page, "The noodle place!")).toBeVisible();
  await expect(found).toHaveCount(0);
  await post(second.page, "The noodle place!")
    .getByRole("button", { name: /Minji: Where shall we eat tonight\?/ })
    .click();
  await expect(found).toHaveCount(1);
  await expect(found.first()).toBeFocused();
  await expect(found.first()).toHaveClass(/highlighted/);
  await expect(found.first()).toBeInViewport();

  // The original is deleted: the quote says so, live and after a reload.
  await post(first.page, "Where shall we eat tonight?")
    .first()
    .getByRole("button", { name: "Delete message", exact: true })
    .click();
  for (const page of [first.page, second.page]) {
    await expect(post(page, "The noodle place!").getByRole("button", { name: /Minji: message deleted/ })).toBeVisible();
  }
  await first.page.reload();
  await expect(post(first.page, "The noodle place!").getByRole("button", { name: /Minji: message deleted/ })).toBeVisible();
  await first.context.close();
  await second.context.close();
});
