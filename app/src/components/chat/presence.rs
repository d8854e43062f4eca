//! Who is in the room, as the conversation shows it: [`OnlineList`] ("Online": who has the
//! room open), [`TypingIndicator`] ("Minji is typing…") and [`NoticeItem`] ("Minji joined").
//!
//! All three render a room feed's presence signals as they are; keeping them current (and
//! never listing me as typing) is `crate::realtime`'s job. Two people may share a display
//! name, so the "Online" list shows each one's `@username` after it, in an element of its
//! own; a notice keeps the name alone (a sentence reads better) with the username on hover.

use leptos::prelude::*;

use crate::protocol::Person;
use crate::realtime::{Notice, NoticeKind, RoomFeed};

#[component]
pub(super) fn NoticeItem(notice: Notice) -> impl IntoView {
    let (NoticeKind::Joined(person) | NoticeKind::Left(person)) = &notice.kind;
    let username = format!("@{}", person.username);
    view! { <li class="notice" title=username>{notice_line(&notice.kind)}</li> }
}

fn notice_line(kind: &NoticeKind) -> String {
    match kind {
        NoticeKind::Joined(person) => format!("{} joined", person.display_name),
        NoticeKind::Left(person) => format!("{} left", person.display_name),
    }
}

/// "Online": who has the room open (several tabs count once).
#[component]
pub(super) fn OnlineList(feed: RoomFeed) -> impl IntoView {
    view! {
        <aside class="online" aria-labelledby="online-heading">
            <h2 id="online-heading">"Online"</h2>
            <ul aria-labelledby="online-heading">
                <For
                    each=move || feed.online.get()
                    key=|person| person.id
                    let:person
                >
                    <li>
                        <span class="online-name">{person.display_name}</span>
                        " "
                        <span class="username">"@" {person.username}</span>
                    </li>
                </For>
            </ul>
        </aside>
    }
}

/// "Minji is typing…", announced politely.
#[component]
pub(super) fn TypingIndicator(feed: RoomFeed) -> impl IntoView {
    let text = move || feed.typing.with(|typing| typing_line(typing));
    view! { <p class="typing" aria-live="polite">{text}</p> }
}

/// Names one or two people; more would crowd the line.
fn typing_line(typing: &[Person]) -> String {
    match typing {
        [] => String::new(),
        [one] => format!("{} is typing…", one.display_name),
        [one, two] => format!("{} and {} are typing…", one.display_name, two.display_name),
        _ => "Several people are typing…".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserId;

    fn person(id: i64, name: &str) -> Person {
        Person {
            id: UserId(id),
            username: name.to_lowercase(),
            display_name: name.to_owned(),
        }
    }

    #[test]
    fn the_typing_line_names_one_or_two_people_and_counts_no_further() {
        let minji = person(1, "민지");
        let ana = person(2, "Ana");
        assert_eq!(typing_line(&[]), "");
        assert_eq!(typing_line(std::slice::from_ref(&minji)), "민지 is typing…");
        assert_eq!(
            typing_line(&[minji.clone(), ana.clone()]),
            "민지 and Ana are typing…"
        );
        assert_eq!(
            typing_line(&[minji, ana, person(3, "Bo")]),
            "Several people are typing…"
        );
    }

    #[test]
    fn a_notice_says_who_joined_or_left() {
        assert_eq!(
            notice_line(&NoticeKind::Joined(person(1, "Ana"))),
            "Ana joined"
        );
        assert_eq!(notice_line(&NoticeKind::Left(person(1, "Ana"))), "Ana left");
    }
}
