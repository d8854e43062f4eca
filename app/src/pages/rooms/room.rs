use leptos::prelude::*;
use leptos_meta::Title;

use super::notifications::NotificationSettings;
use super::{Reload, RoomUnavailable, use_room};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::messages::{message_history, message_history_around};
use crate::api::rooms::{JoinRoom, LeaveRoom};
use crate::components::ascii_json::AsciiJson;
use crate::components::chat::ChatView;
use crate::components::form::{FormError, action_error};
use crate::components::rooms_state::use_rooms_state;
use crate::error::ApiError;
use crate::model::{RoomId, RoomView, UserView};
use crate::pages::require_user::RequireUser;
use crate::protocol::HistoryPage;

/// `/rooms/{id}`: a room's heading and topic, membership and links to its members and
/// settings. A missing or hidden room is a 404.
#[component]
pub fn RoomPage() -> impl IntoView {
    view! { <RequireUser render=|_: UserView| view! { <RoomLoader /> } /> }
}

#[component]
fn RoomLoader() -> impl IntoView {
    let room = use_room(Reload::OnRoomsChange);
    // Loaded beside the room (not in a Suspense of its own under it), so the page waits for
    // both at once. Written into the page as escaped ASCII: see `AsciiJson` for why.
    let params = use_params_map();
    let query = use_query_map();
    // `?at=SEQ` (a search result) opens the room at that message, with history around it.
    let at = move || {
        query
            .read()
            .get("at")
            .and_then(|seq| seq.parse::<u64>().ok())
    };
    let history = Resource::<Result<HistoryPage, ApiError>, AsciiJson>::new_with_options(
        move || {
            let id = params
                .read()
                .get("id")
                .and_then(|id| id.parse::<RoomId>().ok());
            (id, at())
        },
        |(id, at)| async move {
            match (id, at) {
                (Some(id), Some(seq)) => message_history_around(id, seq).await,
                (Some(id), None) => message_history(id, None).await,
                (None, _) => Err(ApiError::NotFound),
            }
        },
        false,
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading room…"</p> }>
            {move || Suspend::new(async move {
                match (room.await, history.await) {
                    (Ok(room), Ok(history)) => {
                        view! { <RoomView room history at=at() /> }.into_any()
                    }
                    (Err(error), _) | (_, Err(error)) => view! { <RoomUnavailable error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RoomView(room: RoomView, history: HistoryPage, at: Option<u64>) -> impl IntoView {
    let rooms = use_rooms_state();
    let join = ServerAction::<JoinRoom>::new();
    let leave = ServerAction::<LeaveRoom>::new();
    let join_error = action_error(join.into());
    let leave_error = action_error(leave.into());
    Effect::new(move |_| {
        if matches!(join.value().get(), Some(Ok(_))) || matches!(leave.value().get(), Some(Ok(())))
        {
            rooms.reload();
        }
    });
    let id = room.id.to_string();
    let visibility = if room.is_direct {
        "Direct conversation"
    } else if room.visibility == crate::model::Visibility::Private {
        "Private room"
    } else {
        "Public room"
    };

    view! {
        <Title text=room.name.clone() />
        <article class="room" aria-labelledby="room-heading">
            <header class="room-header">
                <div>
                    <h1 id="room-heading">{room.name.clone()}</h1>
                    {(!room.topic.is_empty()).then(|| view! { <p class="topic">{room.topic.clone()}</p> })}
                    <p class="room-meta">{visibility}</p>
                </div>
                <div class="room-actions">
                    <a href=format!("/rooms/{}/members", room.id)>"Members"</a>
                    {room.can_manage.then(|| view! {
                        <a href=format!("/rooms/{}/settings", room.id)>"Room settings"</a>
                    })}
                    {match (room.is_member, room.is_direct) {
                        (false, _) => view! {
                            <ActionForm action=join>
                                <input type="hidden" name="id" value=id.clone() />
                                <button type="submit">"Join"</button>
                            </ActionForm>
                        }.into_any(),
                        (true, false) => view! {
                            <ActionForm action=leave>
                                <input type="hidden" name="id" value=id.clone() />
                                <button type="submit" class="secondary">"Leave"</button>
                            </ActionForm>
                        }.into_any(),
                        (true, true) => ().into_any(),
                    }}
                </div>
            </header>
            <FormError error=join_error />
            <FormError error=leave_error />
            {room.is_member.then(|| view! { <NotificationSettings room=room.clone() /> })}
            {(!room.is_member).then(|| view! {
                <p class="hint">"You are reading this public room. Join it to take part."</p>
            })}
            <ChatView room=room.clone() history at />
        </article>
    }
}
