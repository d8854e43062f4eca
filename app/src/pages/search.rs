//! `/search?q=…`: one search box and the messages it finds in every room I may read, newest
//! first, twenty at a time ("Older results" continues below the last one shown). Each
//! result's snippet, with the words found marked, is the link that opens the message in its
//! room (`/rooms/{id}?at={seq}`, the room's history around it, the message highlighted).
//!
//! A GET form: it works without JavaScript, and a search is a URL one can share or reload.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::register::urlencode;
use crate::api::messages::search_messages;
use crate::components::hydration::use_hydrated;
use crate::model::UserView;
use crate::pages::require_user::RequireUser;
use crate::protocol::MessageId;
use crate::protocol::search::{SearchHit, SearchPage};

#[component]
pub fn SearchPage() -> impl IntoView {
    view! {
        <Title text="Search" />
        <RequireUser render=|_: UserView| view! { <SearchView /> } />
    }
}

#[component]
fn SearchView() -> impl IntoView {
    let query = use_query_map();
    let asked = move || {
        query.with(|query| {
            let text = query.get("q").unwrap_or_default();
            let before = query
                .get("before")
                .and_then(|id| id.parse::<i64>().ok())
                .map(MessageId);
            (text, before)
        })
    };
    let results = Resource::new(asked, |(text, before)| async move {
        if text.trim().is_empty() {
            return Ok(None);
        }
        search_messages(text, before).await.map(Some)
    });
    view! {
        <h1>"Search"</h1>
        <Form method="GET" action="/search">
            <div class="search-box" role="search">
                <label for="search-query">"Search messages"</label>
                <input
                    type="search"
                    id="search-query"
                    name="q"
                    maxlength="1000"
                    prop:value=move || asked().0
                    autofocus
                />
                <button type="submit">"Search"</button>
            </div>
            <p class="hint">
                "Words match by their beginning, Korean by any part of a word. "
                "Use \"quotes\" for a phrase, from:username for one person, in:room for one room."
            </p>
        </Form>
        <Suspense fallback=|| view! { <p>"Searching…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(None) => ().into_any(),
                    Ok(Some(page)) => view! { <Results page text=asked().0 /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Results(page: SearchPage, text: String) -> impl IntoView {
    if page.hits.is_empty() {
        return view! { <p role="status">"No messages found."</p> }.into_any();
    }
    let older = page
        .next
        .map(|next| format!("/search?q={}&before={}", urlencode(&text), next.0));
    view! {
        <ul class="search-results" aria-label="Search results">
            {page.hits.into_iter().map(|hit| view! { <SearchResult hit /> }).collect_view()}
        </ul>
        {older.map(|href| view! { <a class="older-results" href=href>"Older results"</a> })}
    }
    .into_any()
}

#[component]
fn SearchResult(hit: SearchHit) -> impl IntoView {
    let hydrated = use_hydrated();
    let href = format!("/rooms/{}?at={}#message-{}", hit.room, hit.seq, hit.seq);
    let author = hit.author.as_ref().map_or_else(
        || "deleted user".to_owned(),
        |author| author.display_name.clone(),
    );
    let created = hit.created_ms;
    let snippet = hit
        .snippet
        .into_iter()
        .map(|part| {
            if part.marked {
                view! { <mark>{part.text}</mark> }.into_any()
            } else {
                part.text.into_any()
            }
        })
        .collect_view();
    view! {
        <li class="search-result">
            <p class="result-meta">
                <span class="result-room">{hit.room_name}</span>
                " · "
                <span class="result-author">{author}</span>
                " · "
                <time datetime=created.to_string()>
                    {move || hydrated.get().then(|| crate::realtime::local_time(created))}
                </time>
            </p>
            <a class="snippet" href=href>{snippet}</a>
        </li>
    }
}
