// The parts of the room page the specs read, found by role and exact accessible name as a
// person (or a screen reader) finds them. One place, so a renamed landmark breaks one line.

import type { Page } from "@playwright/test";

/** The connection status in the header ("Connected", "Reconnecting…", ...). */
export function connection(page: Page) {
  return page.getByRole("status", { name: "Connection", exact: true });
}

/** The live log of the room's messages and notices. */
export function messages(page: Page) {
  return page.getByRole("log", { name: "Messages", exact: true });
}

/** The posts in the log, without the "… joined" and "… left" notices between them. */
export function posts(page: Page) {
  return messages(page).getByRole("listitem").filter({ hasNotText: / (joined|left)$/ });
}

/** Who is online in the room. */
export function online(page: Page) {
  return page.getByRole("list", { name: "Online", exact: true });
}
