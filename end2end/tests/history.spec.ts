// History paging and times. This file's server lets one person post quickly, so that a room
// can hold more than one page of history without the test waiting out the rate limit.

import { test, expect, type Page } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";
import { newPerson } from "../support/people";
import { messages } from "../support/room";

const sori = useSori({ SORI_MESSAGES_PER_WINDOW: "0" });

/** Creates a room through the UI and posts `count` messages through the server function. */
async function roomWithMessages(page: Page, name: string, count: number): Promise<string> {
  await page.getByRole("navigation", { name: "Rooms" }).getByRole("button", { name: "New room", exact: true }).click();
  await waitForHydration(page);
  await page.getByLabel("Room name", { exact: true }).fill(name);
  await page.getByRole("button", { name: "Create room", exact: true }).click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
  const roomUrl = page.url();
  const room = /\/rooms\/(\d+)/.exec(roomUrl)![1];
  for (let n = 1; n <= count; n++) {
    const clientId = `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
    const response = await page.request.post(sori.url("/api/messages/send"), {
      form: { room, client_id: clientId, body: `Message number ${n}` },
    });
    expect(response.status(), await response.text()).toBe(200);
  }
  return roomUrl;
}

test("the newest 50 messages render first and Load earlier pages back", async ({ browser }) => {
  const { context, page } = await newPerson(sori, browser, "archivist", "Archivist");
  const roomUrl = await roomWithMessages(page, "Archive", 55);

  await page.goto(roomUrl);
  await waitForHydration(page);
  const items = messages(page).getByRole("listitem");
  await expect(items).toHaveCount(50);
  await expect(items.first()).toContainText("Message number 6");
  await expect(items.last()).toContainText("Message number 55");

  await page.getByRole("button", { name: "Load earlier", exact: true }).click();
  await expect(items).toHaveCount(55);
  await expect(items.first()).toContainText("Message number 1");
  await expect(items.last()).toContainText("Message number 55");
  // Nothing earlier is left, so the button goes away.
  await expect(page.getByRole("button", { name: "Load earlier", exact: true })).toHaveCount(0);
  await context.close();
});

test("times show in each viewer's own time zone", async ({ browser }) => {
  const { context, page: author } = await newPerson(sori, browser, "clockmaker", "Clockmaker");
  const roomUrl = await roomWithMessages(author, "Clocks", 1);
  const seoul = await newPerson(sori, browser, "seoul", "Seoul", { timezoneId: "Asia/Seoul", locale: "en-GB" });
  const newYork = await newPerson(sori, browser, "newyork", "New York", {
    timezoneId: "America/New_York",
    locale: "en-GB",
  });

  const readings: string[] = [];
  for (const [viewer, timeZone] of [
    [seoul.page, "Asia/Seoul"],
    [newYork.page, "America/New_York"],
  ] as const) {
    await viewer.goto(roomUrl);
    await waitForHydration(viewer);
    const time = messages(viewer).getByRole("listitem").first().locator("time");
    const unixMs = Number(await time.getAttribute("datetime"));
    expect(unixMs).toBeGreaterThan(Date.UTC(2020, 0, 1));
    const expected = new Date(unixMs).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone });
    await expect(time).toHaveText(expected);
    readings.push(expected);
  }
  // Seoul and New York are 13 or 14 hours apart, so the two readings differ.
  expect(readings[0]).not.toBe(readings[1]);
  for (const c of [context, seoul.context, newYork.context]) await c.close();
});
