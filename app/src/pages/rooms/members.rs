use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::{Reload, RoomUnavailable, use_room};
use crate::api::rooms::{OpenDirect, RemoveMember, room_members};
use crate::components::form::{FormError, action_error};
use crate::components::rooms_state::use_rooms_state;
use crate::model::{RoomView, UserView};
use crate::pages::require_user::RequireUser;

/// `/rooms/{id}/members`: who is in a room, with a "Message" button for each other member.
#[component]
pub fn RoomMembersPage() -> impl IntoView {
    view! {
        <RequireUser render=|me: UserView| {
            let room = use_room(Reload::Once);
            view! {
                <Suspense fallback=|| view! { <p>"Loading members…"</p> }>
                    {move || {
                        let me = me.clone();
                        Suspend::new(async move {
                            match room.await {
                                Ok(room) => view! { <MemberList room me /> }.into_any(),
                                Err(error) => view! { <RoomUnavailable error /> }.into_any(),
                            }
                        })
                    }}
                </Suspense>
            }
        } />
    }
}

#[component]
fn MemberList(room: RoomView, me: UserView) -> impl IntoView {
    let id = room.id;
    let can_manage = room.can_manage && !room.is_direct;
    let remove = ServerAction::<RemoveMember>::new();
    let removed = action_error(remove.into());
    let members = Resource::new(
        move || (id, remove.version().get()),
        |(id, _)| room_members(id),
    );
    let open = ServerAction::<OpenDirect>::new();
    let error = action_error(open.into());
    let rooms = use_rooms_state();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(direct)) = open.value().get() {
            rooms.reload();
            navigate(&format!("/rooms/{direct}"), Default::default());
        }
    });
    view! {
        <Title text=format!("Members of {}", room.name) />
        <h1>"Members of " {room.name.clone()}</h1>
        <p><a href=format!("/rooms/{}", room.id)>"Back to the room"</a></p>
        <FormError error />
        <FormError error=removed />
        <Suspense fallback=|| view! { <p>"Loading members…"</p> }>
            {move || {
                let me = me.clone();
                Suspend::new(async move {
                    match members.await {
                        Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                        Ok(members) => view! {
                            <ul class="members" aria-label="Members">
                                {members
                                    .into_iter()
                                    .map(|member| {
                                        let is_me = member.id == me.id;
                                        let remove_label = format!("Remove {}", member.display_name);
                                        view! {
                                            <li>
                                                <span class="member-name">{member.display_name.clone()}</span>
                                                " "
                                                <span class="username">"@" {member.username.clone()}</span>
                                                {member.is_owner.then(|| view! { <span class="badge">"Owner"</span> })}
                                                {is_me.then(|| view! { <span class="badge">"You"</span> })}
                                                {(!is_me).then(|| view! {
                                                    <ActionForm action=open>
                                                        <input type="hidden" name="user" value=member.id.to_string() />
                                                        <button
                                                            type="submit"
                                                            class="secondary"
                                                            title=format!("Message {}", member.display_name)
                                                        >
                                                            "Message"
                                                        </button>
                                                    </ActionForm>
                                                })}
                                                {(can_manage && !is_me && !member.is_owner).then(|| view! {
                                                    <ActionForm action=remove>
                                                        <input type="hidden" name="id" value=id.to_string() />
                                                        <input type="hidden" name="user" value=member.id.to_string() />
                                                        <button type="submit" class="secondary">
                                                            {remove_label}
                                                        </button>
                                                    </ActionForm>
                                                })}
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
