// Browser notifications, as the person who gets them sees it: a level per room in the
// "Notifications" group, a notification while the tab is in the background when a message
// passes that level, a click on it that opens the room, and the unread count in the title.
//
// Headless Chromium shows no notifications on a screen, so the page records each one it
// constructs (the real Notification is still called), and the test plays the tab going to
// the background by answering `document.visibilityState` with "hidden".

import { test, expect, type Page } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";
import { newPerson } from "../support/people";
import { connection } from "../support/room";
import { createRoom, join, say } from "../support/conversation";

const sori = useSori();

/** Records notifications and lets the test hide the tab; runs before the page's scripts. */
function spyOnNotifications() {
  const recorded: { title: string; body?: string }[] = [];
  (window as any).__notifications = recorded;
  const Real = window.Notification;
  class Recorded extends Real {
    constructor(title: string, options?: NotificationOptions) {
      super(title, options);
      recorded.push({ title, body: options?.body });
      (window as any).__lastNotification = this;
    }
  }
  (window as any).Notification = Recorded;
  Object.defineProperty(Document.prototype, "visibilityState", {
    get: () => ((window as any).__hidden ? "hidden" : "visible"),
  });
}

async function hide(page: Page) {
  await page.evaluate(() => {
    (window as any).__hidden = true;
    document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
  });
}

function notifications(page: Page) {
  return page.evaluate(() => (window as any).__notifications as { title: string; body?: string }[]);
}

/** Chooses a level in the room page's "Notifications" group and waits until it is saved. */
async function chooseLevel(page: Page, level: string) {
  const levels = page.getByRole("group", { name: "Notifications", exact: true });
  const saved = page.waitForResponse((response) => response.url().includes("/api/rooms/notifications") && response.ok());
  await levels.getByRole("radio", { name: level, exact: true }).check();
  await saved;
}

test("a message that passes my level raises a notification in a background tab, and its click opens the room", async ({
  browser,
}) => {
  const minji = await newPerson(sori, browser, "minji", "Minji");
  const jisoo = await newPerson(sori, browser, "jisoo", "Jisoo", { permissions: ["notifications"] });
  await jisoo.page.addInitScript(spyOnNotifications);

  const roomUrl = await createRoom(minji.page, "Team");
  await join(jisoo, roomUrl);
  const levels = jisoo.page.getByRole("group", { name: "Notifications", exact: true });
  await expect(levels.getByRole("radio", { name: "Mentions only", exact: true })).toBeChecked();
  // The browser has already granted permission: nothing to click for it.
  await expect(levels.getByText("Browser notifications are on", { exact: false })).toBeVisible();
  await chooseLevel(jisoo.page, "All messages");
  await jisoo.page.reload();
  await waitForHydration(jisoo.page);
  await expect(levels.getByRole("radio", { name: "All messages", exact: true })).toBeChecked();

  // Jisoo goes elsewhere and puts the tab in the background.
  await jisoo.page.goto(sori.url("/rooms"));
  await waitForHydration(jisoo.page);
  await expect(connection(jisoo.page)).toHaveText("Connected");
  await hide(jisoo.page);
  await minji.page.goto(roomUrl);
  await waitForHydration(minji.page);
  await say(minji.page, "회의는 3시에 시작해요");

  await expect.poll(() => notifications(jisoo.page)).toEqual([{ title: "Minji in Team", body: "회의는 3시에 시작해요" }]);
  await expect(jisoo.page).toHaveTitle(/^\(1\) .*Sori$/);

  await jisoo.page.evaluate(() => (window as any).__lastNotification.dispatchEvent(new Event("click")));
  await expect(jisoo.page).toHaveURL(roomUrl);
  await expect(jisoo.page.getByRole("heading", { name: "Team", level: 1 })).toBeVisible();

  await minji.context.close();
  await jisoo.context.close();
});

test("a room set to Nothing raises no notification while a direct conversation still does", async ({ browser }) => {
  const minji = await newPerson(sori, browser, "minji2", "Minji");
  const jisoo = await newPerson(sori, browser, "jisoo2", "Jisoo", { permissions: ["notifications"] });
  await jisoo.page.addInitScript(spyOnNotifications);

  const roomUrl = await createRoom(minji.page, "Quiet");
  await join(jisoo, roomUrl);
  const levels = jisoo.page.getByRole("group", { name: "Notifications", exact: true });
  await chooseLevel(jisoo.page, "Nothing");
  await expect(levels.getByRole("radio", { name: "Nothing", exact: true })).toBeChecked();

  // Minji opens a direct conversation with Jisoo from the room's members.
  await minji.page.goto(`${roomUrl}/members`);
  await waitForHydration(minji.page);
  await minji.page.getByRole("button", { name: "Message", exact: true }).click();
  await expect(minji.page.getByRole("heading", { name: "Jisoo", level: 1 })).toBeVisible();
  const directUrl = minji.page.url();

  await jisoo.page.goto(sori.url("/rooms"));
  await waitForHydration(jisoo.page);
  await expect(connection(jisoo.page)).toHaveText("Connected");
  await expect(jisoo.page.getByRole("navigation", { name: "Rooms" }).getByRole("link", { name: "Minji" })).toBeVisible();
  await hide(jisoo.page);

  await minji.page.goto(roomUrl);
  await waitForHydration(minji.page);
  await say(minji.page, "nobody is told about this one");
  await minji.page.goto(directUrl);
  await waitForHydration(minji.page);
  await say(minji.page, "are you there?");

  // The direct message came after the room's, on the same socket: once it has raised its
  // notification, the room's message was heard too, and raised none.
  await expect.poll(() => notifications(jisoo.page)).toEqual([{ title: "Minji", body: "are you there?" }]);
  // Both are unread, but the title counts only what may notify: the room set to Nothing is
  // left out.
  await expect(jisoo.page).toHaveTitle(/^\(1\) /);

  await minji.context.close();
  await jisoo.context.close();
});
