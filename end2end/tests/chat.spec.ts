import { test, expect, type Browser, type Page } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";
import { newPerson } from "../support/people";
import { connection, messages, posts } from "../support/room";
import { say, twoPeople } from "../support/conversation";

const sori = useSori();

/** Two people in one public room, both looking at it and connected. */
function conversation(browser: Browser, roomName: string, a: string, b: string) {
  return twoPeople(sori, browser, roomName, a, b);
}

test("a live conversation in Korean and English", async ({ browser }) => {
  const { first, second } = await conversation(browser, "수다방", "Minji", "Jisoo");
  await say(first.page, "안녕하세요, 지수 씨!");
  await expect(messages(second.page).getByText("안녕하세요, 지수 씨!")).toBeVisible();
  await say(second.page, "Hi Minji, good to see you.");
  await expect(messages(first.page).getByText("Hi Minji, good to see you.")).toBeVisible();
  for (const page of [first.page, second.page]) {
    await expect(posts(page)).toHaveCount(2);
    await expect(posts(page).first()).toContainText("Minji");
  }
  await first.context.close();
  await second.context.close();
});

test("markup in a message is shown as text", async ({ browser }) => {
  const { first, second } = await conversation(browser, "Safety", "Alice", "Mallory");
  let alerted = false;
  second.page.on("dialog", async (dialog) => {
    alerted = true;
    await dialog.dismiss();
  });
  const attack = "<img src=x onerror=alert(1)>";
  await say(first.page, attack);
  await expect(messages(second.page).getByText(attack, { exact: true })).toBeVisible();
  await second.page.reload();
  await expect(messages(second.page).getByText(attack, { exact: true })).toBeVisible();
  await expect(messages(second.page).locator("img")).toHaveCount(0);
  expect(alerted).toBe(false);
  await first.context.close();
  await second.context.close();
});

test("Shift+Enter makes a new line and Enter sends", async ({ browser }) => {
  const { first, second } = await conversation(browser, "Lines", "Poet", "Reader");
  const box = first.page.getByRole("textbox", { name: "Message", exact: true });
  await box.fill("first line");
  await box.press("Shift+Enter");
  await box.pressSequentially("second line");
  await box.press("Enter");
  await expect(box).toHaveValue("");
  await expect(messages(second.page).getByText("first line\nsecond line")).toBeVisible();
  await first.context.close();
  await second.context.close();
});

test("a reload keeps the history and the outbox", async ({ browser }) => {
  const { first, second } = await conversation(browser, "Memory", "Keeper", "Friend");
  await say(first.page, "before the reload");
  await expect(messages(first.page).getByText("before the reload")).toBeVisible();
  await first.page.reload();
  await expect(messages(first.page).getByText("before the reload")).toBeVisible();
  await waitForHydration(first.page);

  // Offline: the post waits in the outbox, and survives a reload.
  await first.context.setOffline(true);
  await say(first.page, "written offline");
  const pending = messages(first.page).getByRole("listitem").filter({ hasText: "written offline" });
  await expect(pending).toContainText("sending…");
  await expect(connection(first.page)).toHaveText("Offline");
  await first.context.setOffline(false);
  await first.page.reload();
  await waitForHydration(first.page);
  await expect(messages(second.page).getByText("written offline")).toBeVisible();
  await expect(messages(first.page).getByText("written offline")).toHaveCount(1);
  await expect(messages(first.page).getByText("sending…")).toHaveCount(0);
  await first.context.close();
  await second.context.close();
});

test("a server restart: reconnecting, then the message sent meanwhile arrives once", async ({ browser }) => {
  const { first, second } = await conversation(browser, "Resilient", "Sender", "Receiver");
  await say(first.page, "before the crash");
  await expect(messages(second.page).getByText("before the crash")).toBeVisible();

  await sori.kill();
  for (const page of [first.page, second.page]) {
    await expect(connection(page)).toHaveText("Reconnecting…");
  }
  await say(first.page, "sent while the server was down");
  await expect(
    messages(first.page).getByRole("listitem").filter({ hasText: "sent while the server was down" }),
  ).toContainText("sending…");

  await sori.restart();
  for (const page of [first.page, second.page]) {
    await expect(connection(page)).toHaveText("Connected", { timeout: 40_000 });
    await expect(messages(page).getByText("sent while the server was down")).toHaveCount(1, { timeout: 20_000 });
    await expect(posts(page)).toHaveCount(2);
  }
  await first.context.close();
  await second.context.close();
});
