//! `/mentions`: the messages that mention me across my rooms, newest first, each linking to
//! the message in its room (`/rooms/{id}#message-{seq}`, the id every message line has).
//!
//! A list only: the counts per room live in the "Rooms" navigation, and reading a room there
//! is what clears them; visiting this page clears nothing.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::mentions::list_mentions;
use crate::components::chat::rich_text::preview;
use crate::components::hydration::use_hydrated;
use crate::model::UserView;
use crate::pages::require_user::RequireUser;

#[component]
pub fn MentionsPage() -> impl IntoView {
    view! {
        <Title text="Mentions" />
        <RequireUser render=|_: UserView| view! { <MentionList /> } />
    }
}

#[component]
fn MentionList() -> impl IntoView {
    let mentions = Resource::new(|| (), |_| list_mentions());
    let hydrated = use_hydrated();
    view! {
        <h1>"Mentions"</h1>
        <Suspense fallback=|| view! { <p>"Loading mentions…"</p> }>
            {move || Suspend::new(async move {
                match mentions.await {
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(listed) if listed.is_empty() => {
                        view! { <p>"Nobody has mentioned you yet."</p> }.into_any()
                    }
                    Ok(listed) => view! {
                        <ul class="mention-list" aria-label="Mentions">
                            {listed
                                .into_iter()
                                .map(|mention| {
                                    let message = mention.message;
                                    let href = format!("/rooms/{}#message-{}", message.room, message.seq);
                                    let author = message
                                        .author
                                        .as_ref()
                                        .map_or_else(|| "deleted user".to_owned(), |author| author.display_name.clone());
                                    let text = preview(&message.rich, &message.mentioned);
                                    let created = message.created_ms;
                                    view! {
                                        <li>
                                            <a href=href>{format!("{author} in {}", mention.room_name)}</a>
                                            " "
                                            <time datetime=created.to_string()>
                                                {move || hydrated.get().then(|| crate::realtime::local_time(created))}
                                            </time>
                                            <p class="preview">{text}</p>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}
