// Live room life, two people in two browsers: who is online, joins and leaves, typing, edits
// and deletes, and unread counts. This file's server announces a departure after 1.5 s (the
// default is 5 s), so the test of leaving waits less.

import { test, expect, type Browser, type Page } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";
import { newPerson } from "../support/people";
import { connection, messages, online } from "../support/room";

const sori = useSori({ SORI_PRESENCE_GRACE_MS: "1500" });

async function say(page: Page, text: string) {
  await page.getByRole("textbox", { name: "Message", exact: true }).fill(text);
  await page.getByRole("textbox", { name: "Message", exact: true }).press("Enter");
}

async function createRoom(page: Page, name: string): Promise<string> {
  await page.getByRole("navigation", { name: "Rooms" }).getByRole("button", { name: "New room", exact: true }).click();
  await waitForHydration(page);
  await page.getByLabel("Room name", { exact: true }).fill(name);
  await page.getByRole("button", { name: "Create room", exact: true }).click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
  return page.url();
}

async function open(page: Page, url: string) {
  await page.goto(url);
  await waitForHydration(page);
  await expect(connection(page)).toHaveText("Connected");
}

/** Two people in one public room, both looking at it. */
async function together(browser: Browser, roomName: string, a: string, b: string) {
  const first = await newPerson(sori, browser, a.toLowerCase(), a);
  const roomUrl = await createRoom(first.page, roomName);
  const second = await newPerson(sori, browser, b.toLowerCase(), b);
  await second.page.goto(roomUrl);
  await waitForHydration(second.page);
  await second.page.getByRole("button", { name: "Join", exact: true }).click();
  await expect(second.page.getByRole("textbox", { name: "Message", exact: true })).toBeVisible();
  await open(first.page, roomUrl);
  await open(second.page, roomUrl);
  return { first, second, roomUrl };
}

test("two people of one display name are told apart by their @username under Online and on the members page", async ({
  browser,
}) => {
  const first = await newPerson(sori, browser, "yuna", "Yuna");
  const roomUrl = await createRoom(first.page, "Namesakes");
  const second = await newPerson(sori, browser, "yuna.k", "Yuna");
  await second.page.goto(roomUrl);
  await waitForHydration(second.page);
  await second.page.getByRole("button", { name: "Join", exact: true }).click();
  await expect(second.page.getByRole("textbox", { name: "Message", exact: true })).toBeVisible();
  await open(first.page, roomUrl);
  await open(second.page, roomUrl);

  // The username stands in an element of its own after the name.
  const people = online(first.page).getByRole("listitem");
  await expect(people).toHaveText(["Yuna @yuna", "Yuna @yuna.k"]);
  await expect(people.locator(".username")).toHaveText(["@yuna", "@yuna.k"]);

  // A message's author line keeps the display name alone; the username is on hover.
  await say(second.page, "Which Yuna am I?");
  const author = messages(first.page)
    .getByRole("listitem")
    .filter({ hasText: "Which Yuna am I?" })
    .locator(".author");
  await expect(author).toHaveText("Yuna");
  await expect(author).toHaveAttribute("title", "@yuna.k");

  await first.page.getByRole("link", { name: "Members", exact: true }).click();
  const members = first.page.getByRole("list", { name: "Members" }).getByRole("listitem");
  await expect(members).toHaveCount(2);
  await expect(members.locator(".username")).toHaveText(["@yuna", "@yuna.k"]);
  await first.context.close();
  await second.context.close();
});

test("both appear under Online, a second tab adds no name, and closing the last tab says who left", async ({
  browser,
}) => {
  const { first, second, roomUrl } = await together(browser, "Lounge", "Minji", "Jisoo");
  for (const page of [first.page, second.page]) {
    await expect(online(page).getByRole("listitem")).toHaveText(["Jisoo @jisoo", "Minji @minji"]);
  }

  // Jisoo opens the room in a second tab: still one name.
  const secondTab = await second.context.newPage();
  await open(secondTab, roomUrl);
  await expect(online(secondTab).getByRole("listitem")).toHaveText(["Jisoo @jisoo", "Minji @minji"]);
  await expect(online(first.page).getByRole("listitem")).toHaveText(["Jisoo @jisoo", "Minji @minji"]);

  // Closing one tab is not leaving; closing the last one is, after the grace period.
  await secondTab.close();
  await second.page.close();
  await expect(messages(first.page).getByRole("listitem").filter({ hasText: "Jisoo left" })).toHaveCount(1);
  await expect(online(first.page).getByRole("listitem")).toHaveText(["Minji @minji"]);
  await first.context.close();
  await second.context.close();
});

test("the typing indicator appears for the other person and expires", async ({ browser }) => {
  const { first, second } = await together(browser, "Typing", "Writer", "Watcher");
  const box = first.page.getByRole("textbox", { name: "Message", exact: true });
  await box.pressSequentially("I am thinking about");
  const indicator = second.page.getByText("Writer is typing…");
  await expect(indicator).toBeVisible();
  // The writer never sees their own indicator.
  await expect(first.page.getByText("Writer is typing…")).toHaveCount(0);
  // No more keystrokes: it goes away by itself (about 5 s).
  await expect(indicator).toHaveCount(0, { timeout: 10_000 });

  // Sending clears it at once.
  await box.pressSequentially(" lunch");
  await expect(indicator).toBeVisible();
  await box.press("Enter");
  await expect(messages(second.page).getByText("I am thinking about lunch")).toBeVisible();
  await expect(indicator).toHaveCount(0, { timeout: 2_000 });
  await first.context.close();
  await second.context.close();
});

test("an edit and a delete are seen by the other person", async ({ browser }) => {
  const { first, second } = await together(browser, "Drafts", "Author", "Reader");
  await say(first.page, "Meet at 5");
  const mine = messages(first.page).getByRole("listitem").filter({ hasText: "Meet at 5" });
  const theirs = messages(second.page).getByRole("listitem").filter({ hasText: "Meet at 5" });
  await expect(theirs).toBeVisible();
  // Someone else's message offers no edit or delete to a plain member.
  await expect(theirs.getByRole("button", { name: "Edit message" })).toHaveCount(0);
  await expect(theirs.getByRole("button", { name: "Delete message" })).toHaveCount(0);

  await mine.getByRole("button", { name: "Edit message", exact: true }).click();
  const editBox = first.page.getByRole("textbox", { name: "Edit message text", exact: true });
  await expect(editBox).toHaveValue("Meet at 5");
  await editBox.fill("Meet at 6");
  await first.page.getByRole("button", { name: "Save", exact: true }).click();
  const edited = messages(second.page).getByRole("listitem").filter({ hasText: "Meet at 6" });
  await expect(edited).toContainText("(edited)");
  await expect(messages(second.page).getByText("Meet at 5")).toHaveCount(0);

  // Cancel leaves the text as it was.
  const editedMine = messages(first.page).getByRole("listitem").filter({ hasText: "Meet at 6" });
  await editedMine.getByRole("button", { name: "Edit message", exact: true }).click();
  await first.page.getByRole("textbox", { name: "Edit message text", exact: true }).fill("never mind");
  await first.page.getByRole("button", { name: "Cancel", exact: true }).click();
  await expect(editedMine).toContainText("Meet at 6");

  await editedMine.getByRole("button", { name: "Delete message", exact: true }).click();
  await expect(messages(second.page).getByText("message deleted")).toBeVisible();
  await expect(messages(second.page).getByText("Meet at 6")).toHaveCount(0);
  // After a reload, too: the change was stored.
  await second.page.reload();
  await expect(messages(second.page).getByText("message deleted")).toBeVisible();
  await expect(messages(second.page).getByText("Meet at 6")).toHaveCount(0);
  await first.context.close();
  await second.context.close();
});

test("an unread count appears for a room that is not open and clears on opening it", async ({ browser }) => {
  const { first, second, roomUrl } = await together(browser, "News", "Editor", "Subscriber");
  // The subscriber goes to another room of theirs.
  await createRoom(second.page, "Elsewhere");
  await waitForHydration(second.page);
  await expect(connection(second.page)).toHaveText("Connected");
  const newsLink = second.page.getByRole("navigation", { name: "Rooms" }).getByRole("link", { name: /^News/ });
  await expect(newsLink).toHaveText("News");

  await say(first.page, "first story");
  await say(first.page, "second story");
  await expect(newsLink).toHaveText("News 2 unread");
  // Kept on the server: a reload shows the same count.
  await second.page.reload();
  await waitForHydration(second.page);
  await expect(newsLink).toHaveText("News 2 unread");

  // Opening the room moves the read marker on the server.
  const markedRead = second.page.waitForResponse(
    (response) => response.url().endsWith("/api/messages/read") && response.ok(),
  );
  await newsLink.click();
  await expect(second.page).toHaveURL(roomUrl);
  await expect(messages(second.page).getByText("second story")).toBeVisible();
  await expect(newsLink).toHaveText("News");
  await markedRead;
  // Reading is remembered: back elsewhere and reloaded, the count stays cleared.
  await second.page.goBack();
  await second.page.reload();
  await waitForHydration(second.page);
  await expect(newsLink).toHaveText("News");
  await first.context.close();
  await second.context.close();
});
