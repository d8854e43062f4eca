//! The "Rooms" navigation: the rooms I am a member of, then my direct conversations.

use leptos::prelude::*;
use leptos_router::components::A;

use super::rooms_state::use_rooms_state;
use super::session::use_session;
use crate::model::RoomView;

#[component]
pub fn RoomsNav() -> impl IntoView {
    let session = use_session();
    let state = use_rooms_state();
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
                    // `A` marks the link of the current page with aria-current="page".
                    view! {
                        <li>
                            <A href=format!("/rooms/{}", room.id)>{room.name}</A>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
