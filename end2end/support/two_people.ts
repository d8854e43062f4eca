// Two people in one public room, both looking at it and connected: the start of the specs of
// reactions and replies. The first creates the room through the UI, the second joins it.

import { expect, type Browser, type Page } from "@playwright/test";
import { type Sori, waitForHydration } from "./sori";
import { newPerson } from "./people";
import { connection, messages } from "./room";

export async function twoPeople(sori: Sori, browser: Browser, roomName: string, a: string, b: string) {
  const first = await newPerson(sori, browser, a.toLowerCase(), a);
  await first.page.getByRole("navigation", { name: "Rooms" }).getByRole("button", { name: "New room", exact: true }).click();
  await waitForHydration(first.page);
  await first.page.getByLabel("Room name", { exact: true }).fill(roomName);
  await first.page.getByRole("button", { name: "Create room", exact: true }).click();
  await expect(first.page.getByRole("heading", { name: roomName, level: 1 })).toBeVisible();
  const roomUrl = first.page.url();

  const second = await newPerson(sori, browser, b.toLowerCase(), b);
  await second.page.goto(roomUrl);
  await waitForHydration(second.page);
  await second.page.getByRole("button", { name: "Join", exact: true }).click();
  await expect(second.page.getByRole("textbox", { name: "Message", exact: true })).toBeVisible();
  await first.page.goto(roomUrl);
  for (const page of [first.page, second.page]) {
    await waitForHydration(page);
    await expect(connection(page)).toHaveText("Connected");
  }
  return { first, second, roomUrl };
}

/** Types `text` in the composer and sends it with Enter. */
export async function say(page: Page, text: string) {
  await page.getByRole("textbox", { name: "Message", exact: true }).fill(text);
  await page.getByRole("textbox", { name: "Message", exact: true }).press("Enter");
}

/** The message in the log whose text contains `text`. */
export function post(page: Page, text: string) {
  return messages(page).getByRole("listitem").filter({ hasText: text });
}
