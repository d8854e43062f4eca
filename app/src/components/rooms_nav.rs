//! The "Rooms" navigation: the rooms I am a member of, then my direct conversations, each
//! with how many messages arrived since I last had it open and, apart from those, how many
//! of them mention me.
//!
//! The tab follows every room listed here (up to a limit) so that the counts move live, the
//! way a team chat's sidebar does.

use leptos::prelude::*;
use leptos_router::components::A;

use super::hydration::use_hydrated;
use super::rooms_state::use_rooms_state;
use super::session::use_session;
use crate::model::RoomView;
use crate::realtime::notify::KnownRoom;
use crate::realtime::use_realtime;

/// Rooms followed (quietly) from the navigation; the tab follows at most 90 in all and lets
/// the least recently used quiet ones go first.
const FOLLOWED_FROM_NAV: usize = 50;

#[component]
pub fn RoomsNav() -> impl IntoView {
    let session = use_session();
    let state = use_rooms_state();
    let realtime = use_realtime();
    // Effects run in the browser only: take the server's counts, and follow the rooms.
    Effect::new(move |_| {
        if let Some(Ok(rooms)) = state.rooms.get() {
            realtime.set_unread(rooms.iter().map(|room| (room.id, room.unread)));
            realtime.know_rooms(rooms.iter().filter(|room| room.is_member).map(|room| {
                let known = KnownRoom {
                    name: room.name.clone(),
                    is_direct: room.is_direct,
                    notify: room.notify,
                };
                (room.id, known)
            }));
            realtime.set_mentions(rooms.iter().map(|room| (room.id, room.mentions)));
            for room in rooms
                .iter()
                .filter(|room| room.is_member)
                .take(FOLLOWED_FROM_NAV)
            {
                realtime.watch(room.id);
            }
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let signed_in = matches!(session.user.await, Ok(Some(_)));
                if !signed_in {
                    return ().into_any();
                }
                let rooms = state.rooms.await.unwrap_or_default();
                let (direct, joined): (Vec<RoomView>, Vec<RoomView>) = rooms
                    .into_iter()
                    .filter(|room| room.is_member)
                    .partition(|room| room.is_direct);
                view! {
                    <nav class="rooms-nav" aria-label="Rooms">
                        <h2 class="nav-heading">"Rooms"</h2>
                        <RoomLinks rooms=joined empty="You have not joined any rooms yet." />
                        <form method="get" action="/rooms/new">
                            <button type="submit">"New room"</button>
                        </form>
                        <A href="/rooms">"Browse rooms"</A>
                        " "
                        <A href="/mentions">"Mentions"</A>
                        <h3 class="nav-heading">"Direct messages"</h3>
                        <RoomLinks rooms=direct empty="No direct messages yet." />
                    </nav>
                }
                .into_any()
            })}
        </Transition>
    }
}

#[component]
fn RoomLinks(rooms: Vec<RoomView>, empty: &'static str) -> impl IntoView {
    if rooms.is_empty() {
        return view! { <p class="nav-empty">{empty}</p> }.into_any();
    }
    view! {
        <ul class="room-links">
            {rooms
                .into_iter()
                .map(|room| {
                    let realtime = use_realtime();
                    let hydrated = use_hydrated();
                    let id = room.id;
                    // The server's count in the served page; the tab's live count after.
                    let initial = room.unread;
                    let unread = move || {
                        if hydrated.get() {
                            realtime.unread(id)
                        } else {
                            initial
                        }
                    };
                    let initial_mentions = room.mentions;
                    let mentions = move || {
                        if hydrated.get() {
                            realtime.mentions(id)
                        } else {
                            initial_mentions
                        }
                    };
                    // `A` marks the link of the current page with aria-current="page".
                    view! {
                        <li>
                            <A href=format!("/rooms/{}", room.id)>
                                {room.name}
                                {move || {
                                    let count = unread();
                                    (count > 0).then(|| view! {
                                        " "
                                        <span class="unread">{format!("{count} unread")}</span>
                                    })
                                }}
                                {move || {
                                    let count = mentions();
                                    (count > 0).then(|| view! {
                                        " "
                                        <span class="mentions-count">{mention_count(count)}</span>
                                    })
                                }}
                            </A>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// "1 mention", "2 mentions".
fn mention_count(count: u64) -> String {
    if count == 1 {
        "1 mention".to_owned()
    } else {
        format!("{count} mentions")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_counts_are_worded_in_the_singular_and_the_plural() {
        assert_eq!(mention_count(1), "1 mention");
        assert_eq!(mention_count(2), "2 mentions");
        assert_eq!(mention_count(12), "12 mentions");
    }
}
