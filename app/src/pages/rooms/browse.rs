use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::rooms_state::use_rooms_state;
use crate::model::UserView;
use crate::pages::require_user::RequireUser;

/// `/rooms`: every public room, to browse and join.
#[component]
pub fn BrowseRoomsPage() -> impl IntoView {
    view! {
        <Title text="Browse rooms" />
        <RequireUser render=|_: UserView| view! { <PublicRooms /> } />
    }
}

#[component]
fn PublicRooms() -> impl IntoView {
    let state = use_rooms_state();
    view! {
        <div class="page-heading">
            <h1>"Browse rooms"</h1>
            <form method="get" action="/rooms/new">
                <button type="submit">"New room"</button>
            </form>
        </div>
        <Suspense fallback=|| view! { <p>"Loading rooms…"</p> }>
            {move || Suspend::new(async move {
                match state.rooms.await {
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(rooms) => {
                        let public: Vec<_> = rooms
                            .into_iter()
                            .filter(|room| !room.is_direct && room.visibility == crate::model::Visibility::Public)
                            .collect();
                        if public.is_empty() {
                            return view! {
                                <p>"There are no public rooms yet. Create the first one."</p>
                            }
                            .into_any();
                        }
                        view! {
                            <ul class="room-cards" aria-label="Public rooms">
                                {public
                                    .into_iter()
                                    .map(|room| {
                                        view! {
                                            <li class="panel">
                                                <a href=format!("/rooms/{}", room.id)>{room.name}</a>
                                                {room.is_member.then(|| view! { <span class="badge">"Joined"</span> })}
                                                <p class="topic">{room.topic}</p>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
