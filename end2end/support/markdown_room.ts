// A room for the Markdown and mention specs: its owner and the people who joined it, each
// signed up in their own browser context.

import { expect, type Browser, type Page } from "@playwright/test";
import { type Sori, waitForHydration } from "./sori";
import { newPerson } from "./people";
import { connection } from "./room";

export function messageBox(page: Page) {
  return page.getByRole("textbox", { name: "Message", exact: true });
}

export async function say(page: Page, text: string) {
  await messageBox(page).fill(text);
  await messageBox(page).press("Enter");
}

type Person = Awaited<ReturnType<typeof newPerson>>;

/**
 * A public room named `roomName`, made by `owner` (display name; the username is its lower
 * case), joined by each of `others`; everyone ends on the room's page, connected.
 */
export async function roomOf(sori: Sori, browser: Browser, roomName: string, owner: string, others: string[]) {
  const first = await newPerson(sori, browser, owner.toLowerCase(), owner);
  await first.page.getByRole("navigation", { name: "Rooms" }).getByRole("button", { name: "New room", exact: true }).click();
  await waitForHydration(first.page);
  await first.page.getByLabel("Room name", { exact: true }).fill(roomName);
  await first.page.getByRole("button", { name: "Create room", exact: true }).click();
  await expect(first.page.getByRole("heading", { name: roomName, level: 1 })).toBeVisible();
  const roomUrl = first.page.url();
  const joined: Person[] = [];
  for (const name of others) {
    const person = await newPerson(sori, browser, name.toLowerCase(), name);
    await person.page.goto(roomUrl);
    await waitForHydration(person.page);
    await person.page.getByRole("button", { name: "Join", exact: true }).click();
    await expect(messageBox(person.page)).toBeVisible();
    joined.push(person);
  }
  await first.page.goto(roomUrl);
  for (const page of [first.page, ...joined.map((person) => person.page)]) {
    await waitForHydration(page);
    await expect(connection(page)).toHaveText("Connected");
  }
  return { first, others: joined, roomUrl };
}
